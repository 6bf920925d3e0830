"""Turning what a user passes as ``data=`` into a random-access sequence of samples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textgym.data.sample import Sample


def sample_from_record(record: Any, index: int) -> Sample:
    """A :class:`Sample` from a ``Sample`` or a mapping with ``source`` and ``references``.

    A mapping may give one ``reference`` string instead of a ``references`` list, and an ``id``
    (default: the row index).

    Raises:
        ValueError: Naming the row and the missing or malformed field.
    """
    if isinstance(record, Sample):
        return record
    if not isinstance(record, Mapping):
        raise ValueError(
            f"data[{index}]: expected a Sample or a dict with 'source' and 'references', "
            f"got {type(record).__name__}"
        )
    if "source" not in record:
        raise ValueError(f"data[{index}]: missing field 'source' (fields: {sorted(record)})")
    if "references" in record:
        refs = record["references"]
        refs = [refs] if isinstance(refs, str) else refs
    elif "reference" in record:
        refs = [record["reference"]]
    else:
        raise ValueError(
            f"data[{index}]: missing field 'references' (or 'reference'); fields: {sorted(record)}"
        )
    meta = {k: v for k, v in record.items() if k not in ("id", "source", "references", "reference")}
    try:
        return Sample(str(record.get("id", index)), record["source"], tuple(refs), meta)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"data[{index}]: {exc}") from None


def as_dataset(data: Sequence[Any]) -> tuple[Sample, ...]:
    """Validate in-memory records and return them as samples.

    Raises:
        TypeError: If ``data`` is not a sequence (a str is not accepted).
        ValueError: If it is empty or a record is malformed.
    """
    if isinstance(data, (str, bytes)) or not isinstance(data, Sequence):
        raise TypeError(
            f"data: expected None (embedded data) or a sequence of samples/dicts, "
            f"got {type(data).__name__}"
        )
    if len(data) == 0:
        raise ValueError("data: the sequence is empty; an environment needs at least one sample")
    return tuple(sample_from_record(r, i) for i, r in enumerate(data))
