"""Does RLlib PPO with textgym's RLModule learn the easy envs? And how fast do its runners step?

Learning: for each env and seed, ``textgym train ENV --algo rllib-ppo`` (the harness's run, with
its default hyper-parameters, which mirror SB3 PPO's: rollouts of 64 steps x 8 envs on one env
runner, minibatches of 256, 4 epochs, lr 1e-3, entropy 0.01, gamma 1, dense rewards) at the
budget of the published quick suite: 16,384 env steps, evaluated greedily on validation samples
0..199. The random floor and SB3 PPO's scores (same envs, budget, episodes and evaluation) are
read from the published suite (``benchmarks/results/quick_suite_v0/results.json``), not re-run.

Throughput: env steps per second of RLlib PPO training iterations and of sampling alone
(``EnvRunner.sample`` on every runner at once, the network's initial weights) with 1 and 2 env
runners, each stepping one native vector env of 8 envs.

Usage (in the RLlib virtual environment, ``make test-rllib`` creates it)::

    .venv-rllib/bin/python benchmarks/rllib_learning.py                  # 3 envs x 3 seeds
    .venv-rllib/bin/python benchmarks/rllib_learning.py --seeds 0        # one seed per env
    .venv-rllib/bin/python benchmarks/rllib_learning.py --quick          # smoke test

Runs are written to ``--runs`` (one run folder each); running again skips finished runs and
resumes interrupted ones. Results (JSON, written atomically after every run) go to
``--output``; a markdown table is printed at the end.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _cli import parse_dataclass

from textgym._io import atomic_write_json
from textgym.bench.aggregate import interquartile_mean

PUBLISHED = "benchmarks/results/quick_suite_v0/results.json"


@dataclass
class Args:
    env_ids: list[str] = field(
        default_factory=lambda: ["TextTrans-Easy-v0", "TextSumm-Easy-v0", "TextDial-Easy-v0"]
    )
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    steps: int = 16_384  # the quick suite's SB3 budget
    eval_every: int = 4_096
    eval_episodes: int = 200
    throughput_runners: list[int] = field(default_factory=lambda: [1, 2])
    throughput_iterations: int = 4  # training iterations of 512 env steps, after one warm-up
    sample_rounds: int = 4  # sample() calls per runner, of 512 env steps each
    skip_learning: bool = False
    skip_throughput: bool = False
    runs: str = "runs/rllib_learning"
    output: str = "benchmarks/results/rllib_learning.json"
    quick: bool = False


def parse_args(argv: list[str]) -> Args:
    """``--name value`` for every field, flags for the booleans; lists as ``a b`` or ``a,b``."""
    args = parse_dataclass(Args, argv, description=__doc__.splitlines()[0], comma_lists=True)
    if args.quick:
        args.env_ids, args.seeds = args.env_ids[:1], [0]
        args.steps, args.eval_every, args.eval_episodes = 1_024, 512, 10
        args.throughput_runners, args.throughput_iterations, args.sample_rounds = [1], 1, 1
        args.runs, args.output = args.runs + "_quick", args.output.replace(".json", "_quick.json")
    return args


def published() -> dict[str, dict[str, Any]]:
    """Per env: the published random floor and SB3 PPO's final scores (quick suite, v0 ids)."""
    data = json.loads(Path(PUBLISHED).read_text(encoding="utf-8"))
    budget = data["definition"]["overrides"]["ppo"]["steps"]
    out: dict[str, dict[str, Any]] = {}
    for env_id, baselines in data["baselines"].items():
        scores = [r["score"] for r in data["runs"] if r["env_id"] == env_id and r["algo"] == "ppo"]
        out[env_id] = {
            "random": baselines["random"],
            "sb3_ppo": scores,
            "sb3_ppo_iqm": interquartile_mean(scores) if scores else None,
            "sb3_ppo_steps": budget,
        }
    return out


def learning_run(env_id: str, seed: int, args: Args) -> dict[str, Any]:
    """One harness run (resumed or skipped if its folder has one); its scores and timing."""
    from textgym.bench.config import resolve
    from textgym.bench.runs import RunFolder
    from textgym.bench.train import train

    config = resolve(
        overrides={
            "algo": "rllib-ppo", "env_id": env_id, "seed": seed, "steps": args.steps,
            "eval": {"every": args.eval_every, "episodes": args.eval_episodes,
                     "split": "validation"},
        }
    )  # fmt: skip
    out = Path(args.runs) / f"{env_id}-rllib-ppo-seed{seed}"
    start = time.perf_counter()
    resume = (out / RunFolder.MANIFEST).is_file()
    result = train(None if resume else config, out, resume=resume, log=print)
    rows = RunFolder(out).metrics()
    return {
        "env_id": env_id,
        "seed": seed,
        "run": str(out),
        "score": result.summary["eval/score"],
        "start_score": rows[0]["eval/score"],
        "curve": [(r["step"], r["eval/score"]) for r in rows],
        "env_steps": result.summary["env_steps"],
        "seconds_this_session": time.perf_counter() - start,
    }


def throughput(env_id: str, runners: int, args: Args) -> dict[str, Any]:
    """Env steps/s of PPO training iterations and of sampling alone with ``runners`` runners."""
    from textgym.bench.config import resolve
    from textgym.bench.rllib_driver import RLlibDriver

    config = resolve(overrides={"algo": "rllib-ppo", "env_id": env_id,
                                "rllib": {"n_env_runners": runners}})  # fmt: skip
    driver = RLlibDriver(config)
    try:
        build = time.perf_counter()
        driver.prepare()
        built = time.perf_counter() - build
        batch = int(config["hparams"]["train_batch_size_per_learner"])
        driver.train_until(batch)  # warm-up: the first iteration compiles and allocates
        start, first = time.perf_counter(), driver.step
        driver.train_until(first + args.throughput_iterations * batch)
        train_rate = (driver.step - first) / (time.perf_counter() - start)
        group = driver._algo.env_runner_group
        per_runner = 512

        def sample(runner: Any, steps: int = per_runner) -> int:
            return sum(len(episode) for episode in runner.sample(num_timesteps=steps))

        sampled, start = 0, time.perf_counter()
        for _ in range(args.sample_rounds):
            sampled += sum(group.foreach_env_runner(sample, local_env_runner=False))
        sample_rate = sampled / (time.perf_counter() - start)
    finally:
        driver.close()
    return {
        "env_id": env_id,
        "env_runners": runners,
        "envs_per_runner": config["rllib"]["envs_per_runner"],
        "train_env_steps_per_s": train_rate,
        "sample_env_steps_per_s": sample_rate,
        "build_seconds": built,
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| env | random | RLlib PPO mean | RLlib PPO IQM | per seed | SB3 PPO IQM (published) |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for env_id, row in result["learning"].items():
        scores = row["rllib_ppo"]
        if not scores:
            continue
        sb3 = row["sb3_ppo_iqm"]
        lines.append(
            f"| {env_id} | {row['random']:.3f} | {np.mean(scores):.3f} | "
            f"{interquartile_mean(scores):.3f} | {', '.join(f'{s:.3f}' for s in scores)} | "
            f"{'' if sb3 is None else f'{sb3:.3f}'} |"
        )
    if result["throughput"]:
        lines += ["", "| env | env runners | train env steps/s | sample env steps/s |",
                  "|---|---:|---:|---:|"]  # fmt: skip
        for row in result["throughput"]:
            lines.append(
                f"| {row['env_id']} | {row['env_runners']} | "
                f"{row['train_env_steps_per_s']:.0f} | {row['sample_env_steps_per_s']:.0f} |"
            )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    import ray
    import torch

    from textgym.bench.runs import machine, versions

    args = parse_args(argv)
    torch.set_num_threads(1)  # the machine is shared
    print(f"args: {dataclasses.asdict(args)}", flush=True)
    reference = published()
    result: dict[str, Any] = {
        "args": dataclasses.asdict(args),
        "published": PUBLISHED,
        "versions": {**versions(), "ray": ray.__version__},
        "machine": machine(),
        "learning": {},
        "runs": [],
        "throughput": [],
    }
    # One Ray instance for every run (each would otherwise start and stop its own).
    ray.init(include_dashboard=False, log_to_driver=False, num_cpus=4)
    try:
        if not args.skip_learning:
            for env_id in args.env_ids:
                row = {**reference.get(env_id, {"random": None, "sb3_ppo_iqm": None})}
                row["rllib_ppo"] = []
                result["learning"][env_id] = row
                for seed in args.seeds:
                    run = learning_run(env_id, seed, args)
                    row["rllib_ppo"].append(run["score"])
                    row["rllib_ppo_iqm"] = interquartile_mean(row["rllib_ppo"])
                    result["runs"].append(run)
                    print(f"{env_id} rllib-ppo seed={seed}: eval/score={run['score']:.4f} "
                          f"({run['seconds_this_session']:.0f} s)", flush=True)  # fmt: skip
                    atomic_write_json(args.output, result)
        if not args.skip_throughput:
            for runners in args.throughput_runners:
                row = throughput(args.env_ids[0], runners, args)
                result["throughput"].append(row)
                print(f"throughput: {row}", flush=True)
                atomic_write_json(args.output, result)
    finally:
        ray.shutdown()
    atomic_write_json(args.output, result)
    print()
    print(markdown(result))
    print(f"\nresults: {args.output}")


if __name__ == "__main__":
    main(sys.argv[1:])
