"""Column mapping: which fields of a row (file line, table row, Hub record) make a Sample.

Every loader (local files, saved datasets, Hub corpora) turns rows into samples through
:class:`Columns`, so the same mapping keys and the same error messages apply everywhere: an error
names the origin (file or corpus), the row and the column.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from textgym.data.sample import Sample

#: Reference columns tried, in order, when no ``references`` mapping is given.
DEFAULT_REFERENCE_COLUMNS = ("references", "reference")


def _as_names(value: Any, key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"data[{key!r}]: expected a column name or a list of them, got {value!r}")
    return names


@dataclass(frozen=True)
class Columns:
    """Where the parts of a sample are in a row.

    A column name may be dotted to reach into a nested record: ``"translation.de"`` is
    ``row["translation"]["de"]`` (the layout of the Hub's translation corpora).

    Attributes:
        source: Column of the source text.
        references: Columns of the references. Each holds a string or a list of strings; all of
            them together are the sample's references, the first one canonical. ``None``: the
            first of ``references``/``reference`` that the data has.
        id: Column of a stable sample id; ``None``: the row number.
        turns: Dialogue form: a column holding the list of turns of a conversation. Each turn
            after the first becomes a sample whose source is the previous ``context_turns`` turns
            joined by ``turn_separator`` and whose reference is that turn. ``source`` and
            ``references`` are then unused.
        context_turns: Number of previous turns in a dialogue sample's source.
        turn_separator: Text between the turns of a dialogue context.
    """

    source: str = "source"
    references: tuple[str, ...] | None = None
    id: str | None = None
    turns: str | None = None
    context_turns: int = 3
    turn_separator: str = "\n"

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], defaults: Columns | None = None) -> Columns:
        """The mapping given by the keys of a ``data=`` dict, over ``defaults``.

        Keys: ``source``, ``references`` (alias ``reference``), ``id``, ``turns``,
        ``context_turns``, ``turn_separator``.
        """
        base = defaults or cls()
        if "references" in spec and "reference" in spec:
            raise ValueError("data: give 'references' or 'reference', not both (they are aliases)")
        refs = spec.get("references", spec.get("reference", base.references))
        source = spec.get("source", base.source)
        if not isinstance(source, str) or not source:
            raise ValueError(f"data['source']: expected a column name, got {source!r}")
        context_turns = spec.get("context_turns", base.context_turns)
        if (
            isinstance(context_turns, bool)
            or not isinstance(context_turns, int)
            or (context_turns < 1)
        ):
            raise ValueError(
                f"data['context_turns']: expected an integer >= 1, got {context_turns!r}"
            )
        separator = spec.get("turn_separator", base.turn_separator)
        if not isinstance(separator, str):
            raise ValueError(f"data['turn_separator']: expected a str, got {separator!r}")
        id_column = spec.get("id", base.id)
        turns = spec.get("turns", base.turns)
        for key, value in (("id", id_column), ("turns", turns)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"data[{key!r}]: expected a column name, got {value!r}")
        return cls(
            source=source,
            references=_as_names(refs, "references"),
            id=id_column,
            turns=turns,
            context_turns=context_turns,
            turn_separator=separator,
        )

    # ------------------------------------------------------------------ checking
    def resolve_references(self, available: Iterable[str] | None) -> tuple[str, ...]:
        """The reference columns; with the default, the first of them present in ``available``."""
        if self.references is not None:
            return self.references
        present = set(available or ())
        for name in DEFAULT_REFERENCE_COLUMNS:
            if name in present:
                return (name,)
        return DEFAULT_REFERENCE_COLUMNS[:1]

    def check(self, available: Sequence[str], origin: str) -> Columns:
        """This mapping, after checking that ``available`` (the columns) has what it needs.

        Raises:
            ValueError: Naming the origin, each missing column and the columns there are.
        """
        # The default reference column stays per-row (None): a JSONL file may give some rows a
        # "reference" string and others a "references" list, as in-memory dicts may.
        wanted = (
            [self.turns]
            if self.turns is not None
            else [self.source, *self.resolve_references(available)]
        )
        if self.id is not None:
            wanted.append(self.id)
        present = set(available)
        # A dotted name needs its top-level record; the nested key is checked row by row.
        missing = [n for n in wanted if n not in present and n.split(".", 1)[0] not in present]
        if missing:
            raise ValueError(
                f"{origin}: missing column(s) {missing}; its columns are {list(available)}. "
                "Map yours with the data keys 'source', 'references' and 'id' "
                "(e.g. data={'path': ..., 'source': 'article', 'references': 'highlights'})"
            )
        return self

    # ------------------------------------------------------------------ conversion
    def samples(
        self, row: Mapping[str, Any], index: int, origin: str, where: str | None = None
    ) -> Iterator[Sample]:
        """The samples of one row: one, or one per reply turn in the dialogue form.

        Args:
            row: The record.
            index: Its position in the data (the default sample id).
            origin: The file or corpus, for error messages.
            where: Its place for error messages (default ``"row {index}"``; files say
                ``"line N"``).
        """
        where = where or f"row {index}"
        if self.turns is not None:
            yield from self._dialogue_samples(row, index, origin, where)
            return
        source = _text(_field(row, self.source, where, origin), self.source, where, origin)
        references: list[str] = []
        columns = self.resolve_references(row.keys())
        if self.references is None and columns[0] not in row:
            raise ValueError(
                f"{origin}: {where}: missing column 'references' (or 'reference'); "
                f"fields: {sorted(row)}"
            )
        for column in columns:
            value = _field(row, column, where, origin)
            values = [value] if isinstance(value, str) or _is_missing(value) else value
            if not isinstance(values, (list, tuple)):
                raise ValueError(
                    f"{origin}: {where}: column {column!r}: expected text or a list of "
                    f"texts, got {type(value).__name__}"
                )
            references.extend(_text(v, column, where, origin) for v in values)
        if not references:
            raise ValueError(f"{origin}: {where}: no reference (the reference columns are empty)")
        sample_id = str(row[self.id]) if self.id is not None else str(index)
        yield Sample(sample_id, source, tuple(references), {"row": index})

    def _dialogue_samples(
        self, row: Mapping[str, Any], index: int, origin: str, where: str
    ) -> Iterator[Sample]:
        turns = _field(row, self.turns, where, origin)  # type: ignore[arg-type]
        if not isinstance(turns, (list, tuple)):
            raise ValueError(
                f"{origin}: {where}: column {self.turns!r}: expected a list of turns, "
                f"got {type(turns).__name__}"
            )
        # Dialogue corpora pad turns with stray spaces ("Hello . ", " Hi ."); they carry no text.
        texts = [_text(t, f"{self.turns}[{i}]", where, origin).strip() for i, t in enumerate(turns)]
        base_id = str(row[self.id]) if self.id is not None else str(index)
        for t in range(1, len(texts)):
            context = texts[max(0, t - self.context_turns) : t]
            yield Sample(
                f"{base_id}-{t}",
                self.turn_separator.join(context),
                (texts[t],),
                {"row": index, "turn": t},
            )

    def count(self, row: Mapping[str, Any]) -> int:
        """Number of samples a row yields (dialogue form: turns - 1), without validating it."""
        if self.turns is None:
            return 1
        turns = row.get(self.turns)
        return max(0, len(turns) - 1) if isinstance(turns, (list, tuple)) else 1


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _field(row: Mapping[str, Any], column: str, where: str, origin: str) -> Any:
    if column in row:
        return row[column]
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, Mapping) or part not in value:
            fields = sorted(row) if isinstance(row, Mapping) else []
            raise ValueError(f"{origin}: {where}: missing column {column!r} (fields: {fields})")
        value = value[part]
    return value


def _text(value: Any, column: str, where: str, origin: str) -> str:
    if _is_missing(value):
        raise ValueError(f"{origin}: {where}: column {column!r} is empty (no value)")
    if not isinstance(value, str):
        raise ValueError(
            f"{origin}: {where}: column {column!r}: expected text, got "
            f"{type(value).__name__} {value!r:.40}"
        )
    if not value.strip():
        raise ValueError(f"{origin}: {where}: column {column!r} is empty or whitespace")
    return value


def rows_to_samples(
    rows: Iterable[tuple[str | None, Mapping[str, Any]]],
    columns: Columns,
    origin: str,
    *,
    skip_invalid: bool = False,
    max_samples: int | None = None,
) -> tuple[Sample, ...]:
    """All samples of ``rows`` (at most ``max_samples``), validated.

    Args:
        rows: ``(where, row)`` pairs; ``where`` places the row in error messages (``"line 7"``),
            ``None`` for ``"row {index}"``.
        skip_invalid: Drop a row with a missing or empty field (and warn once with the count)
            instead of raising; real corpora have a few.

    Raises:
        ValueError: For an invalid row (naming origin, row and column) unless ``skip_invalid``,
            or when no sample is left.
    """
    def validated() -> Iterator[list[Sample] | ValueError]:
        for index, (where, row) in enumerate(rows):
            try:
                yield list(columns.samples(row, index, origin, where))  # validated here
            except ValueError as exc:
                yield exc

    return collect_samples(
        validated(), origin, skip_invalid=skip_invalid, max_samples=max_samples
    )


def collect_samples(
    rows: Iterable[list[Sample] | ValueError],
    origin: str,
    *,
    skip_invalid: bool,
    max_samples: int | None,
) -> tuple[Sample, ...]:
    """The samples of ``rows`` (each a row's samples, or the error that makes it invalid):
    an invalid row raises, or with ``skip_invalid`` is dropped and counted in one warning;
    reading stops at ``max_samples``. Shared by every loader (mappings and release formats).

    Raises:
        ValueError: An invalid row (unless ``skip_invalid``), or no sample left.
    """
    samples: list[Sample] = []
    skipped: list[str] = []
    iterator = iter(rows)
    # Checked before the next row is read: a row past max_samples is never validated.
    while max_samples is None or len(samples) < max_samples:
        row = next(iterator, None)
        if row is None:
            break
        if isinstance(row, ValueError):
            if not skip_invalid:
                raise row
            skipped.append(str(row))
            continue
        samples.extend(row)
    if max_samples is not None:
        del samples[max_samples:]
    if skipped:
        warnings.warn(
            f"{origin}: skipped {len(skipped)} invalid row(s) (skip_invalid=True); "
            f"first: {skipped[0]}",
            stacklevel=4,
        )
    if not samples:
        raise ValueError(f"{origin}: no samples (the data is empty or every row is invalid)")
    return tuple(samples)
