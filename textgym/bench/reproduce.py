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

    @property
    def ok(self) -> bool:
        return all(c.verdict in ("identical", "within CI") for c in self.cells)

    def counts(self) -> dict[str, int]:
        return {v: sum(c.verdict == v for c in self.cells) for v in VERDICTS}

    def to_dict(self) -> dict[str, Any]:
        return {
            "published": self.published, "new": self.new, "ok": self.ok,
            "counts": self.counts(),
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
    return {"runs": runs, "summaries": summaries}


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
    return SuiteComparison(str(published), str(new), tuple(cells))


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
    lines.append("reproduces" if comparison.ok else "does NOT reproduce")
    return "\n".join(lines)
