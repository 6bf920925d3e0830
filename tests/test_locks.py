"""The lock files (requirements/*.lock): exact pins, consistent with pyproject.toml, and the
record every result carries of which lock the installed packages followed."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from textgym.bench import runs
from textgym.bench.runs import environment
from textgym.bench.suite import lock_markdown

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements"
# Each lock and the .in file it is resolved from (`make lock`).
LOCKS = {
    "dev.lock": "dev.in",
    "rllib.lock": "rllib.in",
    "tianshou.lock": "tianshou.in",
    "lowest.lock": "dev.in",
}
NOT_PINNED = {"torch", "textgym"}  # torch: TORCH_SPEC picks the build; textgym: the project


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def extras() -> dict[str, list[str]]:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)["project"]
    return {"": project["dependencies"], **project["optional-dependencies"]}


def direct_requirements(in_file: str) -> list[Requirement]:
    """What an .in file asks for, with textgym's extras expanded (``.[dev]`` ->
    its requirements, ``textgym[lm]`` inside an extra -> those of ``lm``)."""
    table = extras()
    found: list[Requirement] = []
    seen: set[str] = set()

    def expand(names: list[str]) -> None:
        for extra in ["", *names]:
            if extra in seen:
                continue
            seen.add(extra)
            for text in table[extra]:
                requirement = Requirement(text)
                if canonical(requirement.name) == "textgym":
                    expand(sorted(requirement.extras))
                else:
                    found.append(requirement)

    for line in (REQUIREMENTS / in_file).read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if text.startswith("."):
            expand(re.findall(r"[\w-]+", text[1:]))
        else:
            found.append(Requirement(text))
    return found


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_lock_pins_every_direct_requirement_within_its_declared_range(lock: str) -> None:
    pins = runs.read_lock(REQUIREMENTS / lock)
    assert len(pins) > 10
    assert not NOT_PINNED & set(pins), "torch and textgym are installed outside the lock"
    for requirement in direct_requirements(LOCKS[lock]):
        name = canonical(requirement.name)
        if name in NOT_PINNED:
            continue
        assert name in pins, f"{lock} lacks {name}: pyproject.toml changed, run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {name}=={pins[name]} outside {requirement}: run `make lock`"
        )


def minor(version: Version) -> tuple[int, int]:
    return (*version.release, 0)[:2]  # type: ignore[return-value]


def test_the_lowest_lock_holds_each_direct_requirement_at_a_declared_lower_bound() -> None:
    """Bounds are true: the lowest set installs a bound's own release (the newest patch of
    the bound's minor version at most), not a later one the resolver had to climb to."""
    pins = runs.read_lock(REQUIREMENTS / "lowest.lock")
    bounds: dict[str, Version] = {}
    for requirement in direct_requirements("dev.in"):
        for spec in requirement.specifier:
            if spec.operator == ">=":
                name = canonical(requirement.name)
                bounds[name] = max(bounds.get(name, Version("0")), Version(spec.version))
    bounds = {name: bound for name, bound in bounds.items() if name not in NOT_PINNED}
    climbed = {
        name: f"declared >={bound}, resolved {pins[name]}"
        for name, bound in bounds.items()
        if minor(Version(pins[name])) != minor(bound)
    }
    assert not climbed, f"raise these lower bounds to what is installed and tested: {climbed}"


def test_the_dev_venv_follows_a_lock_and_results_record_it() -> None:
    state = runs.lock_state()
    assert state is not None
    assert state["file"] in {f"requirements/{name}" for name in LOCKS}
    assert re.fullmatch(r"[0-9a-f]{64}", state["sha256"])
    assert state["differing"] == len(state["differences"]) or state["differing"] > 20
    produced = environment()
    assert produced["lock"] == state
    assert produced["machine"]["cpu"] and "host" not in produced["machine"]
    json.dumps(produced)  # recorded in results.json and summary.json as it is


def write_lock(folder: Path, name: str, pins: dict[str, str]) -> Path:
    (folder / "requirements").mkdir(exist_ok=True)
    path = folder / "requirements" / name
    lines = ["# made by a test", *(f"{k}=={v}\n    # via something" for k, v in pins.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_lock_state_names_the_packages_that_differ_and_prefers_the_closest_lock(
    tmp_path: Path,
) -> None:
    installed = runs.installed_versions()
    numpy, pytest_version = installed["numpy"], installed["pytest"]
    write_lock(tmp_path, "dev.lock", {"numpy": "0.0.1", "pytest": pytest_version})
    state = runs.lock_state(tmp_path)
    assert state is not None and not state["matches"]
    assert state["differing"] == 1
    assert state["differences"] == [f"numpy locked 0.0.1, installed {numpy}"]
    assert "1 installed packages differ" in lock_markdown(state)

    # A second lock that the installed packages follow exactly is reported instead.
    exact = write_lock(tmp_path, "rllib.lock", {"numpy": numpy, "pytest": pytest_version})
    state = runs.lock_state(tmp_path)
    assert state is not None and state["matches"] and state["file"] == "requirements/rllib.lock"
    import hashlib

    assert state["sha256"] == hashlib.sha256(exact.read_bytes()).hexdigest()
    assert lock_markdown(state).startswith("installed exactly as requirements/rllib.lock")

    # A package the lock pins but the environment lacks is a difference too; between locks
    # as close, the one pinning more packages is reported.
    write_lock(
        tmp_path, "rllib.lock",
        {"numpy": numpy, "pytest": pytest_version, "no-such-package-xyz": "1.0"},
    )  # fmt: skip
    state = runs.lock_state(tmp_path)
    assert state is not None and state["file"] == "requirements/rllib.lock"
    assert state["differences"] == ["no-such-package-xyz locked 1.0, installed nothing"]


def test_outside_a_checkout_there_is_no_lock(tmp_path: Path) -> None:
    assert runs.lock_state(tmp_path) is None
    assert lock_markdown(None) == "no lock file (not a checkout)"


def test_a_lock_line_that_is_not_an_exact_pin_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.lock"
    path.write_text("numpy==2.0\nscipy>=1.10\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2: expected name==version, got 'scipy>=1.10'"):
        runs.read_lock(path)


def test_installed_versions_agree_with_importlib_metadata() -> None:
    from importlib import metadata

    expected: dict[str, str] = {}
    for dist in metadata.distributions():
        expected.setdefault(canonical(dist.metadata["Name"]), dist.version)
    assert runs.installed_versions() == expected


def test_lock_state_is_kept_until_a_lock_or_an_installed_folder_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = runs.installed_versions()
    calls = []

    def counting() -> dict[str, str]:
        calls.append(1)
        return installed

    monkeypatch.setattr(runs, "installed_versions", counting)
    lock = write_lock(tmp_path, "dev.lock", {"numpy": installed["numpy"]})
    first = runs.lock_state(tmp_path)
    assert first is not None and first["matches"] and len(calls) == 1
    first["matches"] = "changed by a caller"  # each caller gets its own copy
    again = runs.lock_state(tmp_path)
    assert again is not None and again["matches"] is True and len(calls) == 1
    # A lock rewritten in place is read again.
    lock.write_text(f"numpy==0.0.1\n# {'x' * 40}\n", encoding="utf-8")
    changed = runs.lock_state(tmp_path)
    assert changed is not None and not changed["matches"] and len(calls) == 2
    # So is the environment once a folder on sys.path changes (a package installed).
    site = tmp_path / "site"
    site.mkdir()
    os.utime(site, ns=(0, 0))  # made long ago: a timestamp the next mkdir cannot repeat
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    runs.lock_state(tmp_path)
    assert len(calls) == 3
    (site / "newpkg-1.0.dist-info").mkdir()
    runs.lock_state(tmp_path)
    assert len(calls) == 4
