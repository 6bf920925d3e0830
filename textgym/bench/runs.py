"""Run folders: everything one training run leaves behind, written so a crash loses nothing.

Layout of a run folder::

    config.yaml          the resolved configuration (defaults + file + overrides)
    manifest.json        versions, seed, git commit, machine, command, status
    metrics.csv          one row per evaluation: step, env steps, training return, eval metrics
    events/              TensorBoard event files (when ``tensorboard`` is installed)
    checkpoints/         ``latest`` (to resume) and ``final`` training state
    predictions.jsonl    the final evaluation's outputs, one JSON object per sample
    curves.png           learning curves
    summary.json         the final metrics (present once the run finished)

Every file is replaced atomically (written to a temporary file, then renamed): an interrupted
run leaves the previous complete version, never a truncated one. ``metrics.csv`` holds only
values that depend on the seed, not on the clock, so two runs with one seed give identical files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from textgym._io import atomic_write_json, atomic_write_text

#: Version of the folder layout; a folder with a higher number was written by a newer textgym.
FORMAT_VERSION = 1
_PACKAGES = (
    "textgym", "gymnasium", "numpy", "torch", "stable-baselines3", "sb3-contrib",
    "transformers", "peft",
)  # fmt: skip


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked (exists, missing, newer, incomplete)."""


def versions() -> dict[str, str | None]:
    """Installed versions of the packages a run depends on (``None`` when absent)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def git_commit(path: str | os.PathLike[str] | None = None) -> str | None:
    """The commit of the git checkout holding textgym's source (``None`` outside a checkout);
    ``+dirty`` is appended when tracked files have local changes."""
    root = Path(path) if path is not None else Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "") if commit else None


def machine() -> dict[str, Any]:
    """Where the run ran: host, OS, CPU count, and the GPU when torch sees one."""
    info: dict[str, Any] = {
        "host": platform.node(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
    }
    torch = sys.modules.get("torch")  # only report a GPU when torch is in use anyway
    if torch is not None and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _newer(found: str, ours: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(found) > Version(ours)
    except InvalidVersion:
        return False


class RunFolder:
    """One run's folder. Create it with :meth:`create`, open an existing one with :meth:`open`.

    Attributes:
        path: The folder.
    """

    CONFIG = "config.yaml"
    MANIFEST = "manifest.json"
    METRICS = "metrics.csv"
    SUMMARY = "summary.json"
    PREDICTIONS = "predictions.jsonl"
    CURVES = "curves.png"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    # -- creation and opening -------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        config: Mapping[str, Any],
        *,
        force: bool = False,
        command: Sequence[str] | None = None,
    ) -> RunFolder:
        """A new run folder holding ``config`` and a manifest.

        Args:
            path: The folder; it must not exist or be empty, unless ``force``.
            config: The resolved configuration.
            force: Delete an existing run folder at ``path`` first. A non-empty folder that is
                not a run folder is never deleted.
            command: The command line, recorded in the manifest.

        Raises:
            RunFolderError: ``path`` exists and is not empty (without ``force``), or is not a
                run folder (with ``force``).
        """
        from textgym import __version__
        from textgym.bench.config import dump_yaml

        folder = cls.check_target(path, force=force)
        if folder.path.is_dir() and any(folder.path.iterdir()):
            shutil.rmtree(folder.path)  # check_target allowed it: force, and a run folder
        folder.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder.path / cls.CONFIG, dump_yaml(config))
        manifest = {
            "format_version": FORMAT_VERSION,
            "textgym_version": __version__,
            "versions": versions(),
            "seed": config.get("seed"),
            "env_id": config.get("env_id"),
            "algo": config.get("algo"),
            "git_commit": git_commit(),
            "machine": machine(),
            "command": list(command) if command is not None else sys.argv,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "status": "created",
        }
        atomic_write_json(folder.path / cls.MANIFEST, manifest)
        return folder

    @classmethod
    def check_target(cls, path: str | os.PathLike[str], *, force: bool = False) -> RunFolder:
        """Check that :meth:`create` may use ``path``, before any costly set-up.

        Raises:
            RunFolderError: As :meth:`create`.
        """
        folder = cls(path)
        if folder.path.exists() and not folder.path.is_dir():
            raise RunFolderError(f"--out {str(path)!r}: exists and is not a folder")
        if folder.path.is_dir() and any(folder.path.iterdir()):
            if not force:
                raise RunFolderError(
                    f"--out {str(path)!r}: the folder exists and is not empty; pass --resume "
                    f"{str(path)!r} to continue that run, or --force to delete it and start over"
                )
            if not (folder.path / cls.MANIFEST).is_file():
                raise RunFolderError(
                    f"--out {str(path)!r}: not a textgym run folder (no {cls.MANIFEST}); "
                    "refusing to delete it even with --force"
                )
        return folder

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, force: bool = False) -> RunFolder:
        """An existing run folder, checked to be readable by this textgym.

        Args:
            path: The folder.
            force: Accept a folder written by a newer textgym (at the user's risk).

        Raises:
            RunFolderError: Not a run folder, a malformed manifest, or a newer format.
        """
        from textgym import __version__

        folder = cls(path)
        if not folder.path.is_dir():
            raise RunFolderError(f"{str(path)!r}: no such run folder")
        manifest_path = folder.path / cls.MANIFEST
        if not manifest_path.is_file() or not (folder.path / cls.CONFIG).is_file():
            raise RunFolderError(
                f"{str(path)!r}: not a textgym run folder ({cls.MANIFEST} and {cls.CONFIG} "
                "are missing); `textgym train ... --out DIR` creates one"
            )
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise RunFolderError(f"{manifest_path}: not valid JSON ({exc})") from None
        written_by = str(manifest.get("textgym_version", "0"))
        fmt = manifest.get("format_version", 0)
        too_new = (isinstance(fmt, int) and fmt > FORMAT_VERSION) or _newer(written_by, __version__)
        if too_new and not force:
            raise RunFolderError(
                f"{str(path)!r} was written by textgym {written_by} (folder format {fmt}), newer "
                f"than this textgym {__version__} (format {FORMAT_VERSION}); upgrade textgym, or "
                "pass --force to try anyway"
            )
        return folder

    # -- reading --------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The resolved configuration of the run."""
        from textgym.bench.config import load_file

        return load_file(self.path / self.CONFIG)

    def manifest(self) -> dict[str, Any]:
        """The manifest."""
        return json.loads((self.path / self.MANIFEST).read_text(encoding="utf-8"))

    def metrics(self) -> list[dict[str, Any]]:
        """Rows of ``metrics.csv`` with numbers parsed (empty cells become ``None``)."""
        file = self.path / self.METRICS
        if not file.is_file():
            return []
        with file.open(encoding="utf-8", newline="") as handle:
            return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(handle)]

    def summary(self) -> dict[str, Any] | None:
        """The final metrics, or ``None`` if the run has not finished."""
        file = self.path / self.SUMMARY
        return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else None

    @property
    def checkpoints(self) -> Path:
        """The checkpoint folder (``latest`` and ``final`` live there)."""
        return self.path / "checkpoints"

    @property
    def events(self) -> Path:
        """The TensorBoard log folder."""
        return self.path / "events"

    # -- writing --------------------------------------------------------------------------
    def update_manifest(self, **fields: Any) -> None:
        """Set fields of the manifest (``status``, timings...)."""
        manifest = self.manifest()
        manifest.update(fields)
        atomic_write_json(self.path / self.MANIFEST, manifest)

    def write_metrics(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Replace ``metrics.csv`` with ``rows`` (columns: the union of keys, first-seen order)."""
        seen: list[str] = []
        for row in rows:
            seen.extend(key for key in row if key not in seen)
        # Counters first, then training statistics, then evaluation metrics.
        rank = {"train/": 1, "eval/": 2}
        columns = sorted(seen, key=lambda key: rank.get(key[: key.find("/") + 1], 0))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in columns})
        atomic_write_text(self.path / self.METRICS, buffer.getvalue())

    def write_summary(self, summary: Mapping[str, Any]) -> None:
        """Write ``summary.json``: the run is finished."""
        atomic_write_json(self.path / self.SUMMARY, dict(summary))


def _cell(value: Any) -> Any:
    # repr keeps every bit of a float, so equal files mean equal numbers.
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else value


def _number(text: str | None) -> Any:
    if text is None or text == "":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text
