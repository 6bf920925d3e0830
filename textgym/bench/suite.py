"""Benchmark suites: envs x algorithms x seeds into one folder, resumable, then aggregated.

Layout of a suite folder::

    suite.json                   the suite's definition (what a re-run must match)
    runs/<env>/<algo>/seed<S>/   one run folder each (see textgym.bench.runs)
    baselines.json               random, reference and degenerate-policy (floor) scores
    results.md                   the table (mean, IQM, 95% bootstrap CI; raw and normalised)
    results.json                 the same numbers, and every run's final metrics
    comparison.png               normalised IQM with 95% CIs per env and algorithm

Re-running the same command skips finished runs and resumes interrupted ones from their last
checkpoint, so an interrupted suite loses at most one evaluation interval per run in flight.
"""

from __future__ import annotations

import concurrent.futures as futures
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textgym._io import atomic_write_json, atomic_write_text
from textgym.bench.config import STEP_UNITS, resolve
from textgym.bench.runs import RunFolder, RunFolderError
from textgym.registration import EASY


@dataclass(frozen=True)
class Suite:
    """A benchmark suite.

    Attributes:
        name: ``quick`` or ``full``.
        env_ids: The envs.
        algos: The algorithms.
        seeds: The default seeds.
        overrides: Per-algorithm config overrides (budgets), applied to every env.
        common: Overrides applied to every run (the evaluation protocol).
    """

    name: str
    env_ids: tuple[str, ...]
    algos: tuple[str, ...]
    seeds: tuple[int, ...]
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    common: Mapping[str, Any] = field(default_factory=dict)

    def config(self, env_id: str, algo: str, seed: int) -> dict[str, Any]:
        """The resolved configuration of one run."""
        run = {**self.overrides.get(algo, {}), "env_id": env_id, "algo": algo, "seed": seed}
        return resolve(dict(self.common), run)  # common, then the algorithm's budget


_EVAL = {"episodes": 200, "split": "validation"}

SUITES: dict[str, Suite] = {
    # About 18 minutes on 2 CPU cores with --jobs 2: small budgets, the easy envs; SB3
    # with and without the action mask, and an LM policy (warm start, then PPO with KL).
    "quick": Suite(
        name="quick",
        env_ids=tuple(EASY),
        algos=("maskable-ppo", "ppo", "ppo-lm"),
        seeds=(0, 1, 2),
        overrides={
            "maskable-ppo": {"steps": 16_384, "eval": {"every": 4_096}},
            "ppo": {"steps": 16_384, "eval": {"every": 4_096}},
            "ppo-lm": {
                "steps": 40,
                "n_envs": 32,
                "eval": {"every": 10},
                "warm_start": {"steps": 300},
            },
        },
        common={"eval": _EVAL},
    ),
    # Hours on 2 CPU cores: every algorithm, the budgets of the README's learning tables.
    "full": Suite(
        name="full",
        env_ids=tuple(EASY),
        algos=("ppo", "a2c", "dqn", "maskable-ppo", "sup", "scst", "ppo-lm"),
        seeds=(0, 1, 2, 3, 4),
        overrides={
            algo: {"steps": 30_000, "eval": {"every": 5_000}}
            for algo in ("ppo", "a2c", "dqn", "maskable-ppo")
        },
        common={"eval": {"episodes": 500, "split": "validation"}},
    ),
}


@dataclass
class SuiteReport:
    """What :func:`run_suite` returns.

    Attributes:
        path: The suite folder.
        table: The markdown table (also in ``results.md``).
        runs: Final metrics of every run.
        baselines: ``env_id -> {"random": score, "reference": score, "floors": {...},
            "constant_text": str, "strongest_floor": {"policy": name, "score": score},
            "strongest_blind_floor": {...}}``.
        summaries: Per (env, algo) and over envs, as dicts.
    """

    path: Path
    table: str
    runs: list[dict[str, Any]]
    baselines: dict[str, dict[str, Any]]
    summaries: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "table": self.table,
            "runs": self.runs,
            "baselines": self.baselines,
            "summaries": self.summaries,
        }


def run_folder(out: Path, env_id: str, algo: str, seed: int) -> Path:
    """Where one run of a suite lives."""
    return out / "runs" / env_id / algo / f"seed{seed}"


def run_suite(
    name: str,
    out: str | os.PathLike[str],
    *,
    seeds: Sequence[int] | None = None,
    jobs: int = 1,
    force: bool = False,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> SuiteReport:
    """Run (or continue) a suite and aggregate it.

    Args:
        name: A key of :data:`SUITES`.
        out: The suite folder.
        seeds: Replace the suite's seeds.
        jobs: Runs in parallel, each in its own process with ``threads`` torch threads.
        force: Start every run over (and replace a folder holding another suite).
        progress: A progress bar over runs on stderr.
        log: Receives one line per finished run.

    Raises:
        RunFolderError: ``out`` holds a different suite (without ``force``).
    """
    suite = SUITES[name]
    seeds = tuple(seeds) if seeds is not None else suite.seeds
    out = Path(out)
    definition = {"suite": suite.name, "env_ids": list(suite.env_ids),
                  "algos": list(suite.algos), "seeds": list(seeds)}  # fmt: skip
    _claim(out, definition, force)
    say = log or (lambda line: None)

    plan = [(e, a, s) for e in suite.env_ids for a in suite.algos for s in seeds]
    configs = {key: suite.config(*key) for key in plan}  # validates every run before starting
    todo = []
    for key in plan:
        folder = RunFolder(run_folder(out, *key))
        if force or not (folder.path / RunFolder.SUMMARY).is_file():
            todo.append(key)
    say(
        f"suite {suite.name}: {len(plan)} runs ({len(plan) - len(todo)} already finished), "
        f"{jobs} at a time, in {out}"
    )
    # LM runs are the longest: starting them first packs the parallel jobs better.
    todo.sort(key=lambda key: key[1] not in ("scst", "ppo-lm", "sup"))
    started = time.perf_counter()
    bar = _bar(progress, len(plan), len(plan) - len(todo))
    done = len(plan) - len(todo)

    def finished(key: tuple[str, str, int], summary: Mapping[str, Any], seconds: float) -> None:
        nonlocal done
        done += 1
        bar.update(1)
        say(
            f"[{done}/{len(plan)}] {key[0]} {key[1]} seed {key[2]}: "
            f"eval/score {summary['eval/score']:.4f} ({seconds:.0f} s)"
        )

    if jobs <= 1:
        for key in todo:
            summary, seconds = _run_one(configs[key], str(run_folder(out, *key)), force)
            finished(key, summary, seconds)
    else:
        context = multiprocessing.get_context("spawn")  # no torch state forked into workers
        with futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            pending = {
                pool.submit(_run_one, configs[key], str(run_folder(out, *key)), force): key
                for key in todo
            }
            for future in futures.as_completed(pending):
                summary, seconds = future.result()
                finished(pending[future], summary, seconds)
    bar.close()
    if todo:
        say(f"runs took {time.perf_counter() - started:.0f} s")
    return aggregate(out, suite, seeds, configs)


def _claim(out: Path, definition: Mapping[str, Any], force: bool) -> None:
    """Write ``suite.json``, refusing a folder that holds a different suite."""
    file = out / "suite.json"
    if file.is_file():
        stored = json.loads(file.read_text(encoding="utf-8"))
        if stored != dict(definition) and not force:
            raise RunFolderError(
                f"--out {str(out)!r} holds another suite ({stored}); use another folder, the "
                "same suite and seeds to continue it, or --force to start over"
            )
    elif out.is_dir() and any(out.iterdir()):
        raise RunFolderError(
            f"--out {str(out)!r}: exists, is not empty and holds no suite.json; use another folder"
        )
    atomic_write_json(file, dict(definition))


def _run_one(config: dict[str, Any], path: str, force: bool) -> tuple[dict[str, Any], float]:
    """One run: fresh, resumed (a folder with a manifest) or restarted (``force``)."""
    from textgym.bench.train import train

    started = time.perf_counter()
    folder = Path(path)
    if not force and (folder / RunFolder.MANIFEST).is_file():
        result = train(None, folder, resume=True)
    else:
        result = train(config, folder, force=True)
    return result.summary, time.perf_counter() - started


def baseline_scores(env_id: str, split: str, episodes: int, seed: int = 0) -> dict[str, Any]:
    """Reference points on samples ``0..episodes-1`` of ``split``, the episodes every trained
    agent is evaluated on: the mean score of the uniform random policy and of the reference
    policy, and the degenerate policies of :mod:`textgym.bench.floors` (``floors``, with the
    searched ``constant_text`` and the ``strongest_floor``)."""
    from textgym.bench.floors import floor_scores
    from textgym.bench.rollout import POLICIES, rollout

    out: dict[str, Any] = {
        policy: rollout(env_id, policy, episodes, seed, {"split": split}, fixed_samples=True).mean
        for policy in POLICIES
    }
    report = floor_scores(env_id, samples=episodes, split=split, seed=seed)
    out["floors"] = {k: v for k, v in report.scores.items() if k != "reference"}
    out["constant_text"] = report.constant_text
    name, value = report.strongest
    out["strongest_floor"] = {"policy": name, "score": value}
    name, value = report.strongest_blind
    out["strongest_blind_floor"] = {"policy": name, "score": value}
    return out


def aggregate(
    out: Path, suite: Suite, seeds: Sequence[int], configs: Mapping[tuple, Mapping[str, Any]]
) -> SuiteReport:
    """Baselines, the per-(env, algo) and over-envs summaries, the table and the plot."""
    from textgym.bench.aggregate import (
        aggregate_over_envs,
        markdown_table,
        plot_comparison,
        summarize,
    )

    runs = []
    for env_id, algo, seed in configs:
        folder = RunFolder(run_folder(out, env_id, algo, seed))
        summary = folder.summary()
        if summary is None:
            raise RunFolderError(f"run {env_id} {algo} seed {seed} has not finished")
        metrics = {k: v for k, v in summary.items() if k.startswith("eval/")}
        start = folder.metrics()[0]["eval/score"]  # untrained, or warm-started for LM RL
        runs.append({
            "env_id": env_id, "algo": algo, "seed": seed, "score": summary["eval/score"],
            "start_score": start, "steps": summary["step"], "env_steps": summary["env_steps"],
            "metrics": metrics,
        })  # fmt: skip
    baselines_file = out / "baselines.json"
    baselines: dict[str, dict[str, Any]] = (
        json.loads(baselines_file.read_text(encoding="utf-8")) if baselines_file.is_file() else {}
    )
    for env_id in suite.env_ids:
        if "strongest_blind_floor" not in baselines.get(env_id, {}):  # absent, or older
            first = next(c for (e, _, _), c in configs.items() if e == env_id)
            baselines[env_id] = baseline_scores(
                env_id, first["eval"]["split"], first["eval"]["episodes"]
            )
    # Suite order, whether the scores were computed now or read back (sorted) from the file.
    baselines = {env_id: baselines[env_id] for env_id in suite.env_ids}
    atomic_write_json(baselines_file, baselines)
    pairs = {env: (b["random"], b["reference"]) for env, b in baselines.items()}
    per_env = summarize(runs, pairs)
    overall = aggregate_over_envs(per_env)
    table = markdown_table([*per_env, *overall])
    plot_comparison([*per_env, *overall], out / "comparison.png")
    floor_table = _floor_table(per_env, baselines)
    text = _results_markdown(
        suite, seeds, configs, table, baselines, _start_table(runs), floor_table
    )
    atomic_write_text(out / "results.md", text)
    summaries = [s.to_dict() for s in (*per_env, *overall)]
    atomic_write_json(out / "results.json", {
        "suite": suite.name, "seeds": list(seeds), "runs": runs, "baselines": baselines,
        "summaries": summaries, "definition": asdict(suite),
    })  # fmt: skip
    return SuiteReport(out, text, runs, baselines, summaries)


def _start_table(runs: Sequence[Mapping[str, Any]]) -> str:
    """Mean score at step 0 and at the end, and the mean change, per env and algorithm."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["env_id"], run["algo"]), []).append(run)
    lines = ["| env | algo | step 0 | final | change (per seed) |", "|---|---|---:|---:|---|"]
    for (env_id, algo), group in sorted(groups.items()):
        start = float(np.mean([r["start_score"] for r in group]))
        final = float(np.mean([r["score"] for r in group]))
        changes = ", ".join(f"{r['score'] - r['start_score']:+.3f}" for r in group)
        lines.append(f"| {env_id} | {algo} | {start:.3f} | {final:.3f} | {changes} |")
    return "\n".join(lines) + "\n"


def floor_verdict(iqm: float, ci_low: float, floor: float) -> str:
    """Whether an agent beats a floor: ``"yes"`` when its whole 95% CI lies above it,
    ``"IQM only"`` when its IQM does but the CI reaches the floor, else ``"no"``."""
    if ci_low > floor:
        return "yes"
    return "IQM only" if iqm > floor else "no"


def _floor_table(per_env: Sequence[Any], baselines: Mapping[str, Mapping[str, Any]]) -> str:
    """Per env, the degenerate policies' scores; per (env, algo), whether it beats the strongest."""
    from textgym.bench.floors import FLOOR_POLICIES

    lines = [
        "| env | " + " | ".join(FLOOR_POLICIES) + " | random | reference |",
        "|---|" + "---:|" * (len(FLOOR_POLICIES) + 2),
    ]
    for env, b in baselines.items():
        cells = " | ".join(f"{b['floors'][p]:.3f}" for p in FLOOR_POLICIES)
        lines.append(f"| {env} | {cells} | {b['random']:.3f} | {b['reference']:.3f} |")
    lines += [
        "",
        "| env | algo | IQM | 95% CI | strongest floor | beats it | strongest input-blind "
        "floor | beats it |",
        "|---|---|---:|---|---|---|---|---|",
    ]
    for s in per_env:
        cells = []
        for key in ("strongest_floor", "strongest_blind_floor"):
            floor = baselines[s.env_id][key]
            verdict = floor_verdict(s.iqm, s.ci.low, floor["score"])
            cells.append(f"{floor['policy']} {floor['score']:.3f} | {verdict}")
        lines.append(
            f"| {s.env_id} | {s.algo} | {s.iqm:.3f} | [{s.ci.low:.3f}, {s.ci.high:.3f}] "
            f"| {' | '.join(cells)} |"
        )
    return "\n".join(lines) + "\n"


def _results_markdown(
    suite: Suite,
    seeds: Sequence[int],
    configs: Mapping[tuple, Mapping[str, Any]],
    table: str,
    baselines: Mapping[str, Mapping[str, Any]],
    start_table: str,
    floor_table: str,
) -> str:
    budgets = []
    for algo in suite.algos:
        config = next(c for (_, a, _), c in configs.items() if a == algo)
        extra = ""
        if "warm_start" in config:
            extra = f" after {config['warm_start']['steps']} supervised warm-start steps"
        budgets.append(f"{algo}: {config['steps']} {STEP_UNITS[algo].split(' (')[0]}{extra}")
    first = next(iter(configs.values()))
    lines = [
        f"# textgym suite `{suite.name}`",
        "",
        f"Final validation score (mean over samples 0..{first['eval']['episodes'] - 1} of the "
        f"{first['eval']['split']} split, greedy/deterministic policy) for seeds "
        f"{', '.join(map(str, seeds))}. IQM: interquartile mean over seeds; CI: 95% percentile "
        "bootstrap of the IQM (stratified by env for `all`). Normalised: "
        "(score - random) / (reference - random), so the uniform random policy is 0 and the "
        "reference is 1.",
        "",
        "Budgets: " + "; ".join(budgets) + ".",
        "",
        table.rstrip(),
        "",
        "Where each run started (step 0: the untrained SB3 policy, or the LM policy after its "
        "supervised warm start) and where it ended, mean over seeds:",
        "",
        start_table.rstrip(),
        "",
        "Baselines on the same episodes: "
        + "; ".join(
            f"{env} random {b['random']:.3f}, reference {b['reference']:.3f}"
            for env, b in baselines.items()
        )
        + ".",
        "",
        "Floors: degenerate policies scored with the same reward on the same episodes (empty "
        "text; the best input-independent text, searched on the train split; the source copied "
        "whole and cut to the length limit; the reference shuffled; another sample's "
        "reference; the reference followed by junk). An agent beats a floor when its 95% CI "
        "lies above it. The input-blind floors need no knowledge of the answer (all but the "
        "shuffled reference and the reference with junk):",
        "",
        floor_table.rstrip(),
        "",
        f"Regenerate: `textgym bench --suite {suite.name} --out DIR"
        + (f" --seeds {','.join(map(str, seeds))}" if tuple(seeds) != suite.seeds else "")
        + " --jobs 2`.",
        "",
    ]
    return "\n".join(lines)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(enabled: bool, total: int, initial: int) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit=" runs", desc="suite")
