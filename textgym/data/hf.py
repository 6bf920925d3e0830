"""Hugging Face ``datasets`` as samples: standard corpora, saved datasets and data files.

``datasets`` is imported only here, and only when such data is asked for. Three kinds of input
go through the same loaders and the same column mapping (:class:`~textgym.data.mapping.Columns`):

* a **standard corpus** by name (:data:`CORPORA`): ``"cnn_dailymail"``, ``"xsum"``,
  ``"wmt16:de-en"``, ``"iwslt2017:en-de"``, ``"daily_dialog"``;
* a **local path**: a directory written by ``Dataset.save_to_disk``/``DatasetDict.save_to_disk``,
  a directory of data files (such as a download of a Hub repository), or a ``.parquet`` /
  ``.arrow`` file;
* a **Hub dataset id** (``"owner/name"``), given explicitly.

Corpora in their original release formats (Multi30k, DailyDialog text, SciTLDR JSONL) are read
without ``datasets`` by :mod:`textgym.data.corpora`.

Only the first and last touch the network, and only when the data is not in the local cache. The
Hub is probed once first, so an unreachable Hub fails in seconds with a message that says how to
pass a local copy instead, rather than after a minute of retries.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np

from textgym._optional import HubUnavailableError, hub_offline, hub_reachable, require
from textgym.data.mapping import Columns, rows_to_samples
from textgym.data.sample import Sample

#: Suffixes of data files read with ``datasets`` (the text formats are read by ``files``).
DATA_FILE_FORMATS = {".parquet": "parquet", ".arrow": "arrow"}


# ---------------------------------------------------------------------------- standard corpora
@dataclass(frozen=True)
class Corpus:
    """Where a standard corpus lives on the Hub and how its rows map to samples.

    Attributes:
        key: The name textgym knows it by, with its language pair if any (``"wmt16:de-en"``).
        family: ``"translation"``, ``"summarization"`` or ``"dialogue"``.
        path: Hub dataset id.
        config: Hub config (subset) name.
        revision: Hub revision; ``"refs/convert/parquet"`` is the Hub's Parquet export, used
            for corpora whose main branch only has a loading script (``datasets`` >= 4 no
            longer runs those).
        columns: The column mapping.
    """

    key: str
    family: str
    path: str
    config: str | None
    revision: str | None
    columns: Columns = field(default_factory=Columns)


_PARQUET_EXPORT = "refs/convert/parquet"
_WMT16_LANGUAGES = ("cs", "de", "fi", "ro", "ru", "tr")
_IWSLT2017_LANGUAGES = ("ar", "de", "en", "fr", "it", "ja", "ko", "nl", "ro", "zh")

#: The standard corpora by base name: family and a one-line note. ``corpus()`` builds them.
CORPORA: dict[str, tuple[str, str]] = {
    "cnn_dailymail": ("summarization", "abisee/cnn_dailymail 3.0.0: article -> highlights"),
    "xsum": ("summarization", "EdinburghNLP/xsum (Parquet export): document -> summary"),
    "wmt16": ("translation", "wmt/wmt16, pairs cs/de/fi/ro/ru/tr <-> en (default de-en)"),
    "iwslt2017": ("translation", "IWSLT/iwslt2017 (Parquet export), TED talks (default de-en)"),
    "daily_dialog": (
        "dialogue",
        "li2017dailydialog/daily_dialog (Parquet export): last k turns -> next turn",
    ),
}


def _pair(key: str, base: str, default: str) -> tuple[str, str]:
    pair = key.partition(":")[2] or default
    src, sep, tgt = pair.partition("-")
    if not sep or not src or not tgt or src == tgt:
        raise ValueError(f"data: {key!r}: expected a language pair like '{base}:{default}'")
    return src, tgt


def corpus(key: str) -> Corpus:
    """The :class:`Corpus` for a name such as ``"cnn_dailymail"`` or ``"wmt16:ro-en"``.

    Raises:
        ValueError: For an unknown name or an unavailable language pair.
    """
    base = key.partition(":")[0]
    if base not in CORPORA:
        from textgym.data.corpora import LOCAL_CORPORA

        known = ", ".join([*CORPORA, *LOCAL_CORPORA])  # the file-format ones are read elsewhere
        raise ValueError(f"data: unknown corpus {key!r}; known corpora: {known}")
    family = CORPORA[base][0]
    if base in ("cnn_dailymail", "xsum", "daily_dialog") and ":" in key:
        raise ValueError(f"data: corpus {base!r} has no language pair; use {base!r}")
    if base == "cnn_dailymail":
        cols = Columns(source="article", references=("highlights",), id="id")
        return Corpus(key, family, "abisee/cnn_dailymail", "3.0.0", None, cols)
    if base == "xsum":
        cols = Columns(source="document", references=("summary",), id="id")
        return Corpus(key, family, "EdinburghNLP/xsum", "default", _PARQUET_EXPORT, cols)
    if base == "daily_dialog":
        cols = Columns(turns="dialog", context_turns=3)
        return Corpus(
            key, family, "li2017dailydialog/daily_dialog", "default", _PARQUET_EXPORT, cols
        )
    src, tgt = _pair(key, base, "de-en")
    cols = Columns(source=f"translation.{src}", references=(f"translation.{tgt}",))
    if base == "wmt16":
        other = tgt if src == "en" else src
        if "en" not in (src, tgt) or other not in _WMT16_LANGUAGES:
            raise ValueError(
                f"data: wmt16 has no pair {src}-{tgt}; its pairs are "
                f"{', '.join(f'{x}-en' for x in _WMT16_LANGUAGES)} (either direction)"
            )
        return Corpus(key, family, "wmt/wmt16", f"{other}-en", None, cols)
    for lang in (src, tgt):
        if lang not in _IWSLT2017_LANGUAGES:
            raise ValueError(
                f"data: iwslt2017 has no language {lang!r}; its languages are "
                f"{', '.join(_IWSLT2017_LANGUAGES)}"
            )
    return Corpus(key, family, "IWSLT/iwslt2017", f"iwslt2017-{src}-{tgt}", _PARQUET_EXPORT, cols)


# ---------------------------------------------------------------------------- random access
class HFDataset(Sequence[Sample]):
    """A random-access, read-only view of a ``datasets.Dataset`` as samples.

    Rows are converted when read, so a large corpus costs its Arrow memory map, not a Python
    copy. In the dialogue form (``columns.turns``) each reply turn is a sample; the index of
    (row, turn) pairs is built once.

    Args:
        dataset: The Arrow-backed dataset.
        columns: The column mapping, checked against the dataset's columns.
        origin: Where it came from, for error messages.
        max_samples: Keep only the first ``max_samples`` samples.
        skip_invalid: Scan every row once and drop the invalid ones (warning with a count)
            instead of raising when an invalid row is read.
    """

    def __init__(
        self,
        dataset: Any,
        columns: Columns,
        origin: str,
        *,
        max_samples: int | None = None,
        skip_invalid: bool = False,
    ) -> None:
        self.origin = origin
        names = list(dataset.column_names)
        checked = columns.check(names, origin)
        # Arrow columns are uniform, so the default reference column is resolved once.
        self.columns = dataclasses.replace(checked, references=checked.resolve_references(names))
        wanted = {
            n if n in dataset.column_names else n.split(".", 1)[0]
            for n in (self.columns.turns, self.columns.source, self.columns.id,
                      *(self.columns.references or ()))
            if n is not None
        }  # fmt: skip
        # Decoding only the mapped columns keeps row access cheap on wide corpora.
        self._data = dataset.select_columns(sorted(wanted & set(dataset.column_names)))
        if self.columns.turns is not None:
            lengths = [len(t or ()) for t in self._data[self.columns.turns]]
            rows = np.repeat(np.arange(len(lengths)), [max(0, n - 1) for n in lengths])
            turns = np.concatenate(
                [np.arange(1, n) for n in lengths if n > 1] or [np.empty(0, dtype=np.int64)]
            )
            self._index: np.ndarray | None = np.stack([rows, turns.astype(np.int64)], axis=1)
        else:
            self._index = None
        self._keep: np.ndarray | None = None
        if skip_invalid:
            keep = []
            bad = 0
            for i in range(self._full_len()):
                try:
                    self._read(i)
                    keep.append(i)
                except ValueError:
                    bad += 1
            self._keep = np.asarray(keep, dtype=np.int64)
            if bad:
                warnings.warn(
                    f"{origin}: skipped {bad} invalid sample(s) (skip_invalid=True)", stacklevel=2
                )
        size = self._full_len() if self._keep is None else len(self._keep)
        self._size = size if max_samples is None else min(size, max_samples)
        if self._size == 0:
            raise ValueError(f"{origin}: no samples (the dataset is empty or every row is invalid)")

    def _full_len(self) -> int:
        return len(self._index) if self._index is not None else len(self._data)

    def _read(self, i: int) -> Sample:
        if self._index is None:
            row = self._data[i]
            return next(self.columns.samples(row, i, self.origin))
        row_index, turn = (int(x) for x in self._index[i])
        row = self._data[row_index]
        samples = self.columns.samples(row, row_index, self.origin)
        return next(itertools.islice(samples, turn - 1, None))

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> Sample: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Sample]: ...

    def __getitem__(self, index: int | slice) -> Sample | Sequence[Sample]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._size))]
        if not -self._size <= index < self._size:
            raise IndexError(f"sample index {index} is outside [0, {self._size})")
        index %= self._size
        return self._read(int(self._keep[index]) if self._keep is not None else index)

    def __iter__(self) -> Iterator[Sample]:
        return (self[i] for i in range(self._size))

    def __repr__(self) -> str:
        return f"HFDataset({self.origin!r}, {self._size} samples)"


# ---------------------------------------------------------------------------- loading
def _datasets(feature: str) -> Any:
    return require("datasets", feature)


def is_saved_dataset(path: Path) -> bool:
    """Whether ``path`` is a directory written by ``save_to_disk``."""
    return path.is_dir() and (
        (path / "dataset_dict.json").is_file() or (path / "state.json").is_file()
    )


def _pick_split(loaded: Any, split: str, origin: str) -> Any:
    if hasattr(loaded, "column_names") and not isinstance(loaded.column_names, dict):
        return loaded  # a single Dataset: it is the split
    if split not in loaded:
        raise ValueError(f"{origin}: no split {split!r}; its splits are {sorted(loaded)}")
    return loaded[split]


def load_local(
    path: str | Path,
    columns: Columns,
    *,
    split: str = "train",
    config: str | None = None,
    max_samples: int | None = None,
    streaming: bool = False,
    skip_invalid: bool = False,
) -> Sequence[Sample]:
    """Samples from a saved dataset directory, a directory of data files, or a Parquet/Arrow file.

    Never touches the network: ``datasets`` reads the local files only.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: For a missing split or column, or an invalid row.
    """
    path = Path(path)
    origin = str(path)
    ds = _datasets(f"data={origin!r}")
    if is_saved_dataset(path):
        loaded = _pick_split(ds.load_from_disk(str(path)), split, origin)
        return HFDataset(
            loaded, columns, origin, max_samples=max_samples, skip_invalid=skip_invalid
        )
    if path.is_file():
        fmt = DATA_FILE_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise ValueError(f"data: cannot read {origin!r} with datasets (suffix {path.suffix})")
        loaded = ds.load_dataset(fmt, data_files=str(path), split="train", streaming=streaming)
    elif path.is_dir():
        try:
            loaded = ds.load_dataset(str(path), config, split=split, streaming=streaming)
        except ValueError as exc:
            # datasets names the missing split or config; keep its words, add where.
            raise ValueError(f"{origin}: {exc}") from None
    else:
        raise FileNotFoundError(f"data: no such file or directory {origin!r}")
    return _finish(loaded, columns, origin, max_samples, streaming, skip_invalid)


def _finish(
    loaded: Any,
    columns: Columns,
    origin: str,
    max_samples: int | None,
    streaming: bool,
    skip_invalid: bool,
) -> Sequence[Sample]:
    if not streaming:
        return HFDataset(
            loaded, columns, origin, max_samples=max_samples, skip_invalid=skip_invalid
        )
    # A streamed corpus has no random access: its first max_samples samples are kept in memory.
    names = loaded.column_names
    resolved = columns.check(list(names), origin) if names else columns
    rows = ((None, row) for row in loaded)
    return rows_to_samples(
        rows, resolved, origin, skip_invalid=skip_invalid, max_samples=max_samples
    )


def load_hub(
    path: str,
    columns: Columns,
    *,
    config: str | None = None,
    split: str = "train",
    revision: str | None = None,
    max_samples: int | None = None,
    streaming: bool = False,
    skip_invalid: bool = False,
    local_hint: str | None = None,
) -> Sequence[Sample]:
    """Samples from a Hub dataset (from the local cache when it is there).

    Args:
        path: Hub dataset id, e.g. ``"abisee/cnn_dailymail"``.
        columns: The column mapping.
        config: Hub config (subset).
        split: Split name.
        revision: Hub revision (branch, tag, commit or ``"refs/convert/parquet"``).
        max_samples: Keep the first ``max_samples`` samples; required with ``streaming``.
        streaming: Read the corpus as a stream and keep its first ``max_samples`` samples in
            memory, without downloading the whole corpus.
        skip_invalid: Drop invalid rows instead of raising.
        local_hint: How the error message should suggest passing a local copy.

    Raises:
        HubUnavailableError: If the dataset is not cached and the Hub is offline or
            unreachable, or the Hub does not have it; the message says how to pass a local copy.
    """
    ds = _datasets(f"data={path!r}")
    where = f"{path!r}" + (f" (config {config!r})" if config else "")
    # HF_HUB_OFFLINE=1 makes datasets read its cache at once; otherwise probe the Hub once
    # rather than let the client retry an unreachable host for a minute.
    if not hub_offline() and not hub_reachable():
        raise HubUnavailableError(
            _hub_message(where, path, config, split, revision, "the Hub is unreachable", local_hint)
        )
    try:
        loaded = ds.load_dataset(path, config, split=split, revision=revision, streaming=streaming)
    except Exception as exc:  # noqa: BLE001 - datasets raises many types for "not available"
        if isinstance(exc, ValueError) and "split" in str(exc).lower():
            raise ValueError(f"data: {where}: {exc}") from None
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        raise HubUnavailableError(
            _hub_message(where, path, config, split, revision, reason, local_hint)
        ) from exc
    return _finish(loaded, columns, f"{path}[{split}]", max_samples, streaming, skip_invalid)


def _hub_message(
    where: str,
    path: str,
    config: str | None,
    split: str,
    revision: str | None,
    reason: str,
    local_hint: str | None,
) -> str:
    args = ", ".join(
        [repr(path)]
        + ([repr(config)] if config else [])
        + [f"split={split!r}"]
        + ([f"revision={revision!r}"] if revision else [])
    )
    hint = local_hint or "data={'path': 'my_copy', 'source': ..., 'references': ...}"
    offline = " (HF_HUB_OFFLINE is set)" if hub_offline() else ""
    return (
        f"data: cannot load the Hub dataset {where}{offline}: {reason}. It is not in the local "
        f"cache and cannot be downloaded now. Where the Hub is reachable, save a copy with "
        f"datasets.load_dataset({args}).save_to_disk('my_copy'), then pass the local "
        f"directory: {hint}"
    )


def looks_like_hub_id(path: str) -> bool:
    """Whether a string that is not an existing path reads as a Hub id (``name`` or
    ``owner/name``) rather than as a mistyped local path.

    A path with a data-file suffix, a leading ``.``, ``/`` or ``~``, or more than one ``/`` is
    taken as local, so a typo in a file name is reported as a missing file, never sent to the
    Hub.
    """
    from textgym.data.files import TEXT_FORMATS

    suffix = Path(path).suffix.lower()
    return not (
        not path
        or suffix in TEXT_FORMATS
        or suffix in DATA_FILE_FORMATS
        or suffix == ".txt"
        or path.startswith((".", "/", "~", "\\"))
        or path.count("/") > 1
        or os.sep in path.replace("/", "")
        or any(c.isspace() for c in path)
    )
