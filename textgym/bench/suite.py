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
from textgym.bench.runs import RunFolder, RunFolderError, environment
from textgym.registration import EASY


@dataclass(frozen=True)
class Suite:
    """A benchmark suite.

    Attributes:
        name: ``quick``, ``full``, or a suite file's ``name`` (default: the file's stem).
        env_ids: The envs.
        algos: The algorithms.
        seeds: The default seeds.
        overrides: Per-algorithm config overrides (budgets), applied to every env.
        common: Overrides applied to every run (the evaluation protocol).
        source: The file a suite was read from (:func:`load_suite`), else ``None``.
    """

    name: str
    env_ids: tuple[str, ...]
    algos: tuple[str, ...]
    seeds: tuple[int, ...]
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    common: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None  # the suite file, for a suite read by load_suite

    def definition(self, seeds: Sequence[int]) -> dict[str, Any]:
        """What ``suite.json`` records: a re-run into the same folder must match it."""
        out: dict[str, Any] = {"suite": self.name, "env_ids": list(self.env_ids),
                               "algos": list(self.algos), "seeds": list(seeds)}  # fmt: skip
        if self.source is not None:  # a file can change between runs: its budgets count too
            out["overrides"] = json.loads(json.dumps(self.overrides))
            out["common"] = json.loads(json.dumps(self.common))
        return out

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


_FILE_KEYS = ("name", "envs", "algos", "seeds", "common")


def load_suite(spec: str | os.PathLike[str]) -> Suite:
    """A built-in suite by name, or a suite file (YAML or JSON) of this shape::

        envs: [TextTrans-Easy-v0, TextSumm-Easy-v0]
        algos:                      # a list of names, or per algorithm its run settings
          ppo: {steps: 2048}
          maskable-ppo: {steps: 2048, overrides: {hparams.learning_rate: 3.0e-4}}
        seeds: [0, 1, 2]
        name: my-suite              # optional (default: the file's stem)
        common: {eval.episodes: 100} # optional: settings of every run

    An algorithm's settings are run-configuration keys (``steps``, ``eval``, ...), nested or
    dotted, plus ``overrides``: dotted keys as on the ``train`` command line.

    Args:
        spec: ``quick``, ``full``, or the path of a suite file.

    Returns:
        The suite. Every run's configuration is validated when the suite is run.

    Raises:
        ConfigError: Not a suite name nor a readable file, or a file of another shape (the
            message names the key).
    """
    from textgym.bench.config import ConfigError, load_file

    text = os.fspath(spec)
    if text in SUITES:
        return SUITES[text]
    path = Path(text).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"--suite: expected {', '.join(SUITES)} or a suite file (.yaml, .yml, .json), "
            f"got {text!r}, which is neither"
        )
    where = f"suite file {str(path)!r}"
    raw = load_file(path, source=where)
    unknown = sorted(set(raw) - set(_FILE_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; expected some of {_FILE_KEYS}")
    for key in ("envs", "algos", "seeds"):
        if key not in raw:
            raise ConfigError(f"{where}: missing {key!r} (a suite needs envs, algos and seeds)")
    envs, seeds, algos = raw["envs"], raw["seeds"], raw["algos"]
    if not isinstance(envs, list) or not envs or not all(isinstance(e, str) for e in envs):
        raise ConfigError(f"{where}: envs: expected a non-empty list of env ids, got {envs!r}")
    if (
        not isinstance(seeds, list) or not seeds
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in seeds)
    ):  # fmt: skip
        raise ConfigError(f"{where}: seeds: expected a non-empty list of integers, got {seeds!r}")
    if isinstance(algos, list):
        algos = {name: None for name in algos}
    if not isinstance(algos, dict) or not algos:
        raise ConfigError(
            f"{where}: algos: expected a list of algorithm names or a mapping of each to its "
            f"settings, got {algos!r}"
        )
    overrides: dict[str, dict[str, Any]] = {}
    for algo, settings in algos.items():
        overrides[str(algo)] = _algo_settings(settings, f"{where}: algos.{algo}")
    common = _nested(raw.get("common") or {}, f"{where}: common")
    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: name: expected a non-empty string, got {name!r}")
    return Suite(
        name=name, env_ids=tuple(envs), algos=tuple(overrides), seeds=tuple(seeds),
        overrides=overrides, common=common, source=str(path),
    )  # fmt: skip


def _algo_settings(settings: Any, where: str) -> dict[str, Any]:
    from textgym.bench.config import ConfigError

    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise ConfigError(f"{where}: expected a mapping of run settings, got {settings!r}")
    settings = dict(settings)
    extra = settings.pop("overrides", None) or {}
    if not isinstance(extra, dict):
        raise ConfigError(f"{where}.overrides: expected a mapping of dotted keys, got {extra!r}")
    return _merge(_nested(settings, where), _nested(extra, f"{where}.overrides"))


def _nested(flat: Any, where: str) -> dict[str, Any]:
    """``{"hparams.learning_rate": 3e-4, "eval": {"every": 64}}`` -> nested mappings."""
    from textgym.bench.config import ConfigError

    if not isinstance(flat, dict):
        raise ConfigError(f"{where}: expected a mapping, got {flat!r}")
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = str(key).split(".")
        if not all(part.isidentifier() for part in parts):
            raise ConfigError(f"{where}: {key!r} is not a (dotted) configuration key")
        if isinstance(value, dict):
            value = _nested(value, f"{where}.{key}")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{where}: {key!r}: {part!r} was already given a value")
        node[parts[-1]] = _merge(node[parts[-1]], value) if parts[-1] in node else value
    return out


def _merge(base: Any, top: Any) -> Any:
    if isinstance(base, dict) and isinstance(top, dict):
        return {**base, **{k: _merge(base[k], v) if k in base else v for k, v in top.items()}}
    return top


class SuiteRunsFailed(RuntimeError):
    """Some runs of a suite raised (or their worker died for good); the others finished.

    Attributes:
        failures: ``(env_id, algo, seed, message, log path)`` per failed run; each run folder
            keeps the traceback in ``error.log``. Running the suite again retries these only.
    """

    def __init__(self, failures: Sequence[tuple[str, str, int, str, Path]]) -> None:
        self.failures = list(failures)
        lines = [f"{len(self.failures)} run(s) failed (the others finished):"]
        for env_id, algo, seed, message, log in self.failures:
            lines.append(f"  {env_id} {algo} seed {seed}: {message} (log: {log})")
        lines.append("run the same command again to retry only these")
        super().__init__("\n".join(lines))


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


BACKENDS = ("local", "ray")


def run_suite(
    name: str | os.PathLike[str] | Suite,
    out: str | os.PathLike[str],
    *,
    seeds: Sequence[int] | None = None,
    jobs: int = 1,
    force: bool = False,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    backend: str = "local",
    address: str | None = None,
) -> SuiteReport:
    """Run (or continue) a suite and aggregate it.

    A run that raises does not stop the others: its traceback goes to its folder's
    ``error.log``, and once every other run is done :class:`SuiteRunsFailed` lists the
    failures (running the suite again retries only those, resuming from their checkpoints).

    Args:
        name: A key of :data:`SUITES`, a suite file (:func:`load_suite`) or a :class:`Suite`.
        out: The suite folder. With ``backend="ray"`` on several machines it must be on
            storage every node sees at the same path (workers write their run folders).
        seeds: Replace the suite's seeds.
        jobs: Local backend: runs in parallel, each in its own process with ``threads`` torch
            threads. Ray backend: ignored (the cluster's free CPUs decide).
        force: Start every run over (and replace a folder holding another suite).
        progress: A progress bar over runs on stderr.
        log: Receives one line per finished run.
        backend: ``local`` (this machine's processes) or ``ray`` (one Ray task per run,
            needing the run's ``threads`` CPUs and a GPU for ``model.device=cuda``; a task
            whose worker dies is retried from the run's last checkpoint).
        address: Ray backend: the cluster (``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``);
            ``None`` starts a Ray instance on this machine for the suite.

    Raises:
        RunFolderError: ``out`` holds a different suite (without ``force``).
        ConfigError: An unknown suite, backend or run setting.
        SuiteRunsFailed: Some runs failed; the others finished.
        ImportError: ``backend="ray"`` without Ray installed (names the extra).
        ConnectionError: ``address`` does not answer.
    """
    from textgym.bench.config import ConfigError

    if backend not in BACKENDS:
        raise ConfigError(f"--backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    if address is not None and backend != "ray":
        raise ConfigError("--address: only with --backend ray")
    suite = name if isinstance(name, Suite) else load_suite(name)
    seeds = tuple(seeds) if seeds is not None else suite.seeds
    out = Path(out).absolute()
    plan = [(e, a, s) for e in suite.env_ids for a in suite.algos for s in seeds]
    configs = {key: suite.config(*key) for key in plan}  # validates every run before starting
    # The cluster is reached before anything is written: a wrong address leaves no folder.
    cluster = _RayCluster(address) if backend == "ray" else None
    try:
        _claim(out, suite.definition(seeds), force)
        say = log or (lambda line: None)
        todo = []
        for key in plan:
            folder = RunFolder(run_folder(out, *key))
            if force or not (folder.path / RunFolder.SUMMARY).is_file():
                todo.append(key)
        where = f"on Ray ({cluster.describe()})" if cluster else f"{jobs} at a time"
        say(
            f"suite {suite.name}: {len(plan)} runs ({len(plan) - len(todo)} already finished), "
            f"{where}, in {out}"
        )
        # LM runs are the longest: starting them first packs the parallel jobs better.
        todo.sort(key=lambda key: key[1] not in ("scst", "ppo-lm", "sup"))
        started = time.perf_counter()
        bar = _bar(progress, len(plan), len(plan) - len(todo))
        done = len(plan) - len(todo)
        failures: list[tuple[str, str, int, str, Path]] = []

        def finished(key: tuple[str, str, int], outcome: _Outcome) -> None:
            nonlocal done
            done += 1
            bar.update(1)
            if outcome.error is not None:
                log_file = run_folder(out, *key) / ERROR_LOG
                failures.append((*key, outcome.error, log_file))
                say(f"[{done}/{len(plan)}] {key[0]} {key[1]} seed {key[2]}: FAILED: "
                    f"{outcome.error} (log: {log_file})")  # fmt: skip
                return
            assert outcome.summary is not None
            say(
                f"[{done}/{len(plan)}] {key[0]} {key[1]} seed {key[2]}: "
                f"eval/score {outcome.summary['eval/score']:.4f} ({outcome.seconds:.0f} s)"
            )

        paths = {key: str(run_folder(out, *key)) for key in todo}
        if cluster is not None:
            cluster.run(todo, configs, paths, force, finished)
        elif jobs <= 1:
            for key in todo:
                finished(key, _attempt(configs[key], paths[key], force))
        else:
            context = multiprocessing.get_context("spawn")  # no torch state forked into workers
            with futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
                pending = {
                    pool.submit(_attempt, configs[key], paths[key], force): key for key in todo
                }
                for future in futures.as_completed(pending):
                    try:
                        outcome = future.result()
                    except futures.process.BrokenProcessPool as exc:  # a worker was killed
                        outcome = _Outcome(None, 0.0, f"its worker process died ({exc})")
                    finished(pending[future], outcome)
        bar.close()
    finally:
        if cluster is not None:
            cluster.close()
    if todo:
        say(f"runs took {time.perf_counter() - started:.0f} s")
    if failures:
        raise SuiteRunsFailed(failures)
    return aggregate(out, suite, seeds, configs)


ERROR_LOG = "error.log"  # in a run folder: the traceback of its last failed attempt


@dataclass(frozen=True)
class _Outcome:
    summary: dict[str, Any] | None
    seconds: float
    error: str | None = None


def _attempt(config: dict[str, Any], path: str, force: bool) -> _Outcome:
    """:func:`_run_one`, with an exception turned into a failed outcome and ``error.log``."""
    import traceback

    started = time.perf_counter()
    try:
        summary, seconds = _run_one(config, path, force)
    except Exception as exc:  # a run's failure must not stop the suite
        message = _record_failure(path, exc, traceback.format_exc())
        return _Outcome(None, time.perf_counter() - started, message)
    (Path(path) / ERROR_LOG).unlink(missing_ok=True)  # the retry worked: no stale failure
    return _Outcome(summary, seconds)


def _record_failure(path: str, exc: BaseException, log: str) -> str:
    """Write ``log`` to the run folder's ``error.log``; return the one-line message."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / ERROR_LOG, log)
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


class _RayCluster:
    """The Ray side of :func:`run_suite`: connect (or start a local instance), one task per
    run, and hand each outcome back as it arrives."""

    # A worker that dies (killed, out of memory, node lost) is retried this many times; each
    # retry resumes from the run's last checkpoint. Exceptions are not retried (_attempt
    # reports them): the same config would raise again.
    RETRIES = 3

    def __init__(self, address: str | None) -> None:
        from textgym._optional import require

        self.ray = require("ray", "--backend ray")
        if address not in (None, "auto", "local") and not address.startswith("ray://"):
            _check_reachable(address)
        self.started_here = not self.ray.is_initialized()
        if self.started_here:
            try:
                self.ray.init(
                    address=address, include_dashboard=False, log_to_driver=False,
                    logging_level="ERROR", configure_logging=True,
                )  # fmt: skip
            except ConnectionError as exc:
                raise ConnectionError(
                    f"--address {address!r}: no Ray cluster answers there ({exc}); start one "
                    "with `ray start --head` (then `ray start --address=HEAD:6379` on each "
                    "other machine), or leave --address out to run on this machine"
                ) from None

    def describe(self) -> str:
        cpus = self.ray.cluster_resources().get("CPU", 0)
        nodes = len([n for n in self.ray.nodes() if n.get("Alive")])
        return f"{nodes} node(s), {cpus:.0f} CPUs"

    def run(
        self,
        todo: Sequence[tuple[str, str, int]],
        configs: Mapping[tuple[str, str, int], dict[str, Any]],
        paths: Mapping[tuple[str, str, int], str],
        force: bool,
        finished: Callable[[tuple[str, str, int], _Outcome], None],
    ) -> None:
        ray = self.ray
        if force:
            # Done here, not in the task: a retried task must resume, not start over again.
            for key in todo:
                _clear_run_folder(Path(paths[key]))
        task = ray.remote(_attempt)
        pending = {}
        for key in todo:
            cpus, gpus = resources(configs[key])
            ref = task.options(
                num_cpus=cpus, num_gpus=gpus, max_retries=self.RETRIES, retry_exceptions=False,
                name=f"textgym:{key[0]}/{key[1]}/seed{key[2]}",
            ).remote(configs[key], paths[key], False)  # fmt: skip
            pending[ref] = key
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                key = pending.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as exc:  # its worker died RETRIES + 1 times
                    outcome = _Outcome(None, 0.0, _record_failure(paths[key], exc, str(exc)))
                finished(key, outcome)

    def close(self) -> None:
        if self.started_here and self.ray.is_initialized():
            self.ray.shutdown()


def resources(config: Mapping[str, Any]) -> tuple[int, int]:
    """What a run asks a Ray cluster for: ``(CPUs, GPUs)`` = its torch threads, and one GPU
    when its model runs on CUDA."""
    device = str((config.get("model") or {}).get("device", "cpu"))
    return int(config["threads"]), int(device.startswith("cuda"))


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail within ``timeout`` seconds on a ``HOST:PORT`` nothing listens on (Ray itself
    keeps retrying for about a minute)."""
    import socket

    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ConnectionError(
            f"--address {address!r}: expected auto, HOST:PORT or ray://HOST:PORT"
        )
    try:
        socket.create_connection((host or "localhost", int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(
            f"--address {address!r}: nothing answers there within {timeout:.0f} s ({exc}); "
            "start a head with `ray start --head` and pass the address it prints"
        ) from None


def _clear_run_folder(path: Path) -> None:
    """Empty a run folder for ``--force`` on the Ray backend (refused while a process trains
    in it, as :meth:`RunFolder.check_target` refuses)."""
    import shutil

    if not path.exists():
        return
    RunFolder.check_target(path, force=True)
    shutil.rmtree(path)


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
        if folder.is_dir() and [p.name for p in folder.iterdir()] == [ERROR_LOG]:
            # Left by an attempt that failed before the run folder was made: not user data.
            (folder / ERROR_LOG).unlink()
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
    signatures = _suite_signatures(out, suite, configs)
    text = text.replace("\nRegenerate:", _signatures_markdown(signatures) + "\nRegenerate:", 1)
    produced = environment()
    text = text.replace("\nRegenerate:", _environment_markdown(produced) + "\nRegenerate:", 1)
    atomic_write_text(out / "results.md", text)
    summaries = [s.to_dict() for s in (*per_env, *overall)]
    atomic_write_json(out / "results.json", {
        "suite": suite.name, "seeds": list(seeds), "runs": runs, "baselines": baselines,
        "summaries": summaries, "definition": asdict(suite), "signatures": signatures,
        "environment": produced,
    })  # fmt: skip
    return SuiteReport(out, text, runs, baselines, summaries)


def _suite_signatures(
    out: Path, suite: Suite, configs: Mapping[tuple, Mapping[str, Any]]
) -> dict[str, dict[str, str]]:
    """Per env, ``eval/<metric>`` -> signature, from its first run (the envs' settings and
    evaluation samples are the same for every algorithm and seed)."""
    from textgym.bench.compare import read_predictions, reward_name, run_signatures

    signatures: dict[str, dict[str, str]] = {}
    for env_id in suite.env_ids:
        key, config = next((k, c) for k, c in configs.items() if k[0] == env_id)
        folder = RunFolder(run_folder(out, *key))
        stored = (folder.summary() or {}).get("signatures")
        if stored is None:  # a run finished by an older textgym: sign its predictions now
            rows = read_predictions(folder.path / RunFolder.PREDICTIONS)
            stored = run_signatures(rows, reward_name(env_id, config["env"]))
        signatures[env_id] = dict(stored)
    return signatures


def _signatures_markdown(signatures: Mapping[str, Mapping[str, str]]) -> str:
    lines = [
        "Metric signatures (the score is the env's reward; eval/bleu is sacrebleu's sentence "
        "BLEU, every per-sample metric is averaged over the samples and BLEU and chrF divided "
        "by 100):",
        "",
    ]
    for env_id, table in signatures.items():
        for key, text in table.items():
            lines.append(f"- {env_id} `{key}`: `{text}`")
    return "\n".join(lines) + "\n"


def _environment_markdown(produced: Mapping[str, Any]) -> str:
    versions = produced["versions"]
    names = ("textgym", "python", "numpy", "torch", "gymnasium", "stable-baselines3",
             "transformers")  # fmt: skip
    listed = ", ".join(f"{n} {versions[n]}" for n in names if versions.get(n))
    cpu = produced["machine"]
    isa = ", ".join(cpu.get("isa") or []) or "none detected"
    return (
        f"\nProduced with {listed}; CPU {cpu.get('cpu')} ({cpu.get('cpus')} cores; {isa}); "
        f"commit {produced.get('commit') or 'unknown'}; {lock_markdown(produced.get('lock'))}. "
        "Identical files need the same versions and CPU kind; `textgym compare PUBLISHED NEW` "
        "says which cells agree.\n"
    )


def lock_markdown(lock: Mapping[str, Any] | None) -> str:
    """One phrase on the lock file the installed packages followed (:func:`runs.lock_state`)."""
    if not lock:
        return "no lock file (not a checkout)"
    short = str(lock["sha256"])[:12]
    if lock["matches"]:
        return f"installed exactly as {lock['file']} (sha256 {short})"
    return (
        f"closest lock {lock['file']} (sha256 {short}), {lock['differing']} installed packages "
        "differ from it"
    )


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
        verdicts = []
        for key in ("strongest_floor", "strongest_blind_floor"):
            floor = baselines[s.env_id][key]
            verdict = floor_verdict(s.iqm, s.ci.low, floor["score"])
            verdicts.append(f"{floor['policy']} {floor['score']:.3f} | {verdict}")
        lines.append(
            f"| {s.env_id} | {s.algo} | {s.iqm:.3f} | [{s.ci.low:.3f}, {s.ci.high:.3f}] "
            f"| {' | '.join(verdicts)} |"
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
        f"Regenerate: `textgym bench --suite {suite.source or suite.name} --out DIR"
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
