"""The reproduction check: a suite folder judged cell by cell against a published one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from textgym.bench.reproduce import compare_suites, format_suite_comparison
from textgym.bench.runs import RunFolderError
from textgym.cli import main

PUBLISHED = Path(__file__).parents[1] / "benchmarks" / "results" / "quick_suite"
CELL = ("TextTrans-Easy-v1", "ppo-lm")


def suite_copy(tmp_path: Path, name: str) -> Path:
    out = tmp_path / name
    out.mkdir()
    shutil.copy(PUBLISHED / "results.json", out / "results.json")  # as published: no runs
    return out


def edit_scores(folder: Path, change: Any) -> None:
    """Apply ``change(run)`` to every run of :data:`CELL` in ``folder``'s results.json."""
    file = folder / "results.json"
    data = json.loads(file.read_text())
    data["runs"] = [r for r in data["runs"] if change(r) is not False]
    file.write_text(json.dumps(data))


def verdicts(published: Path, new: Path) -> dict[tuple[str, str], str]:
    return {(c.env_id, c.algo): c.verdict for c in compare_suites(published, new).cells}


def test_the_published_suite_reproduces_itself_identically(tmp_path: Path) -> None:
    published, new = suite_copy(tmp_path, "a"), suite_copy(tmp_path, "b")
    comparison = compare_suites(published, new)
    assert comparison.ok and len(comparison.cells) == 9  # 3 envs x 3 algorithms, not "all"
    assert set(verdicts(published, new).values()) == {"identical"}
    assert "9 cells: 9 identical" in format_suite_comparison(comparison)


def test_the_comparison_names_how_the_set_ups_differ(tmp_path: Path) -> None:
    published, new = suite_copy(tmp_path, "a"), suite_copy(tmp_path, "b")
    assert compare_suites(published, new).setup_differences == ()
    file = new / "results.json"
    data = json.loads(file.read_text())
    env = data["environment"]
    env["machine"]["isa"] = [*env["machine"]["isa"], "avx512f"]
    env["versions"]["torch"] = "9.9.9"
    env["lock"]["matches"] = False
    file.write_text(json.dumps(data))
    comparison = compare_suites(published, new)
    lines = comparison.setup_differences
    assert len(lines) == 3
    assert lines[0].startswith("CPU: published AMD EPYC") and "avx512f" in lines[0]
    assert "avx512f" not in lines[0].split(", new")[0]
    published_torch = json.loads((published / "results.json").read_text())["environment"][
        "versions"]["torch"]
    assert lines[1] == f"torch: published {published_torch}, new 9.9.9"
    assert lines[2].startswith("install: published exactly as requirements/dev.lock")
    assert "new not exactly as" in lines[2]
    text = format_suite_comparison(comparison)
    assert "set-ups differ" in text and f"- {lines[1]}" in text
    assert comparison.to_dict()["setup_differences"] == list(lines)
    # Results without a recorded set-up (older suites) compare without the section.
    del data["environment"]
    file.write_text(json.dumps(data))
    assert compare_suites(published, new).setup_differences == ()


def test_noise_within_the_ci_a_shift_outside_it_and_a_lost_seed(tmp_path: Path) -> None:
    published = suite_copy(tmp_path, "a")
    summary = next(
        s for s in json.loads((published / "results.json").read_text())["summaries"]
        if (s["env_id"], s["algo"]) == CELL
    )
    low, high = summary["ci"]

    noisy = suite_copy(tmp_path, "noisy")  # one seed moved by a hair: inside the CI

    def nudge(run: dict[str, Any]) -> None:
        if (run["env_id"], run["algo"]) == CELL and run["seed"] == 0:
            run["score"] += 1e-9

    edit_scores(noisy, nudge)
    result = verdicts(published, noisy)
    assert result[CELL] == "within CI" and compare_suites(published, noisy).ok
    assert sum(v == "identical" for v in result.values()) == 8

    shifted = suite_copy(tmp_path, "shifted")  # every seed above the published CI

    def shift(run: dict[str, Any]) -> None:
        if (run["env_id"], run["algo"]) == CELL:
            run["score"] = high + 0.01

    edit_scores(shifted, shift)
    assert verdicts(published, shifted)[CELL] == "different"
    assert not compare_suites(published, shifted).ok
    assert high > low

    lost = suite_copy(tmp_path, "lost")
    edit_scores(lost, lambda r: not ((r["env_id"], r["algo"]) == CELL and r["seed"] == 2))
    cell = next(c for c in compare_suites(published, lost).cells if (c.env_id, c.algo) == CELL)
    assert cell.verdict == "missing" and cell.new_iqm is None


def test_cli_compare_of_two_suite_folders_sets_the_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    published, same = suite_copy(tmp_path, "a"), suite_copy(tmp_path, "b")
    assert main(["compare", str(published), str(same)]) == 0
    assert "reproduces" in capsys.readouterr().out
    edit_scores(same, lambda r: r.update(score=r["score"] + 0.3) if r["algo"] == "ppo" else None)
    assert main(["compare", str(published), str(same), "--json"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["ok"] is False and report["counts"]["different"] == 3
    assert "does not reproduce" in captured.err


def test_bench_compare_judges_the_suite_it_just_aggregated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from textgym.bench import suite as suite_module

    published, out = suite_copy(tmp_path, "a"), suite_copy(tmp_path, "out")

    class Report:
        path, table = out, "| table |"

    monkeypatch.setattr(suite_module, "run_suite", lambda *a, **k: Report())
    code = main(["bench", "--suite", "quick", "--out", str(out), "--compare", str(published)])
    assert code == 0 and "9 cells: 9 identical" in capsys.readouterr().out
    edit_scores(out, lambda r: r.update(score=-1.0) if r["algo"] == "maskable-ppo" else None)
    assert main(["bench", "--suite", "quick", "--out", str(out), "--compare", str(published)]) == 1


def test_run_folders_are_not_taken_for_suite_folders(tmp_path: Path) -> None:
    from textgym.bench.reproduce import is_suite_folder
    from textgym.bench.runs import RunFolder

    folder = suite_copy(tmp_path, "a")
    assert is_suite_folder(folder)
    (folder / RunFolder.MANIFEST).write_text("{}")
    assert not is_suite_folder(folder) and not is_suite_folder(tmp_path / "nothing")


def test_a_folder_without_results_is_named(tmp_path: Path) -> None:
    published = suite_copy(tmp_path, "a")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFolderError, match="new .*empty.*no results.json"):
        compare_suites(published, tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "results.json").write_text("{}")
    with pytest.raises(RunFolderError, match="not a textgym suite result"):
        compare_suites(published, tmp_path / "bad")
