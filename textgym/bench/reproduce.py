"""Does a suite reproduce a published one? Cell by cell: identical, within noise, or not.

``textgym compare PUBLISHED NEW`` (two suite folders) or ``textgym bench ... --compare
PUBLISHED`` reads both folders' ``results.json`` and judges each (env, algorithm) cell of the
published suite:

* ``identical``: every seed's final score is the same float (same versions, same CPU kind);
* ``within CI``: not identical, but the new IQM lies inside the published 95% bootstrap CI of
  the IQM (float noise, another BLAS, another dependency release);
* ``different``: the new IQM lies outside it;
* ``missing``: the new suite has no such cell (or not the same seeds).

The exit status is 0 when no cell is ``different`` or ``missing``, else 1.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textgym.bench.runs import RunFolderError

VERDICTS = ("identical", "within CI", "different", "missing")


@dataclass(frozen=True)
class CellVerdict:
    """One (env, algo) cell: the published and new IQMs, the published CI and the verdict."""

    env_id: str
    algo: str
    verdict: str
    published_iqm: float
    published_ci: tuple[float, float]
    new_iqm: float | None
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class SuiteComparison:
    """Every published cell's verdict; ``ok`` when none is ``different`` or ``missing``."""

    published: str
    new: str
    cells: tuple[CellVerdict, ...]
    #: How the two suites' recorded set-ups differ (CPU kind, library versions, lock file),
    #: one line each; empty when they agree or either suite recorded none.
    setup_differences: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(c.verdict in ("identical", "within CI") for c in self.cells)

    def counts(self) -> dict[str, int]:
        return {v: sum(c.verdict == v for c in self.cells) for v in VERDICTS}

    def to_dict(self) -> dict[str, Any]:
        return {
            "published": self.published, "new": self.new, "ok": self.ok,
            "counts": self.counts(), "setup_differences": list(self.setup_differences),
            "cells": [
                {"env_id": c.env_id, "algo": c.algo, "verdict": c.verdict,
                 "published_iqm": c.published_iqm, "published_ci": list(c.published_ci),
                 "new_iqm": c.new_iqm, "seeds": list(c.seeds)}
                for c in self.cells
            ],
        }  # fmt: skip


def is_suite_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an aggregated suite folder: a ``results.json`` and no run manifest
    (a published copy such as ``benchmarks/results/quick_suite`` keeps only the results)."""
    from textgym.bench.runs import RunFolder

    folder = Path(path)
    return (folder / "results.json").is_file() and not (folder / RunFolder.MANIFEST).is_file()


def _results(path: str | os.PathLike[str], role: str) -> dict[str, Any]:
    file = Path(path) / "results.json"
    if not file.is_file():
        raise RunFolderError(
            f"{role} {str(path)!r}: no results.json; expected a suite folder that `textgym "
            "bench` has aggregated"
        )
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        runs, summaries = data["runs"], data["summaries"]
    except (ValueError, KeyError, TypeError) as exc:
        raise RunFolderError(f"{role} {str(file)!r}: not a textgym suite result ({exc})") from None
    environment = data.get("environment")
    return {
        "runs": runs, "summaries": summaries,
        "environment": environment if isinstance(environment, dict) else {},
    }  # fmt: skip


def setup_differences(published: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    """How two suites' recorded ``environment`` entries differ, one line per aspect: the CPU
    (model, count and instruction sets, which decide float kernels), each library version,
    and whether each was installed exactly as the same lock file. Empty when either suite
    recorded none (older results)."""
    if not published or not new:
        return ()
    lines = []
    old_machine, new_machine = published.get("machine") or {}, new.get("machine") or {}

    def cpu(machine: dict[str, Any]) -> str:
        isa = ", ".join(machine.get("isa") or []) or "no instruction sets recorded"
        return f"{machine.get('cpu', '?')} ({machine.get('cpus', '?')} cores; {isa})"

    if cpu(old_machine) != cpu(new_machine):
        lines.append(f"CPU: published {cpu(old_machine)}, new {cpu(new_machine)}")
    old_versions, new_versions = published.get("versions") or {}, new.get("versions") or {}
    for name in sorted(set(old_versions) | set(new_versions)):
        before, after = old_versions.get(name, "-"), new_versions.get(name, "-")
        if before != after:
            lines.append(f"{name}: published {before}, new {after}")

    def lock(env: dict[str, Any]) -> str:
        info = env.get("lock") or {}
        if not info:
            return "no lock recorded"
        state = "exactly as" if info.get("matches") else "not exactly as"
        return f"{state} {info.get('file', '?')} (sha256 {str(info.get('sha256', '?'))[:12]})"

    if lock(published) != lock(new):
        lines.append(f"install: published {lock(published)}, new {lock(new)}")
    return tuple(lines)


def compare_suites(
    published: str | os.PathLike[str], new: str | os.PathLike[str]
) -> SuiteComparison:
    """Judge every per-env (env, algo) cell of ``published`` against ``new``.

    Raises:
        RunFolderError: Either folder has no readable ``results.json``.
    """
    from textgym.bench.aggregate import interquartile_mean

    old, now = _results(published, "published"), _results(new, "new")
    scores: dict[tuple[str, str], dict[int, float]] = {}
    for run in now["runs"]:
        scores.setdefault((run["env_id"], run["algo"]), {})[int(run["seed"])] = run["score"]
    published_scores: dict[tuple[str, str], dict[int, float]] = {}
    for run in old["runs"]:
        cell = published_scores.setdefault((run["env_id"], run["algo"]), {})
        cell[int(run["seed"])] = run["score"]
    cells = []
    for summary in old["summaries"]:
        key = (summary["env_id"], summary["algo"])
        if key not in published_scores:  # "all": aggregated over envs, judged through them
            continue
        mine, theirs = scores.get(key, {}), published_scores[key]
        low, high = (float(x) for x in summary["ci"])
        seeds = tuple(sorted(theirs))
        if set(mine) != set(theirs):
            verdict, iqm = "missing", None
        else:
            iqm = interquartile_mean([mine[s] for s in seeds])
            if all(mine[s] == theirs[s] for s in seeds):
                verdict = "identical"
            elif low <= iqm <= high:
                verdict = "within CI"
            else:
                verdict = "different"
        cells.append(
            CellVerdict(key[0], key[1], verdict, float(summary["iqm"]), (low, high), iqm, seeds)
        )
    return SuiteComparison(
        str(published), str(new), tuple(cells),
        setup_differences(old["environment"], now["environment"]),
    )  # fmt: skip


def format_suite_comparison(comparison: SuiteComparison) -> str:
    """A markdown table of the verdicts and a one-line count."""
    lines = [
        f"published: {comparison.published}",
        f"new:       {comparison.new}",
        "",
        "| env | algo | published IQM [95% CI] | new IQM | verdict |",
        "|---|---|---|---:|---|",
    ]
    for c in comparison.cells:
        new = "-" if c.new_iqm is None else f"{c.new_iqm:.4f}"
        lines.append(
            f"| {c.env_id} | {c.algo} | {c.published_iqm:.4f} [{c.published_ci[0]:.4f}, "
            f"{c.published_ci[1]:.4f}] | {new} | {c.verdict} |"
        )
    counts = ", ".join(f"{n} {v}" for v, n in comparison.counts().items() if n)
    lines += ["", f"{len(comparison.cells)} cells: {counts}"]
    if comparison.setup_differences:
        # Why cells may not be identical: floats are only the same on the same CPU kind and
        # versions (see the reproducibility guide's "Reproduction check").
        lines += ["", "set-ups differ (identical floats need the same CPU kind and versions):"]
        lines += [f"- {line}" for line in comparison.setup_differences]
        lines.append("")
    lines.append("reproduces" if comparison.ok else "does NOT reproduce")
    return "\n".join(lines)
