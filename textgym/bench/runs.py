"""Run folders: everything one training run leaves behind, written so a crash loses nothing.

Layout of a run folder::

    config.yaml          the resolved configuration (defaults + file + overrides)
    manifest.json        versions, seed, git commit, machine, command, status
    metrics.csv          one row per evaluation: step, env steps, training return, eval metrics
    events/              TensorBoard event files (when ``tensorboard`` is installed)
    checkpoints/         ``latest`` (to resume) and ``final`` training state
    predictions.jsonl    the final evaluation's outputs, one JSON object per sample
    curves.png           learning curves
    summary.json         the final metrics, written last: the run is finished once it exists
    .lock                while a process trains in the folder (see FolderLock)

Every file is replaced atomically (written to a temporary file, then renamed): an interrupted
run leaves the previous complete version, never a truncated one. ``metrics.csv`` holds only
values that depend on the seed, not on the clock, so two runs with one seed give identical files.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import datetime as dt
import hashlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from textgym._io import atomic_write_json, atomic_write_text, remove_stale_temporaries

#: Version of the folder layout; a folder with a higher number was written by a newer textgym.
FORMAT_VERSION = 1
_PACKAGES = (
    "textgym", "gymnasium", "numpy", "torch", "stable-baselines3", "sb3-contrib",
    "transformers", "peft", "ray",
)  # fmt: skip


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked (exists, missing, newer, incomplete, in use)."""


class FolderLock:
    """An exclusive lock on a run folder: one process at a time trains in it.

    The lock is an OS file lock (``flock``) on ``.lock`` inside the folder, so the kernel
    releases it when its process dies, ``kill -9`` included: a stale ``.lock`` file never
    blocks anyone. The file holds the holder's pid, for the error message of the next comer,
    and is removed on :meth:`release`.

    Attributes:
        file: The lock file.
    """

    NAME = ".lock"

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.file = Path(folder) / self.NAME
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        """Take the lock without waiting; the folder must exist.

        Raises:
            RunFolderError: Another process holds it (the message names its pid).
        """
        while True:
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                pid = _read_pid(fd)
                os.close(fd)
                raise RunFolderError(
                    f"{str(self.file.parent)!r} is in use by another process (pid {pid}); wait "
                    "for it to finish or stop it, then try again"
                )
            # A holder that released the lock meanwhile removed the file we opened: locking
            # that orphan would let a third process lock the new file too. Retry on it.
            try:
                current = os.stat(self.file).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
            if current:
                break
            _unlock(fd)
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock back and remove the file (nothing happens if it is not held)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # Removed while still locked: see the inode check in acquire. (Windows cannot remove
        # an open file: there the next holder reuses it.)
        with contextlib.suppress(OSError):
            self.file.unlink(missing_ok=True)
        _unlock(fd)
        os.close(fd)

    def holder(self) -> str | None:
        """The pid of the process holding the lock (``"unknown"`` if unreadable), or ``None``
        when nobody holds it. Does not take the lock (beyond an instant to test it)."""
        if self._fd is not None:
            return str(os.getpid())
        try:
            fd = os.open(self.file, os.O_RDWR)
        except FileNotFoundError:
            return None
        try:
            if _try_lock(fd):
                _unlock(fd)
                return None
            return _read_pid(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _try_lock(fd: int) -> bool:
    # A sys.platform test (not try/import) so that type checkers see which module applies.
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError: held elsewhere
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def _read_pid(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 64).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else "unknown"


def versions() -> dict[str, str | None]:
    """Installed versions of the packages a run depends on (``None`` when absent)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


# The lock files of a checkout (``make lock``): .venv follows dev.lock, the RLlib and Tianshou
# venvs their own, the lowest-bounds venv lowest.lock; lock_state reports the best match.
LOCK_FILES = ("dev.lock", "rllib.lock", "tianshou.lock", "lowest.lock")


def _canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``name==version`` pins of a requirements lock file (comments and markers ignored).

    Raises:
        ValueError: A requirement line that is not an exact ``==`` pin (a lock pins exactly).
    """
    pins: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        text = line.split("#", 1)[0].split(";", 1)[0].strip()
        if not text or text.startswith("-"):  # options such as --index-url
            continue
        name, sep, version = text.partition("==")
        if not sep or not version.strip():
            raise ValueError(f"{str(path)!r} line {number}: expected name==version, got {text!r}")
        pins[_canonical(name.split("[", 1)[0].strip())] = version.strip()
    return pins


def installed_versions() -> dict[str, str]:
    """Every installed distribution's version, by canonical name (the first on ``sys.path``
    wins, as for imports)."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            # A wheel-installed distribution's folder is named name-version.dist-info: read
            # from the name, as reading ~200 METADATA files through importlib takes a second.
            if name.endswith(".dist-info"):
                dist, _, version = name[: -len(".dist-info")].rpartition("-")
                if dist and version:
                    found.setdefault(_canonical(dist), version)
            elif name.endswith(".egg-info"):  # older layouts: ask importlib
                try:
                    meta = metadata.PathDistribution(Path(entry or ".") / name)
                    if meta.metadata["Name"]:
                        found.setdefault(_canonical(meta.metadata["Name"]), meta.version)
                except (OSError, ValueError):
                    continue
    return found


def lock_state(root: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """Which of the checkout's lock files the installed packages follow, and how closely.

    A lock's hash only says what produced a result if the environment matches it, so each lock
    file under ``root/requirements`` is compared with the installed versions and the one with
    the fewest differences is reported: its path, sha256, ``matches`` (every pin installed at
    its version), ``differing`` (how many do not) and the first 20 ``differences`` (``name
    locked X, installed Y``); between equals, the lock pinning more packages says more.
    ``None`` outside a checkout (an installed wheel has no lock; its versions are still
    recorded).
    """
    folder = (Path(root) if root is not None else Path(__file__).resolve().parents[2])
    folder = folder / "requirements"
    files = [folder / name for name in LOCK_FILES if (folder / name).is_file()]
    if not files:
        return None
    # A run asks twice (its manifest, then its summary) and a suite once per table; the answer
    # changes only if a lock file or an installed folder on sys.path does, so it is kept under
    # their stats (about 50 ms saved per call).
    key = (_stats(files), _stats(sys.path))
    cached = _LOCK_STATES.get(key)
    if cached is None:
        cached = _LOCK_STATES[key] = _lock_state(files)
        while len(_LOCK_STATES) > 8:
            del _LOCK_STATES[next(iter(_LOCK_STATES))]
    return copy.deepcopy(cached)


_LOCK_STATES: dict[tuple[Any, Any], dict[str, Any] | None] = {}


def _stats(paths: Sequence[str | os.PathLike[str]]) -> tuple[tuple[str, int, int], ...]:
    """Each path with its modification time and size (-1, -1 if it cannot be read)."""
    out = []
    for path in paths:
        try:
            stat = os.stat(path or ".")
            out.append((os.fspath(path), stat.st_mtime_ns, stat.st_size))
        except OSError:
            out.append((os.fspath(path), -1, -1))
    return tuple(out)


def _lock_state(files: Sequence[Path]) -> dict[str, Any] | None:
    installed = installed_versions()
    best: dict[str, Any] | None = None
    rank: tuple[int, int] | None = None
    for file in files:
        try:
            pins = read_lock(file)
        except (OSError, ValueError):
            continue
        differences = [
            f"{name} locked {version}, installed {installed.get(name, 'nothing')}"
            for name, version in sorted(pins.items())
            if not _same_version(installed.get(name), version)
        ]
        if rank is None or (len(differences), -len(pins)) < rank:
            rank = (len(differences), -len(pins))
            best = {
                "file": f"requirements/{file.name}",
                "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
                "matches": not differences,
                "differing": len(differences),
                "differences": differences[:20],
            }
    return best


def environment() -> dict[str, Any]:
    """What produced a results file: package versions, the machine (CPU model and vector ISA),
    textgym's commit and the lock the installed packages follow. A difference from a published
    table is then attributable."""
    info = machine()
    info.pop("host", None)  # not needed to reproduce, and not the reader's business
    return {
        "versions": versions(), "machine": info, "commit": git_commit(), "lock": lock_state(),
    }  # fmt: skip


def _same_version(installed: str | None, locked: str) -> bool:
    if installed is None:
        return False
    from packaging.version import InvalidVersion, Version

    try:
        return Version(installed) == Version(locked)
    except InvalidVersion:
        return installed == locked


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
    model, isa = cpu_model_and_isa()
    info: dict[str, Any] = {
        "host": platform.node(),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu": model,
        "isa": isa,
        "cpus": os.cpu_count(),
    }
    torch = sys.modules.get("torch")  # only report a GPU when torch is in use anyway
    if torch is not None and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


# The vector extensions that change which kernels BLAS and torch pick, hence the float results.
_ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile")


def cpu_model_and_isa() -> tuple[str, list[str]]:
    """The CPU's model name and which of :data:`_ISA_FLAGS` it has (Linux ``/proc/cpuinfo``;
    elsewhere ``platform.processor()`` and an empty list)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break  # the first processor's entry describes them all
    except OSError:
        pass
    return model, [flag for flag in _ISA_FLAGS if flag in flags]


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

        The caller should hold the folder's :meth:`lock` (taken on the folder before it has
        contents), so that no other process is using what ``force`` deletes.

        Raises:
            RunFolderError: ``path`` exists and is not empty (without ``force``), is not a
                run folder (with ``force``), or is in use by another process.
        """
        from textgym import __version__
        from textgym.bench.config import dump_yaml

        folder = cls.check_target(path, force=force)
        # check_target allowed it: force, and a run folder. The lock file stays: deleting it
        # would let another process lock a new one while the caller holds the old.
        for entry in _entries(folder.path):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
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
            "lock": lock_state(),
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
        if folder.path.is_dir() and _entries(folder.path):
            holder = FolderLock(folder.path).holder()
            if holder is not None and holder != str(os.getpid()):
                raise RunFolderError(
                    f"--out {str(path)!r} is in use by another process (pid {holder}); wait for "
                    "it to finish or stop it (--force never deletes a folder in use)"
                )
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
        """The resolved configuration of the run, checked as a ``--config`` file is (keys,
        types, ranges; not whether its device is present, which ``--device`` may change).

        Raises:
            ConfigError: ``config.yaml`` is not valid YAML or holds invalid values; the
                message names the file.
        """
        from textgym.bench.config import ConfigError, load_file, resolve

        file = self.path / self.CONFIG
        data = load_file(file, source=f"run config {str(file)!r}")
        try:
            return resolve(overrides=data, check_devices=False)
        except ConfigError as exc:
            raise ConfigError(f"run config {str(file)!r}: {exc}") from None

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

    def lock(self) -> FolderLock:
        """Take the folder's lock (see :class:`FolderLock`); release it when done, or use it
        as a context manager.

        Raises:
            RunFolderError: Another process holds it.
        """
        return FolderLock(self.path).acquire()

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete what killed atomic writes of the run's own files left behind (a partial
        ``checkpoints/.latest.pt.*.tmp``...). Call it only while holding :meth:`lock`; the
        temporaries of other files (``textgym eval``'s, which may be running) are kept.

        Returns:
            The removed files.
        """
        own = (self.CONFIG, self.MANIFEST, self.METRICS, self.SUMMARY, self.PREDICTIONS,
               self.CURVES)  # fmt: skip
        return [
            *remove_stale_temporaries(self.path, own),
            *remove_stale_temporaries(self.checkpoints, ("latest.pt", "final.pt")),
        ]

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


def _entries(path: Path) -> list[Path]:
    """What a folder holds besides its lock file (nothing if it does not exist)."""
    if not path.is_dir():
        return []
    return [entry for entry in path.iterdir() if entry.name != FolderLock.NAME]


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
