"""Public corpora in their original file formats, read offline from a local copy.

The releases are read as their authors publish them, with the standard library only (no
``datasets``, no network):

* ``"multi30k[:src-tgt]"`` (translation): Multi30k task 1 as in github.com/multi30k/dataset,
  ``data/task1/raw/<split>.<lang>.gz``: one caption per line, line-aligned across the languages
  ``en``, ``de``, ``fr``, ``cs`` (any pair, either direction; default ``de-en``). ``path``: the
  repository root or its ``data/task1/raw`` folder; plain (gunzipped) files are read too.
  Splits: ``train`` -> ``train``, ``validation`` -> ``val``, ``test`` -> ``test_2016_flickr``;
  any other raw set by its file name (``"test_2017_mscoco"``). Sample ids: ``"val/17"``.
* ``"dailydialog"`` (dialogue): DailyDialog's text release, one dialogue per line, turns ended by
  `` __eou__ ``. ``path``: a folder with split subfolders holding ``dialogues.txt`` (the layout
  of github.com/snakeztc/NeuralDialog-LAED ``data/daily_dialog``) or ``dialogues_<split>.txt``
  (the unzipped ijcnlp_dailydialog release), or one ``.txt`` file of dialogues (such as
  ``dialogues_text.txt``, all of them). Each turn after the first is a sample replying to the
  previous ``context_turns`` turns, as in the dialogue form of
  :class:`~textgym.data.mapping.Columns`. Ids: ``"test/12/3"``, dialogue 12 (its line, from
  0), turn 3 (from 0; turn 0 opens the dialogue). The text is kept as the corpus has it,
  tokenized with spaces around punctuation (``"I ’ ll go ."``), as the Hub's ``daily_dialog``
  has it too. The sibling ``dialogues_act*.txt`` / ``dialogues_emotion*.txt`` labels of the
  reply turn, where present and aligned, go in ``meta["act"]`` / ``meta["emotion"]``.
* ``"scitldr[:A|AIC|FullText]"`` (summarization): SciTLDR as in github.com/allenai/scitldr,
  ``SciTLDR-Data/SciTLDR-<variant>/<split>.jsonl`` (default variant ``A``, abstracts).
  ``path``: the repository root, ``SciTLDR-Data``, the variant folder, or one ``.jsonl`` file.
  Splits: ``train``, ``validation`` -> ``dev``, ``test``. Source: the sentences of ``source``
  joined by spaces; references: every TLDR in ``target``; id: ``paper_id``.

The Hub corpus name ``"daily_dialog"`` with a ``path`` in the text format reads it the same way
(a ``save_to_disk`` copy of the Hub dataset still goes through :mod:`textgym.data.hf`).

Without ``path`` a corpus is read from ``$TEXTGYM_DATA/<name>`` (default
``~/.cache/textgym-data/multi30k``, ``.../dailydialog``, ``.../scitldr``), so a plain string
``data="multi30k:en-de"`` works once a copy is there. Lines and sentences lose their surrounding
whitespace (the releases pad some; a reference must not differ from a generation by a trailing
space); text inside a line is kept. A single file (a DailyDialog ``.txt``, a SciTLDR
``.jsonl``) is its own split: ``split`` does not apply to it.
"""

from __future__ import annotations

import gzip
import json
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textgym.data.mapping import Columns, collect_samples
from textgym.data.sample import Sample

#: Environment variable naming the folder that holds the local copies (one subfolder each).
DATA_DIR_ENV = "TEXTGYM_DATA"
#: Where the local copies are when :data:`DATA_DIR_ENV` is not set.
DEFAULT_DATA_DIR = "~/.cache/textgym-data"

#: The local-format corpora by base name: family and a one-line note.
LOCAL_CORPORA: dict[str, tuple[str, str]] = {
    "multi30k": ("translation", "Multi30k task 1 raw text, en/de/fr/cs pairs (default de-en)"),
    "dailydialog": ("dialogue", "DailyDialog text release (__eou__ turns): last k turns -> next"),
    "scitldr": ("summarization", "SciTLDR JSONL, variants A/AIC/FullText (default A): -> TLDRs"),
}

#: How to get each corpus, for the message when no copy is found.
_HOW_TO_GET = {
    "multi30k": "git clone https://github.com/multi30k/dataset {dir}",
    "dailydialog": (
        "git clone https://github.com/snakeztc/NeuralDialog-LAED and copy its "
        "data/daily_dialog folder to {dir} (or unzip ijcnlp_dailydialog.zip and its "
        "train/validation/test zips there)"
    ),
    "scitldr": "git clone https://github.com/allenai/scitldr {dir}",
}

#: The ``data=`` keys a local corpus reads; ``_DIALOGUE_KEYS`` only for DailyDialog.
LOCAL_SPEC_KEYS = (
    "corpus", "path", "split", "encoding", "max_samples", "skip_invalid", "lowercase",
)  # fmt: skip
_DIALOGUE_KEYS = ("context_turns", "turn_separator")

_MULTI30K_LANGUAGES = ("en", "de", "fr", "cs")
_MULTI30K_SPLITS = {"train": "train", "validation": "val", "test": "test_2016_flickr"}
# Folders under ``path`` tried in turn: the raw folder itself, then up to the repository root.
_MULTI30K_DIRS = (".", "raw", "task1/raw", "data/task1/raw")
_DAILYDIALOG_SPLITS = ("train", "validation", "test")
_SCITLDR_VARIANTS = ("A", "AIC", "FullText")
_SCITLDR_SPLITS = {"train": "train", "validation": "dev", "test": "test"}


@dataclass(frozen=True)
class LocalCorpus:
    """A corpus read from its original files.

    Attributes:
        key: The name it was asked for (``"multi30k:de-en"``), used in messages.
        base: ``"multi30k"``, ``"dailydialog"`` or ``"scitldr"``.
        family: ``"translation"``, ``"summarization"`` or ``"dialogue"``.
        option: The language pair (``("de", "en")``), the SciTLDR variant (``("A",)``), or
            ``()``.
    """

    key: str
    base: str
    family: str
    option: tuple[str, ...] = ()


def is_local_name(key: str) -> bool:
    """Whether ``key`` names a local-format corpus (its pair or variant is checked later)."""
    return key.partition(":")[0] in LOCAL_CORPORA


def local_corpus(key: str) -> LocalCorpus:
    """The :class:`LocalCorpus` for ``"multi30k:en-fr"``, ``"dailydialog"``, ``"scitldr:AIC"``...

    Raises:
        ValueError: For an unknown name, language pair or variant.
    """
    base, _, option = key.partition(":")
    if base not in LOCAL_CORPORA:
        raise ValueError(f"data: unknown local corpus {key!r}; known: {', '.join(LOCAL_CORPORA)}")
    family = LOCAL_CORPORA[base][0]
    if base == "multi30k":
        src, sep, tgt = (option or "de-en").partition("-")
        if not sep or src == tgt or not {src, tgt} <= set(_MULTI30K_LANGUAGES):
            raise ValueError(
                f"data: {key!r}: expected a language pair like 'multi30k:de-en' of two of "
                f"{', '.join(_MULTI30K_LANGUAGES)}"
            )
        return LocalCorpus(key, base, family, (src, tgt))
    if base == "scitldr":
        variants = {v.lower(): v for v in _SCITLDR_VARIANTS}
        if option.lower() not in variants and option:
            raise ValueError(
                f"data: {key!r}: unknown SciTLDR variant {option!r}; the variants are "
                f"{', '.join(_SCITLDR_VARIANTS)} (default A)"
            )
        return LocalCorpus(key, base, family, (variants.get(option.lower(), "A"),))
    if option:
        raise ValueError(f"data: corpus {base!r} has no language pair or variant; use {base!r}")
    return LocalCorpus(key, base, family)


def is_dailydialog_text(path: Path) -> bool:
    """Whether ``path`` holds DailyDialog in its text format: a ``.txt`` file, or a folder with
    ``dialogues*.txt`` files in it or in its split subfolders."""
    if path.is_file():
        return path.suffix.lower() == ".txt"
    if not path.is_dir():
        return False
    return any(path.glob("dialogues*.txt")) or any(path.glob("*/dialogues*.txt"))


def reads(spec: Mapping[str, Any]) -> bool:
    """Whether a ``data=`` dict spec is for this module: a local corpus name, or the Hub name
    ``"daily_dialog"`` with a ``path`` in DailyDialog's text format."""
    name = spec.get("corpus")
    if not isinstance(name, str):
        return False
    if is_local_name(name):
        return True
    path = spec.get("path")
    return (
        name == "daily_dialog"
        and isinstance(path, str)
        and is_dailydialog_text(Path(path).expanduser())
    )


def data_dir() -> Path:
    """The folder of the local copies: ``$TEXTGYM_DATA`` or ``~/.cache/textgym-data``."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser()


def load(spec: Mapping[str, Any], split: str, family: str | None) -> tuple[Sample, ...]:
    """The samples of a local corpus spec (one :func:`reads` accepts).

    Args:
        spec: The ``data=`` dict, its types already checked by ``sources``.
        split: The split to read (the spec's ``split`` or the env's).
        family: The env's task family; a corpus of another family is an error.

    Raises:
        ValueError: For another family, a key that does not apply, a missing split (naming
            the files looked for and the splits present), misaligned files or an invalid row.
        FileNotFoundError: If ``path`` (or the default copy) does not exist.
    """
    key = spec["corpus"]
    corpus = local_corpus("dailydialog" if key == "daily_dialog" else key)
    corpus = LocalCorpus(key, corpus.base, corpus.family, corpus.option)
    if family is not None and corpus.family != family:
        raise ValueError(f"data: {key!r} is a {corpus.family} corpus; this is a {family} env")
    allowed = LOCAL_SPEC_KEYS + (_DIALOGUE_KEYS if corpus.base == "dailydialog" else ())
    extra = [k for k in spec if k not in allowed]
    if extra:
        raise ValueError(
            f"data: key(s) {', '.join(map(repr, extra))} do not apply to the local corpus "
            f"{key!r}; its keys are {', '.join(allowed)}"
        )
    if "path" in spec:
        path = Path(spec["path"]).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"data: no such file or directory {spec['path']!r}")
    else:
        path = data_dir() / corpus.base
        if not path.exists():
            raise FileNotFoundError(
                f"data: {key!r}: no local copy at {path} (the default, ${DATA_DIR_ENV}/"
                f"{corpus.base}); get one with: {_HOW_TO_GET[corpus.base].format(dir=path)}; "
                f"or give its folder: data={{'corpus': {key!r}, 'path': ...}}"
            )
    options = {
        "encoding": spec.get("encoding", "utf-8"),
        "max_samples": spec.get("max_samples"),
        "skip_invalid": spec.get("skip_invalid", False),
    }
    if corpus.base == "multi30k":
        return load_multi30k(path, corpus.option, split=split, key=key, **options)
    if corpus.base == "scitldr":
        return load_scitldr(path, corpus.option[0], split=split, key=key, **options)
    from textgym.data.hf import corpus as hub_corpus

    # The dialogue defaults (context_turns...) are those of the Hub corpus, so that both copies
    # of DailyDialog give the same sources.
    columns = Columns.from_spec(spec, hub_corpus("daily_dialog").columns)
    return load_dailydialog(path, split=split, columns=columns, key=key, **options)


# ---------------------------------------------------------------------------- reading
def read_lines(path: Path, encoding: str = "utf-8") -> list[str]:
    """The lines of a text file, gunzipped if its name ends in ``.gz``, without line ends.

    Only ``\\n`` ends a line (a corpus may keep other separators inside one); a final newline
    does not start an empty line.

    Raises:
        ValueError: For an empty file, bad gzip data or undecodable text (naming the line).
    """
    raw = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: not a valid gzip file ({exc})") from None
    try:
        text = raw.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(
            f"{path}: line {line}: byte 0x{raw[exc.start]:02x} is not valid {encoding} "
            f"({exc.reason}); give the encoding with data={{..., 'encoding': 'latin-1'}}"
        ) from None
    except LookupError:
        raise ValueError(f"data['encoding']: unknown encoding {encoding!r}") from None
    if not text.strip():
        raise ValueError(f"{path}: the file is empty; an environment needs at least one sample")
    return [line.removesuffix("\r") for line in text.removesuffix("\n").split("\n")]


def _present(path: Path) -> bool:
    # An empty file is a placeholder (a snapshot too large to ship leaves one), not a split.
    return path.is_file() and path.stat().st_size > 0


def _missing_split(
    key: str, split: str, root: Path, looked: Sequence[Path], present: Sequence[str], hint: str = ""
) -> ValueError:
    names = [str(p.relative_to(root)) + (" (an empty file)" if p.is_file() else "") for p in looked]
    return ValueError(
        f"{key}: no {split} split under {root} (looked for {', '.join(names)}); "
        f"present: {', '.join(present) or 'none'}{hint}"
    )


# ---------------------------------------------------------------------------- Multi30k
def _multi30k_file(root: Path, name: str, lang: str) -> tuple[Path | None, list[Path]]:
    candidates = [root / f"{name}.{lang}.gz", root / f"{name}.{lang}"]
    return next((p for p in candidates if _present(p)), None), candidates


def _has_multi30k(folder: Path) -> bool:
    if not folder.is_dir():
        return False
    suffixes = {f".{lang}" for lang in _MULTI30K_LANGUAGES}
    return any(Path(p.name.removesuffix(".gz")).suffix in suffixes for p in folder.iterdir())


def _multi30k_splits(root: Path, src: str, tgt: str) -> list[str]:
    names = {p.name.split(".")[0] for p in root.iterdir() if p.is_file()}
    both = [n for n in names if all(_multi30k_file(root, n, lang)[0] for lang in (src, tgt))]
    order = list(_MULTI30K_SPLITS.values())
    return sorted(both, key=lambda n: (order.index(n) if n in order else len(order), n))


def load_multi30k(
    path: Path,
    pair: Sequence[str] = ("de", "en"),
    *,
    split: str = "train",
    key: str = "multi30k",
    encoding: str = "utf-8",
    max_samples: int | None = None,
    skip_invalid: bool = False,
) -> tuple[Sample, ...]:
    """Multi30k task 1 samples: line ``i`` of ``<split>.<src>`` -> line ``i`` of ``<split>.<tgt>``.

    Args:
        path: The repository root, or a folder of ``<split>.<lang>[.gz]`` files.
        pair: Source and target language.
        split: ``train``, ``validation``, ``test`` or a raw set name (``"test_2017_flickr"``).
        key: The corpus name, for messages.
        encoding: Text encoding of the files.
        max_samples: Keep the first ``max_samples`` samples.
        skip_invalid: Drop a line pair with an empty side (with a warning) instead of raising.

    Raises:
        ValueError: For a missing split file, files of different lengths or an empty line.
    """
    src, tgt = pair
    root = next((path / d for d in _MULTI30K_DIRS if _has_multi30k(path / d)), path)
    name = _MULTI30K_SPLITS.get(split, split)
    found: list[Path] = []
    looked: list[Path] = []
    for lang in (src, tgt):
        file, candidates = _multi30k_file(root, name, lang)
        if file is None:
            looked.extend(candidates)
        else:
            found.append(file)
    if looked:
        label = split if name == split else f"{split} ({name})"
        raise _missing_split(key, label, root, looked, _multi30k_splits(root, src, tgt))
    src_lines, tgt_lines = (read_lines(f, encoding) for f in found)
    if len(src_lines) != len(tgt_lines):
        raise ValueError(
            f"{key}: {found[0]} has {len(src_lines)} lines but {found[1]} has "
            f"{len(tgt_lines)}; the two files of a split must be line-aligned"
        )

    def rows() -> Iterator[list[Sample] | ValueError]:
        for i, (source, target) in enumerate(zip(src_lines, tgt_lines, strict=True)):
            source, target = source.strip(), target.strip()
            empty = found[0] if not source else found[1] if not target else None
            if empty is not None:
                yield ValueError(f"{empty}: line {i + 1} is empty")
            else:
                yield [Sample(f"{name}/{i}", source, (target,), {"row": i})]

    origin = f"{key} {found[0]} + {found[1]}"
    return collect_samples(rows(), origin, skip_invalid=skip_invalid, max_samples=max_samples)


# ---------------------------------------------------------------------------- DailyDialog
def _dailydialog_files(root: Path, split: str) -> list[Path]:
    return [
        root / split / "dialogues.txt",
        root / split / f"dialogues_{split}.txt",
        root / f"dialogues_{split}.txt",
    ]


def _dailydialog_label(file: Path) -> str:
    """The split name a dialogues file is for, from its name or its folder's."""
    stem = file.stem
    if stem == "dialogues":
        return file.parent.name or stem
    return stem.removeprefix("dialogues_") if stem != "dialogues_text" else stem


def _dailydialog_annotations(
    file: Path, kind: str, count: int, encoding: str
) -> list[list[int]] | None:
    """The ``kind`` (``act``/``emotion``) labels per dialogue from the sibling file, if aligned."""
    if not file.stem.startswith("dialogues"):
        return None
    stem = file.stem.removeprefix("dialogues")
    name = f"dialogues_{kind}{'' if stem == '_text' else stem}.txt"
    labels_file = file.with_name(name)
    if not _present(labels_file):
        return None
    try:
        lines = read_lines(labels_file, encoding)
        labels = [[int(x) for x in line.split()] for line in lines]
    except ValueError:
        labels = None
    if labels is None or len(labels) != count:
        warnings.warn(
            f"{labels_file}: not one line of integer labels per dialogue of {file}; "
            f"its {kind} labels are left out",
            stacklevel=4,
        )
        return None
    return labels


def _dialogue_turns(line: str) -> list[str]:
    # Every turn ends with "__eou__", so the text after the last marker is empty; a line
    # without the final marker still ends with a turn.
    turns = [t.strip() for t in line.split("__eou__")]
    return turns[:-1] if turns and not turns[-1] else turns


def _split_order(split: str) -> tuple[int, str]:
    order = _DAILYDIALOG_SPLITS
    return (order.index(split) if split in order else len(order), split)


def load_dailydialog(
    path: Path,
    *,
    split: str = "train",
    columns: Columns | None = None,
    key: str = "dailydialog",
    encoding: str = "utf-8",
    max_samples: int | None = None,
    skip_invalid: bool = False,
) -> tuple[Sample, ...]:
    """DailyDialog samples from its text release: each reply turn, with its context.

    Args:
        path: A folder of split subfolders, or one ``.txt`` file of dialogues (then ``split``
            does not apply).
        split: ``train``, ``validation``, ``test`` (or another subfolder's name).
        columns: The dialogue form's ``context_turns`` and ``turn_separator`` (default: those of
            the Hub's ``daily_dialog``: 3 turns joined by newlines).
        key: The corpus name, for messages.
        encoding: Text encoding of the files.
        max_samples: Keep the first ``max_samples`` samples.
        skip_invalid: Drop an empty line or a dialogue with an empty turn (with a warning)
            instead of raising.

    Raises:
        ValueError: For a missing split file or an invalid dialogue (naming file and line).
    """
    if columns is None:
        from textgym.data.hf import corpus as hub_corpus

        columns = hub_corpus("daily_dialog").columns
    if path.is_file():
        file = path
    else:
        candidates = _dailydialog_files(path, split)
        found = next((p for p in candidates if _present(p)), None)
        if found is None:
            names = {*_DAILYDIALOG_SPLITS, *(p.name for p in path.iterdir() if p.is_dir())}
            present = [
                s
                for s in sorted(names, key=_split_order)
                if any(_present(p) for p in _dailydialog_files(path, s))
            ]
            hint = ""
            if (path / f"{split}.zip").is_file():
                hint = f"; {path / f'{split}.zip'} is still to be unzipped"
            if _present(path / "dialogues_text.txt"):
                hint += f"; {path / 'dialogues_text.txt'} holds every dialogue: pass it as 'path'"
            if (path / "dataset_dict.json").is_file():
                hint += "; this is a saved Hub dataset: read it with the corpus 'daily_dialog'"
            raise _missing_split(key, split, path, candidates, present, hint)
        file = found
    lines = read_lines(file, encoding)
    prefix = _dailydialog_label(file)
    acts = _dailydialog_annotations(file, "act", len(lines), encoding)
    emotions = _dailydialog_annotations(file, "emotion", len(lines), encoding)
    k, separator = columns.context_turns, columns.turn_separator

    def rows() -> Iterator[list[Sample] | ValueError]:
        for d, line in enumerate(lines):
            turns = _dialogue_turns(line)
            if not turns:
                yield ValueError(f"{file}: line {d + 1} is empty")
                continue
            empty = [i for i, t in enumerate(turns) if not t]
            if empty:
                yield ValueError(f"{file}: line {d + 1}: turn {empty[0]} is empty")
                continue
            labels = {
                name: values[d]
                for name, values in (("act", acts), ("emotion", emotions))
                if values is not None and len(values[d]) == len(turns)
            }
            yield [
                Sample(
                    f"{prefix}/{d}/{t}",
                    separator.join(turns[max(0, t - k) : t]),
                    (turns[t],),
                    {"row": d, "turn": t, **{n: v[t] for n, v in labels.items()}},
                )
                for t in range(1, len(turns))
            ]

    return collect_samples(
        rows(), f"{key} {file}", skip_invalid=skip_invalid, max_samples=max_samples
    )


# ---------------------------------------------------------------------------- SciTLDR
def _scitldr_texts(row: Mapping[str, Any], name: str, where: str) -> list[str]:
    if name not in row:
        raise ValueError(f"{where}: missing field {name!r} (fields: {sorted(row)})")
    value = row[name]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{where}: field {name!r}: expected a list of strings, got {value!r:.60}")
    return [v.strip() for v in values]


def _scitldr_sample(line: str, i: int, where: str) -> Sample:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: invalid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
    # The release pads sentences with newlines and double spaces at their ends only.
    source = " ".join(s for s in _scitldr_texts(row, "source", where) if s)
    targets = _scitldr_texts(row, "target", where)
    if not source:
        raise ValueError(f"{where}: field 'source' is empty")
    if not targets or not all(targets):
        raise ValueError(f"{where}: field 'target' has no TLDR or an empty one: {targets!r:.60}")
    paper_id = row.get("paper_id")
    if not isinstance(paper_id, str) or not paper_id:
        raise ValueError(f"{where}: field 'paper_id' is missing or empty")
    return Sample(paper_id, source, tuple(targets), {"row": i})


def load_scitldr(
    path: Path,
    variant: str = "A",
    *,
    split: str = "train",
    key: str = "scitldr",
    encoding: str = "utf-8",
    max_samples: int | None = None,
    skip_invalid: bool = False,
) -> tuple[Sample, ...]:
    """SciTLDR samples: the paper's sentences -> its TLDRs (all of them, the first canonical).

    Args:
        path: The repository root, ``SciTLDR-Data``, a ``SciTLDR-<variant>`` folder, or one
            ``.jsonl`` file (then ``split`` does not apply).
        variant: ``"A"`` (abstracts), ``"AIC"`` (+ introduction, conclusion), ``"FullText"``.
        split: ``train``, ``validation`` (the ``dev`` file) or ``test``.
        key: The corpus name, for messages.
        encoding: Text encoding of the files.
        max_samples: Keep the first ``max_samples`` samples.
        skip_invalid: Drop an invalid record (with a warning) instead of raising.

    Raises:
        ValueError: For a missing split file, the folder of another variant, or an invalid
            record (naming file and line).
    """
    folder = f"SciTLDR-{variant}"
    if path.is_file():
        file = path
    else:
        if path.name.startswith("SciTLDR-") and path.name not in (folder, "SciTLDR-Data"):
            raise ValueError(f"{key}: {path} is the folder of another variant; this is {folder}")
        dirs = [path, path / folder, path / "SciTLDR-Data" / folder]
        files = [f"{s}.jsonl" for s in _SCITLDR_SPLITS.values()]
        root = next((d for d in dirs if any(_present(d / f) for f in files)), None)
        if root is None:
            raise ValueError(
                f"{key}: no {folder} data under {path} (looked for {', '.join(files)} in "
                f"{', '.join(str(d) for d in dirs)})"
            )
        name = _SCITLDR_SPLITS.get(split, split)
        file = root / f"{name}.jsonl"
        if not _present(file):
            present = [s for s in _SCITLDR_SPLITS.values() if _present(root / f"{s}.jsonl")]
            label = split if name == split else f"{split} ({name})"
            raise _missing_split(key, label, root, [file], present)
    lines = read_lines(file, encoding)

    def rows() -> Iterator[list[Sample] | ValueError]:
        index = 0
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue  # blank lines (a trailing newline) are not records
            try:
                yield [_scitldr_sample(line, index, f"{file}: line {number}")]
            except ValueError as exc:
                yield exc
            index += 1

    return collect_samples(
        rows(), f"{key} {file}", skip_invalid=skip_invalid, max_samples=max_samples
    )
