"""Atomic file writes: a reader (or a crash) never sees a half-written result file."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# tempfile.mkstemp's random part: 8 characters of this alphabet (tempfile._RandomNameSequence).
_RANDOM = r"[a-z0-9_]{8}"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    The data is flushed to disk before the rename, so after a crash ``path`` holds either the
    old or the new contents in full. The file gets the usual permissions (``0o666`` less the
    umask), not the private ones of a temporary file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The temporary's name is temp_name_pattern(target.name): remove_stale_temporaries finds
    # those a killed process (which no except clause survives) left behind.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> None:
    """JSON version of :func:`atomic_write_text` (indented, sorted keys)."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def atomic_write_jsonl(path: str | os.PathLike[str], rows: Iterable[Any]) -> None:
    """One JSON object per line (sorted keys), written atomically: prediction files."""
    atomic_write_text(path, "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows))


def temp_name_pattern(name: str) -> re.Pattern[str]:
    """The names :func:`atomic_write_bytes` gives its temporary files for a file ``name``."""
    return re.compile(rf"\.{re.escape(name)}\.{_RANDOM}\.tmp")


def remove_stale_temporaries(folder: str | os.PathLike[str], names: Iterable[str]) -> list[Path]:
    """Delete the temporary files that atomic writes of ``names`` left in ``folder``.

    Only a killed process leaves one (any exception removes it), so call this only while no
    other process may be writing these files (holding the folder's lock): a live writer's
    temporary would be deleted under it.

    Args:
        folder: Where the files live.
        names: The file names whose temporaries to remove (``"latest.pt"``...); temporaries of
            other files, and other ``*.tmp`` files, are kept.

    Returns:
        The removed files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    patterns = [temp_name_pattern(name) for name in names]
    removed = []
    for file in folder.iterdir():
        if file.is_file() and any(p.fullmatch(file.name) for p in patterns):
            file.unlink(missing_ok=True)
            removed.append(file)
    return removed
