"""Turning what a user passes as ``data=`` into a random-access sequence of samples.

``data=`` takes, besides ``None`` (the embedded data):

* a sequence of :class:`Sample` or of dicts with ``source`` and ``references``/``reference``;
* a path (``str``) to a local file or directory: ``.jsonl``/``.json``/``.csv``/``.tsv``
  (columns ``source`` and ``references``/``reference``), ``.parquet``/``.arrow``, a
  ``save_to_disk`` directory or a directory of data files;
* a standard corpus name (``str``): ``"cnn_dailymail"``, ``"xsum"``, ``"wmt16:ro-en"``,
  ``"iwslt2017:en-de"``, ``"daily_dialog"`` (see :data:`textgym.data.hf.CORPORA`), or a
  corpus in its original file format, read from ``$TEXTGYM_DATA/<name>`` (default
  ``~/.cache/textgym-data/<name>``): ``"multi30k:de-en"``, ``"dailydialog"``, ``"scitldr"``;
* a dict spec (see :func:`as_dataset`), for column mappings, splits, limits and Hub ids.

Corpora by name (``data={"corpus": NAME}``; with ``"path"``, a local copy, never the network):

==========================  =============  ====================================================
name                        family         read from
==========================  =============  ====================================================
``cnn_dailymail``           summarization  Hub ``abisee/cnn_dailymail`` 3.0.0, or a saved copy
``xsum``                    summarization  Hub ``EdinburghNLP/xsum`` (Parquet export)
``wmt16:<xx>-en``           translation    Hub ``wmt/wmt16``, cs/de/fi/ro/ru/tr <-> en
``iwslt2017:<src>-<tgt>``   translation    Hub ``IWSLT/iwslt2017`` (Parquet export)
``daily_dialog``            dialogue       Hub ``li2017dailydialog/daily_dialog``; a ``path``
                                           in the text format is read as ``dailydialog``
``multi30k:<src>-<tgt>``    translation    Multi30k ``data/task1/raw/<split>.<lang>.gz``,
                                           en/de/fr/cs (default de-en)
``dailydialog``             dialogue       DailyDialog text (``__eou__`` turns):
                                           ``<split>/dialogues.txt``,
                                           ``<split>/dialogues_<split>.txt`` or one ``.txt``
``scitldr[:<variant>]``     summarization  SciTLDR ``SciTLDR-<variant>/<split>.jsonl``,
                                           variants A (default), AIC, FullText
==========================  =============  ====================================================

The last three (:mod:`textgym.data.corpora`) map ``split`` to their files: ``train``,
``validation`` and ``test`` are Multi30k's ``train``/``val``/``test_2016_flickr`` (any other
raw test set by name, ``"test_2017_mscoco"``), DailyDialog's ``train``/``validation``/``test``
and SciTLDR's ``train``/``dev``/``test``. They read the keys ``corpus``, ``path``, ``split``,
``encoding``, ``max_samples``, ``skip_invalid`` (and ``context_turns``, ``turn_separator`` for
DailyDialog); sample ids are ``"val/17"`` (line 17 from 0), ``"test/12/3"`` (dialogue 12,
turn 3) and the SciTLDR ``paper_id``.

Strings and dicts keep ``env.spec.to_json()`` a complete, reloadable config.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from textgym.data.sample import Sample

#: Keys of a ``data=`` dict spec.
SPEC_KEYS = (
    "corpus", "path", "name", "revision", "split", "format", "encoding", "source", "references",
    "reference", "id", "turns", "context_turns", "turn_separator", "max_samples", "streaming",
    "skip_invalid", "source_file", "reference_files", "lowercase",
)  # fmt: skip


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


def as_dataset(
    data: Sequence[Any] | Mapping[str, Any] | str | Path,
    *,
    split: str = "train",
    family: str | None = None,
) -> Sequence[Sample]:
    """Resolve what a user passes as ``data=`` into random-access samples.

    Args:
        data: A sequence of samples/dicts, a path, a corpus name, or a dict spec with keys:

            * ``corpus``: a standard corpus name (``"wmt16:de-en"``...); its Hub location and
              column mapping are the defaults of the other keys. A corpus in its original file
              format (``"multi30k:de-en"``, ``"dailydialog"``, ``"scitldr"``; see the module
              docstring) reads ``path``, default ``$TEXTGYM_DATA/<name>``.
            * ``path``: a local file or directory, or a Hub dataset id (``"owner/name"``). With
              ``corpus``, a local copy of that corpus (never the network).
            * ``name``, ``revision``: Hub config and revision.
            * ``split``: split of a saved ``DatasetDict``, data directory or Hub dataset
              (default: the env's ``split``).
            * ``format``: ``"jsonl"``, ``"json"``, ``"csv"``, ``"tsv"`` when the suffix does not
              tell; ``encoding``: text encoding of such a file (default UTF-8).
            * ``source``, ``references`` (alias ``reference``; a column or a list of columns),
              ``id``: the column mapping; dotted names reach into records
              (``"translation.de"``).
            * ``turns``, ``context_turns``, ``turn_separator``: the dialogue form, a column
              with the list of turns; each turn is a sample replying to the previous k turns.
            * ``source_file``, ``reference_files``: line-aligned parallel text files.
            * ``max_samples``: keep the first N samples; ``streaming``: stream a large Hub
              corpus and keep its first ``max_samples`` in memory (required then).
            * ``skip_invalid``: drop rows with a missing or empty field (with a warning)
              instead of raising.
            * ``lowercase``: lowercase every source and reference (for uncased tokenizers
              such as BERT's: the metrics are then the case-insensitive ones, like
              sacrebleu's ``-lc``).
        split: The env's ``split`` argument, the default split.
        family: The env's task family; a standard corpus of another family is an error.

    Raises:
        TypeError: For an unsupported type.
        ValueError: For empty data, a malformed record, a missing column or file (naming it),
            an unknown corpus or spec key.
        HubUnavailableError: For Hub data that is not cached and cannot be downloaded.
        ImportError: When the data needs ``datasets`` and it is not installed.
    """
    if isinstance(data, Path):
        data = str(data)
    if isinstance(data, str):
        return _from_string(data, split, family)
    if isinstance(data, Mapping):
        return _from_spec(data, split, family)
    if isinstance(data, bytes) or not isinstance(data, Sequence):
        raise TypeError(
            f"data: expected None (embedded data) or a sequence of samples/dicts, "
            f"a path, a corpus name or a dict spec, got {type(data).__name__}"
        )
    from textgym.data.hf import HFDataset

    if isinstance(data, HFDataset):
        return data  # already random-access samples (a loader's output)
    if len(data) == 0:
        raise ValueError("data: the sequence is empty; an environment needs at least one sample")
    return tuple(sample_from_record(r, i) for i, r in enumerate(data))


def _unknown_corpus_or_path(data: str) -> ValueError:
    from textgym.data.corpora import LOCAL_CORPORA
    from textgym.data.hf import CORPORA

    known = [*CORPORA, *LOCAL_CORPORA]
    close = difflib.get_close_matches(data.partition(":")[0], known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(
        f"data: expected None (embedded data) or a sequence of samples/dicts, a path, a corpus "
        f"name or a dict spec; got {data!r}, which is neither an existing file or directory nor "
        f"a known corpus ({', '.join(known)}).{hint} A Hub dataset id goes in a dict: "
        "data={'path': 'owner/name', 'source': ..., 'references': ...}"
    )


def _from_string(data: str, split: str, family: str | None) -> Sequence[Sample]:
    from textgym.data.corpora import is_local_name
    from textgym.data.hf import CORPORA

    if Path(data).expanduser().exists():
        return _from_spec({"path": data}, split, family)
    if data.partition(":")[0] in CORPORA or is_local_name(data):
        return _from_spec({"corpus": data}, split, family)
    raise _unknown_corpus_or_path(data)


def _check_spec(spec: Mapping[str, Any]) -> None:
    unknown = [k for k in spec if k not in SPEC_KEYS]
    if unknown:
        messages = []
        for key in unknown:
            close = difflib.get_close_matches(str(key), SPEC_KEYS, n=1)
            messages.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(
            f"data: unknown key(s) {', '.join(messages)}; valid keys: {', '.join(SPEC_KEYS)}"
        )
    max_samples = spec.get("max_samples")
    if max_samples is not None and (
        isinstance(max_samples, bool)
        or not isinstance(max_samples, numbers.Integral)
        or max_samples < 1
    ):
        raise ValueError(f"data['max_samples']: expected an integer >= 1, got {max_samples!r}")
    for key in ("streaming", "skip_invalid", "lowercase"):
        if not isinstance(spec.get(key, False), bool):
            raise ValueError(f"data[{key!r}]: expected True or False, got {spec[key]!r}")
    if spec.get("streaming") and max_samples is None:
        raise ValueError(
            "data['max_samples']: required with streaming=True: a streamed corpus has no "
            "random access, so its first max_samples samples are kept in memory"
        )
    for key in ("path", "corpus", "name", "revision", "split", "format", "encoding"):
        if key in spec and not isinstance(spec[key], str):
            raise ValueError(f"data[{key!r}]: expected a str, got {spec[key]!r}")


def _from_spec(spec: Mapping[str, Any], split: str, family: str | None) -> Sequence[Sample]:
    _check_spec(spec)
    loaded = _load_spec({k: v for k, v in spec.items() if k != "lowercase"}, split, family)
    if not spec.get("lowercase", False):
        return loaded
    if isinstance(loaded, tuple):
        return tuple(_lowercased(sample) for sample in loaded)
    return _Lowercased(loaded)


def _lowercased(sample: Sample) -> Sample:
    return Sample(
        sample.id,
        sample.source.lower(),
        tuple(ref.lower() for ref in sample.references),
        sample.meta,
    )


class _Lowercased(Sequence[Sample]):
    """A lazy, random-access view of a dataset with lowercased sources and references (for
    ``lowercase=True`` on data read on demand, such as a Hub dataset)."""

    def __init__(self, samples: Sequence[Sample]) -> None:
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return tuple(_lowercased(s) for s in self.samples[index])
        return _lowercased(self.samples[index])

    def __repr__(self) -> str:
        return f"lowercased({self.samples!r})"


def _load_spec(spec: Mapping[str, Any], split: str, family: str | None) -> Sequence[Sample]:
    from textgym.data import corpora, files, hf
    from textgym.data.mapping import Columns

    split = spec.get("split", split)
    if corpora.reads(spec):
        return corpora.load(spec, split, family)  # a corpus in its original file format
    options = {
        "max_samples": spec.get("max_samples"),
        "skip_invalid": spec.get("skip_invalid", False),
    }
    encoding = spec.get("encoding", "utf-8")

    if "source_file" in spec or "reference_files" in spec:
        if "source_file" not in spec or "reference_files" not in spec:
            raise ValueError("data: parallel text needs both 'source_file' and 'reference_files'")
        return files.load_parallel_text(
            Path(spec["source_file"]).expanduser(), spec["reference_files"],
            encoding=encoding, **options,
        )  # fmt: skip

    corpus = hf.corpus(spec["corpus"]) if "corpus" in spec else None
    if corpus is not None and family is not None and corpus.family != family:
        raise ValueError(
            f"data: {corpus.key!r} is a {corpus.family} corpus; this is a {family} env"
        )
    columns = Columns.from_spec(spec, corpus.columns if corpus else None)
    if "path" not in spec:
        if corpus is None:
            raise ValueError("data: a dict spec needs 'path', 'corpus' or 'source_file'")
        local = f"data={{'corpus': {corpus.key!r}, 'path': 'my_copy'}}"
        return hf.load_hub(
            corpus.path, columns, config=spec.get("name", corpus.config), split=split,
            revision=spec.get("revision", corpus.revision),
            streaming=spec.get("streaming", False), local_hint=local, **options,
        )  # fmt: skip

    path = Path(spec["path"]).expanduser()
    fmt = spec.get("format")
    suffix = path.suffix.lower()
    if suffix == ".txt" and fmt is None:
        raise ValueError(
            f"data: {spec['path']!r} is plain text, which has no references; for line-aligned "
            "files give data={'source_file': 'src.txt', 'reference_files': ['ref.txt']}"
        )
    if path.is_file() and (fmt in files.TEXT_FORMATS.values() or suffix in files.TEXT_FORMATS):
        return files.load_table(path, columns, fmt=fmt, encoding=encoding, **options)
    if path.exists():
        return hf.load_local(
            path, columns, split=split, config=spec.get("name"),
            streaming=spec.get("streaming", False), **options,
        )  # fmt: skip
    if corpus is not None or not hf.looks_like_hub_id(spec["path"]):
        raise FileNotFoundError(f"data: no such file or directory {spec['path']!r}")
    return hf.load_hub(
        spec["path"], columns, config=spec.get("name"), split=split,
        revision=spec.get("revision"), streaming=spec.get("streaming", False), **options,
    )  # fmt: skip


def epoch_indices(size: int, seed: int | None = None) -> Iterator[int]:
    """Every index of a dataset of ``size`` samples exactly once: in order, or shuffled by
    ``seed`` (the same seed, the same order).

    For evaluation passes: ``env.reset(options={"sample_id": i})`` for each ``i``.
    """
    if seed is None:
        return iter(range(size))
    return (int(i) for i in np.random.default_rng(seed).permutation(size))
