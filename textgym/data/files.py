"""Local text files as samples: JSON Lines, JSON, CSV, TSV and line-aligned parallel text.

These loaders use the standard library only (no ``datasets``), read the whole file, validate
every row and return a tuple of samples. Errors name the file, the line and the column. Saved
Hugging Face datasets and Parquet/Arrow files go through :mod:`textgym.data.hf`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from textgym.data.mapping import Columns, rows_to_samples
from textgym.data.sample import Sample

#: File suffix -> format name, for the formats read here.
TEXT_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
}


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """The text of a file, with a clear error for undecodable bytes and for an empty file.

    A UTF-8 byte-order mark (as spreadsheet programs write) is dropped.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is empty or not valid ``encoding`` (naming the line and byte).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data: no such file {str(path)!r}")
    raw = path.read_bytes()
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(
            f"{path}: line {line}: byte 0x{raw[exc.start]:02x} is not valid {encoding} "
            f"({exc.reason}); re-encode the file as UTF-8, or give its encoding with "
            "data={'path': ..., 'encoding': 'latin-1'}"
        ) from None
    except LookupError:
        raise ValueError(f"data['encoding']: unknown encoding {encoding!r}") from None
    if not text.strip():
        raise ValueError(f"{path}: the file is empty; an environment needs at least one sample")
    return text


def _jsonl_rows(path: Path, text: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue  # blank lines (a trailing newline, separators) are not records
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {number}: invalid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(
                f"{path}: line {number}: expected a JSON object, got {type(row).__name__}"
            )
        yield f"line {number}", row


def _json_rows(path: Path, text: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: invalid JSON at line {exc.lineno} ({exc.msg}); a .json file must hold "
            "one list of objects (use .jsonl for one object per line)"
        ) from None
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of objects, got {type(data).__name__}")
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise ValueError(f"{path}: item {index}: expected an object, got {type(row).__name__}")
        yield f"item {index}", row


def _table_rows(path: Path, text: str, delimiter: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    reader = csv.DictReader(
        io.StringIO(text, newline=""),
        delimiter=delimiter,
        # TSV files rarely quote and often contain '"' inside fields: read them verbatim. (Inline,
        # so that the type checker keeps the constants' literal types that DictReader expects.)
        quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL,
    )
    if not reader.fieldnames:
        raise ValueError(f"{path}: no header row; the first line must name the columns")
    any_row = False
    for row in reader:
        any_row = True
        extra = row.pop(None, None)
        if extra:
            raise ValueError(
                f"{path}: line {reader.line_num}: {len(extra)} more field(s) than the header's "
                f"{len(reader.fieldnames)} columns"
            )
        yield f"line {reader.line_num}", row
    if not any_row:
        raise ValueError(f"{path}: the header has no rows under it")


def table_columns(path: str | Path, fmt: str, text: str) -> list[str]:
    """The column names a text file offers (header, or the keys of its first record)."""
    if fmt in ("csv", "tsv"):
        first = text.splitlines()[0] if text else ""
        return next(csv.reader([first], delimiter="\t" if fmt == "tsv" else ","), [])
    rows = _jsonl_rows(Path(path), text) if fmt == "jsonl" else _json_rows(Path(path), text)
    first_row = next(rows, None)
    return list(first_row[1]) if first_row else []


def load_table(
    path: str | Path,
    columns: Columns,
    *,
    fmt: str | None = None,
    encoding: str = "utf-8",
    skip_invalid: bool = False,
    max_samples: int | None = None,
) -> tuple[Sample, ...]:
    """Samples from a JSON Lines, JSON (a list of objects), CSV or TSV file.

    Args:
        path: The file.
        columns: Which fields are the source, references and id.
        fmt: ``"jsonl"``, ``"json"``, ``"csv"`` or ``"tsv"``; default: from the suffix.
        encoding: Text encoding of the file.
        skip_invalid: Drop rows with a missing or empty field instead of raising.
        max_samples: Keep the first ``max_samples`` samples.

    Raises:
        ValueError: For an empty or undecodable file, a missing column, or an invalid row,
            naming the file, the line and the column.
    """
    path = Path(path)
    fmt = fmt or TEXT_FORMATS.get(path.suffix.lower())
    if fmt not in set(TEXT_FORMATS.values()):
        raise ValueError(
            f"data: cannot tell the format of {str(path)!r}; give data={{'path': ..., "
            f"'format': ...}} with one of {sorted(set(TEXT_FORMATS.values()))}"
        )
    text = read_text(path, encoding)
    resolved = columns.check(table_columns(path, fmt, text), str(path))
    if fmt == "jsonl":
        rows = _jsonl_rows(path, text)
    elif fmt == "json":
        rows = _json_rows(path, text)
    else:
        rows = _table_rows(path, text, "\t" if fmt == "tsv" else ",")
    return rows_to_samples(
        rows, resolved, str(path), skip_invalid=skip_invalid, max_samples=max_samples
    )


def load_parallel_text(
    source_file: str | Path,
    reference_files: Sequence[str | Path],
    *,
    encoding: str = "utf-8",
    skip_invalid: bool = False,
    max_samples: int | None = None,
) -> tuple[Sample, ...]:
    """Samples from line-aligned text files: line ``i`` of each reference file is a reference
    of line ``i`` of the source file (the layout of WMT/IWSLT ``.en``/``.de`` releases).

    Raises:
        ValueError: If the files have different numbers of lines, or a line is empty (naming
            the file and line), unless ``skip_invalid`` drops such lines.
    """
    if isinstance(reference_files, (str, Path)):
        reference_files = [reference_files]
    if not reference_files:
        raise ValueError("data['reference_files']: give at least one reference file")
    files = [Path(source_file), *map(Path, reference_files)]
    # splitlines() would also split on form feeds and other separators that plain-text corpora
    # keep inside a line; only newlines separate aligned lines.
    lines = [read_text(f, encoding).removesuffix("\n").split("\n") for f in files]
    lines = [[line.removesuffix("\r") for line in file_lines] for file_lines in lines]
    counts = {str(f): len(file_lines) for f, file_lines in zip(files, lines, strict=True)}
    if len(set(counts.values())) > 1:
        raise ValueError(f"data: parallel files must have the same number of lines, got {counts}")
    # Column names are the file names, so that an error names the file with the empty line.
    names = [str(f) for f in files]
    if len(set(names)) < len(names):
        names = [f"{name} (file {i})" for i, name in enumerate(names)]
    columns = Columns(source=names[0], references=tuple(names[1:]))

    def rows() -> Iterator[tuple[str, Mapping[str, Any]]]:
        for number, texts in enumerate(zip(*lines, strict=True), start=1):
            yield f"line {number}", dict(zip(names, texts, strict=True))

    origin = " + ".join(str(f) for f in files)
    return rows_to_samples(
        rows(), columns, origin, skip_invalid=skip_invalid, max_samples=max_samples
    )
