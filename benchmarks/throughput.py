"""Environment token-steps per second, policy excluded, measured side by side in one run.

Compares a single env, Gymnasium's SyncVectorEnv and AsyncVectorEnv over single envs, and
textgym's native vector env (``make_vec`` default) with full and final-only infos, at several
batch sizes, with terminal and dense rewards. Where the native env scores with its token-id
kernels, the same env scoring from decoded text (``id_metrics=False``, what it did before the
kernels covered the task) is measured too, and where they run as compiled loops (numba
installed), the env as an install without numba runs it (``jit=False``). Actions are uniform
random token ids drawn before timing. The train split is generated before timing (a real run
reaches that state after one pass over the data), so the numbers measure stepping, not data
generation.

Each implementation first steps for ``--warmup-seconds`` (the same wall time for all), as in
the first seconds of a training run: per-sample caches (prompt ids, reference statistics) fill
up then. The native env shares one cache across its N envs and warms within seconds; single
envs (alone or under Sync/Async) each keep their own, which in a real run stay mostly cold.
Timings are medians over ``--repeats`` (the JSON also keeps the min and max); on a shared
machine they move by 20-30% between runs.

``--cold`` adds the native env's cold start: the first ``--cold-steps`` steps of a new env
after its ``reset`` (the data generated), a new env per repeat, with full and final infos, as
users get it by default (from 64 envs the first reset stores every sample of the dataset:
``prefill=None``), and beside it the same with ``prefill=False`` (final infos), its cache of
prompt rows and reference tables empty, each sample stored in the step that first resets onto
it. The JSON row keeps the seconds that making and resetting the env took (``setup_s``, the
prefill included).

    python benchmarks/throughput.py                 # full table, writes results/throughput.json
    python benchmarks/throughput.py --quick         # smoke run (seconds), writes nothing
    python benchmarks/throughput.py --sizes 256 --only final final-text --interleave  # ids vs text
    python benchmarks/throughput.py --sizes 256 --only sync full final --interleave --cold
    python benchmarks/throughput.py --env-id TextSumm-v0 --sizes 256 --only sync final \
        --env-kwargs '{"data": {"corpus": "scitldr", "lowercase": true}, "tokenizer": DIR}'
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from _cli import parse_dataclass

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
    env_kwargs: str = ""  # JSON object of task keyword arguments (loaded data, a tokenizer)
    only: tuple[str, ...] = ()  # implementations to measure (IMPLEMENTATIONS keys); () = all
    interleave: bool = False  # time the repeats round-robin over all implementations
    cold: bool = False  # also the first cold_steps steps of new native envs
    cold_steps: int = 100
    out: str = str(Path(__file__).parent / "results" / "throughput.json")
    quick: bool = False

    @classmethod
    def parse(cls) -> Args:
        """The command line's settings (``sys.argv``), with ``--quick`` applied."""
        args = parse_dataclass(
            cls,
            description=__doc__.splitlines()[0],
            skip={"async_sizes", "reward_modes"},  # never flags: only --quick changes them
            options={
                "out": {"help": "JSON results ('' for none)"},
                "reward_only": {
                    "help": "every implementation with report_metrics=False (no per-episode "
                    "metrics beyond the reward, as an RL training loop that reads only rewards "
                    "needs)"
                },
                "only": {
                    "choices": list(IMPLEMENTATIONS),
                    "help": "measure only these implementations (default: all)",
                },
                "interleave": {
                    "help": "warm every implementation first, then time the repeats round-robin "
                    "over all of them (both reward modes), so that load from other processes "
                    "on a shared machine falls on all alike; ratios are then comparable, "
                    "terminal to dense too"
                },
                "env_kwargs": {
                    "help": "a JSON object of keyword arguments for every env (gym.make and "
                    "make_vec), e.g. loaded data and a Hugging Face tokenizer: "
                    """'{"data": {"corpus": "scitldr", "lowercase": true}, "tokenizer": DIR}'"""
                },
                "cold": {
                    "help": "also time the first --cold-steps steps of a new native env after "
                    "reset (full and final infos), one new env per repeat"
                },
            },
        )
        if args.quick:
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


#: ``--only`` names of the implementations, and their row names in the table.
IMPLEMENTATIONS = {
    "single": "single env",
    "sync": "sync",
    "async": "async",
    "full": "native, infos=full",
    "final": "native, infos=final",
    "final-no-numba": "native, infos=final, no numba",
    "final-text": "native, infos=final, text metrics",
}
#: The ``--cold`` rows: the first steps of a new env (see the module docstring).
COLD = {"full": "native, infos=full, cold", "final": "native, infos=final, cold"}
#: The ``--cold`` rows of envs made with ``prefill=False``, by the ``--only`` name they go with.
NOT_PREFILLED = {"final": "native, infos=final, prefill=False, cold"}
COLD_ROWS = frozenset({*COLD.values(), *NOT_PREFILLED.values()})


def one_rate(step: Callable[[np.ndarray], object], actions: list[np.ndarray], n: int) -> float:
    """Token-steps/s of ``step`` over ``actions`` (each call advances ``n`` envs)."""
    start = time.perf_counter()
    for a in actions:
        step(a)
    return len(actions) * n / (time.perf_counter() - start)


def median_rate(step: Callable[[np.ndarray], object], actions: list[np.ndarray], n: int,
                repeats: int) -> tuple[float, list[float]]:  # fmt: skip
    """Median token-steps/s of ``step`` over ``actions`` (each call advances ``n`` envs), and
    every repeat's rate."""
    rates = [one_rate(step, actions, n) for _ in range(repeats)]
    return statistics.median(rates), rates


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
        f"{args.steps} steps x {args.repeats} repeats (median"
        + (", interleaved)" if args.interleave else ")")
        + ("; report_metrics=False everywhere" if args.reward_only else "")
    )
    task_kwargs: dict[str, Any] = json.loads(args.env_kwargs) if args.env_kwargs else {}
    if not isinstance(task_kwargs, dict):
        raise SystemExit(f"--env-kwargs: expected a JSON object, got {args.env_kwargs!r}")
    warm = gym.make(args.env_id, **task_kwargs)
    for _ in warm.unwrapped.dataset:  # generate the train split once, outside the timings
        pass
    vocab = warm.action_space.n
    episode = 2 * warm.unwrapped.max_new_tokens  # warm-up steps: every env ends an episode
    rng = np.random.default_rng(0)
    rows: list[tuple[str, str, int, float, list[float]]] = []
    wanted = set(args.only or IMPLEMENTATIONS)
    # With --interleave: (row index, step, actions, n, env) of each warmed implementation,
    # timed after all are built.
    pending: list[tuple[int, Callable[[np.ndarray], object], list[np.ndarray], int, Any]] = []
    # Median seconds to make and reset each cold row's env (its prefill included).
    setup_seconds: dict[tuple[str, str, int], float] = {}

    def measure(
        mode: str,
        key: str,
        n: int,
        step: Callable[[np.ndarray], object],
        actions: list[np.ndarray],
        env: Any,
    ) -> None:
        """Time one implementation now, or (``--interleave``) queue it for the round-robin."""
        if args.interleave:
            rows.append((mode, IMPLEMENTATIONS[key], n, float("nan"), []))
            pending.append((len(rows) - 1, step, actions, n, env))
            return
        rows.append((mode, IMPLEMENTATIONS[key], n, *median_rate(step, actions, n, args.repeats)))
        if env is not None:
            env.close()

    for mode in args.reward_modes:
        kwargs: dict = {**task_kwargs, "reward_mode": mode}
        if args.reward_only:
            kwargs["report_metrics"] = False
        if "single" in wanted:
            single = gym.make(args.env_id, **kwargs)
            single.reset(seed=0)
            acts1 = [rng.integers(0, vocab, 1) for _ in range(args.steps)]
            stepper = single_env_stepper(single)
            warm_up(stepper, acts1, args.warmup_seconds, episode)
            measure(mode, "single", 1, stepper, acts1, None)
        for n in args.sizes:
            acts = [rng.integers(0, vocab, n) for _ in range(args.steps)]
            variants = [("sync", {"vectorization_mode": "sync"})]
            if n in args.async_sizes:
                variants.append(("async", {"vectorization_mode": "async"}))
            variants += [("full", {}), ("final", {"infos": "final"})]
            probe = gym.make_vec(args.env_id, n, **kwargs).unwrapped
            # An episode's steps load (or compile) the kernels' numba loops outside every
            # warm-up, as the data is generated outside them: otherwise the first env measured
            # would warm its cache for less time than the others.
            probe.reset(seed=0)
            for a in acts[:episode]:
                probe.step(a)
            if probe._kernel is not None:
                # What the env did where no kernel covered the task: score from decoded text.
                variants.append(("final-text", {"infos": "final", "id_metrics": False}))
                if probe._kernel.jit:
                    # What an install without numba (the `fast` extra) runs: the token-id
                    # kernels' numpy code where it pays off, else scoring from text.
                    variants.append(("final-no-numba", {"infos": "final", "jit": False}))
            for key, extra in variants:
                if key not in wanted:
                    continue
                if args.cold and key in COLD:
                    cold_rows = [(COLD[key], {})]
                    if key in NOT_PREFILLED:
                        cold_rows.append((NOT_PREFILLED[key], {"prefill": False}))
                    for name, more in cold_rows:
                        rates, setups = [], []
                        for repeat in range(args.repeats):
                            start = time.perf_counter()
                            fresh = gym.make_vec(args.env_id, n, **kwargs, **extra, **more)
                            fresh.reset(seed=repeat)
                            setups.append(time.perf_counter() - start)
                            rates.append(one_rate(fresh.step, acts[: args.cold_steps], n))
                            fresh.close()
                        rows.append((mode, name, n, statistics.median(rates), rates))
                        setup_seconds[(mode, name, n)] = statistics.median(setups)
                env = gym.make_vec(args.env_id, n, **kwargs, **extra)
                env.reset(seed=0)
                warm_up(env.step, acts, args.warmup_seconds, episode)
                measure(mode, key, n, env.step, acts, env)
    if pending:
        rates: dict[int, list[float]] = {i: [] for i, *_ in pending}
        for _ in range(args.repeats):
            for i, step, actions, n, _env in pending:
                rates[i].append(one_rate(step, actions, n))
        for i, *_, env in pending:
            mode, name, n, _, _ = rows[i]
            rows[i] = (mode, name, n, statistics.median(rates[i]), rates[i])
            if env is not None:
                env.close()

    sync_rate = {(m, n): r for m, name, n, r, _ in rows if name == "sync"}
    text_name = IMPLEMENTATIONS["final-text"]
    # The final-infos rows against the same env scoring from text (side by side, one run).
    text_rate = {(m, n): r for m, name, n, r, _ in rows if name == text_name}

    def vs_text(mode: str, name: str, n: int, rate: float) -> float | None:
        ref = text_rate.get((mode, n))
        warmed = name.startswith(IMPLEMENTATIONS["final"]) and name not in COLD_ROWS
        return rate / ref if ref and warmed else None

    print("\n| reward | implementation | N | token-steps/s | min-max | vs sync at same N | "
          "vs text metrics |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|")
    for mode, name, n, rate, rates in rows:
        ref = sync_rate.get((mode, n))
        ratio = f"{rate / ref:.1f}x" if ref and name != "single env" else ""
        text = vs_text(mode, name, n, rate)
        text_ratio = f"{text:.1f}x" if text is not None else ""
        spread = f"{min(rates):,.0f}-{max(rates):,.0f}" if rates else ""
        print(f"| {mode} | {name} | {n} | {rate:,.0f} | {spread} | {ratio} | {text_ratio} |")
    for (mode, name, n), seconds in setup_seconds.items():
        print(f"{mode}, {name}, N={n}: make_vec + reset took {seconds:.3f} s (median)")
    if args.out:
        record = {
            "config": {k: v for k, v in dataclasses.asdict(args).items() if k != "out"},
            "machine": {
                "processor": machine,
                "cpus": os.cpu_count(),
                "load_average_1m": os.getloadavg()[0],
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
                    "min": round(min(rates)) if rates else None,
                    "max": round(max(rates)) if rates else None,
                    "vs_sync": round(rate / sync_rate[(mode, n)], 2)
                    if name != "single env" and (mode, n) in sync_rate
                    else None,
                    "vs_text_metrics": None
                    if (text := vs_text(mode, name, n, rate)) is None
                    else round(text, 2),
                    "setup_s": None
                    if (setup := setup_seconds.get((mode, name, n))) is None
                    else round(setup, 4),
                }
                for mode, name, n, rate, rates in rows
            ],
        }
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(args.out, record)
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
