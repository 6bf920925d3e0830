"""Environment token-steps per second, policy excluded, measured side by side in one run.

Compares a single env, Gymnasium's SyncVectorEnv and AsyncVectorEnv over single envs, and
textgym's native vector env (``make_vec`` default) with full and final-only infos, at several
batch sizes, with terminal and dense rewards. Where the native env scores with its token-id
kernel in compiled loops (numba installed), the same env as an install without numba runs it
(``jit=False``) is measured too. Actions are uniform random token ids drawn before
timing. The train split is generated before timing (a real run reaches that state after one
pass over the data), so the numbers measure stepping, not data generation.

Each implementation first steps for ``--warmup-seconds`` (the same wall time for all), as in
the first seconds of a training run: per-sample caches (prompt ids, reference statistics) fill
up then. The native env shares one cache across its N envs and warms within seconds; single
envs (alone or under Sync/Async) each keep their own, which in a real run stay mostly cold.
Timings are medians over ``--repeats``; on a shared machine they move by 20-30% between runs.

    python benchmarks/throughput.py                 # full table, writes results/throughput.json
    python benchmarks/throughput.py --quick         # smoke run (seconds), writes nothing
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np

import textgym  # noqa: F401
from textgym._io import atomic_write_json


@dataclasses.dataclass
class Args:
    env_id: str = "TextSumm-v1"
    sizes: tuple[int, ...] = (1, 16, 64, 256)
    async_sizes: tuple[int, ...] = (1, 16)  # async pays a process hop per step: small N only
    reward_modes: tuple[str, ...] = ("terminal", "dense")
    steps: int = 300  # vector steps per measurement
    repeats: int = 3  # median over repeats
    warmup_seconds: float = 5.0  # stepping before timing, the same for every implementation
    reward_only: bool = False  # report_metrics=False everywhere: the reward, no other metrics
    out: str = str(Path(__file__).parent / "results" / "throughput.json")
    quick: bool = False

    @classmethod
    def parse(cls) -> Args:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--env-id", default=cls.env_id)
        parser.add_argument("--sizes", type=int, nargs="+", default=list(cls.sizes))
        parser.add_argument("--steps", type=int, default=cls.steps)
        parser.add_argument("--repeats", type=int, default=cls.repeats)
        parser.add_argument("--warmup-seconds", type=float, default=cls.warmup_seconds)
        parser.add_argument("--out", default=cls.out, help="JSON results ('' for none)")
        parser.add_argument(
            "--reward-only",
            action="store_true",
            help="every implementation with report_metrics=False (no per-episode metrics "
            "beyond the reward, as an RL training loop that reads only rewards needs)",
        )
        parser.add_argument("--quick", action="store_true")
        ns = parser.parse_args()
        args = cls(
            env_id=ns.env_id,
            sizes=tuple(ns.sizes),
            steps=ns.steps,
            repeats=ns.repeats,
            warmup_seconds=ns.warmup_seconds,
            out=ns.out,
            reward_only=ns.reward_only,
        )
        if ns.quick:
            args = dataclasses.replace(
                args,
                sizes=(1, 16),
                async_sizes=(),
                steps=30,
                repeats=1,
                warmup_seconds=0.2,
                out="",
                quick=True,
            )
        return args


def median_rate(step: Callable[[np.ndarray], object], actions: list[np.ndarray], n: int,
                repeats: int) -> float:  # fmt: skip
    """Median token-steps/s of ``step`` over ``actions`` (each call advances ``n`` envs)."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for a in actions:
            step(a)
        rates.append(len(actions) * n / (time.perf_counter() - start))
    return statistics.median(rates)


def warm_up(
    step: Callable[[np.ndarray], object], actions: list[np.ndarray], seconds: float, min_steps: int
) -> None:
    """Step for ``seconds`` of wall time, and at least ``min_steps`` (one episode or more)."""
    start = time.perf_counter()
    k = 0
    while k < min_steps or time.perf_counter() - start < seconds:
        step(actions[k % len(actions)])
        k += 1


def single_env_stepper(env: gym.Env) -> Callable[[np.ndarray], object]:
    def step(action: np.ndarray) -> object:
        _, _, terminated, truncated, _ = env.step(int(action[0]))
        if terminated or truncated:
            env.reset()
        return None

    return step


def _numba_version() -> str | None:
    try:
        import numba
    except ImportError:
        return None
    return numba.__version__


def main() -> None:
    args = Args.parse()
    machine = platform.processor() or "cpu"
    print(
        f"# textgym {textgym.__version__}, {args.env_id}, {machine}, gymnasium {gym.__version__}; "
        f"{args.steps} steps x {args.repeats} repeats (median)"
        + ("; report_metrics=False everywhere" if args.reward_only else "")
    )
    warm = gym.make(args.env_id)
    for _ in warm.unwrapped.dataset:  # generate the train split once, outside the timings
        pass
    vocab = warm.action_space.n
    episode = 2 * warm.unwrapped.max_new_tokens  # warm-up steps: every env ends an episode
    rng = np.random.default_rng(0)
    rows = []
    for mode in args.reward_modes:
        kwargs: dict = {"reward_mode": mode}
        if args.reward_only:
            kwargs["report_metrics"] = False
        single = gym.make(args.env_id, **kwargs)
        single.reset(seed=0)
        acts1 = [rng.integers(0, vocab, 1) for _ in range(args.steps)]
        stepper = single_env_stepper(single)
        warm_up(stepper, acts1, args.warmup_seconds, episode)
        base = median_rate(stepper, acts1, 1, args.repeats)
        rows.append((mode, "single env", 1, base))
        for n in args.sizes:
            acts = [rng.integers(0, vocab, n) for _ in range(args.steps)]
            variants = [("sync", {"vectorization_mode": "sync"})]
            if n in args.async_sizes:
                variants.append(("async", {"vectorization_mode": "async"}))
            variants += [("native, infos=full", {}), ("native, infos=final", {"infos": "final"})]
            probe = gym.make_vec(args.env_id, n, **kwargs).unwrapped
            if probe._kernel is not None and probe._kernel.jit:
                # What an install without numba (the `fast` extra) runs: the token-id
                # kernel's numpy code where it pays off, else scoring from text.
                variants.append(("native, infos=final, no numba", {"infos": "final", "jit": False}))
            for name, extra in variants:
                env = gym.make_vec(args.env_id, n, **kwargs, **extra)
                env.reset(seed=0)
                warm_up(env.step, acts, args.warmup_seconds, episode)
                rows.append((mode, name, n, median_rate(env.step, acts, n, args.repeats)))
                env.close()

    sync_rate = {(m, n): r for m, name, n, r in rows if name == "sync"}
    print("\n| reward | implementation | N | token-steps/s | vs sync at same N |")
    print("|---|---|---:|---:|---:|")
    for mode, name, n, rate in rows:
        ref = sync_rate.get((mode, n))
        ratio = f"{rate / ref:.1f}x" if ref and name != "single env" else ""
        print(f"| {mode} | {name} | {n} | {rate:,.0f} | {ratio} |")
    if args.out:
        record = {
            "config": {k: v for k, v in dataclasses.asdict(args).items() if k != "out"},
            "machine": {
                "processor": machine,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            },
            "versions": {
                "textgym": textgym.__version__,
                "gymnasium": gym.__version__,
                "numpy": np.__version__,
                "numba": _numba_version(),
            },
            "rows": [
                {
                    "reward_mode": mode,
                    "implementation": name,
                    "num_envs": n,
                    "token_steps_per_s": round(rate),
                    "vs_sync": round(rate / sync_rate[(mode, n)], 2)
                    if name != "single env" and (mode, n) in sync_rate
                    else None,
                }
                for mode, name, n, rate in rows
            ],
        }
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(args.out, record)
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
