"""Do standard SB3 agents learn textgym's easy environments? Mean validation score per agent.

For each ``-Easy-v0`` id and seed, trains

- ``ppo``: PPO with :class:`textgym.policies.sb3.TokenFeaturesExtractor`, no action mask;
- ``maskable-ppo``: sb3-contrib MaskablePPO with the same extractor and the bigram proposal mask
  of :class:`textgym.wrappers.ActionMaskWrapper`, fitted on the train split;
- ``ppo-mlp`` (contrast): PPO with SB3's stock flatten + MLP on raw ids;

and reports two untrained references: ``random`` (uniform over the vocabulary) and
``random-mask`` (uniform over the same bigram mask, so the gain of learning over the mask alone
is visible). Evaluation: the deterministic policy on validation samples ``0..eval_episodes-1``
(``reset(options={"sample_id": i})``), the same episodes for every agent and seed.

Usage::

    python benchmarks/sb3_learning.py                   # full run (see Args for the budget)
    python benchmarks/sb3_learning.py --quick           # smoke test, well under a minute
    python benchmarks/sb3_learning.py --total-timesteps 20000 --agents ppo,maskable-ppo

Prints a markdown table (mean ± std over seeds, and per-seed values) and writes JSON
atomically to ``--output``. One process, ``--threads`` torch threads (1 by default: the machine
is shared).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from _cli import parse_dataclass
from sb3_contrib import MaskablePPO
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import textgym
from textgym._io import atomic_write_json
from textgym.policies.sb3 import policy_kwargs
from textgym.wrappers import ActionMaskWrapper, BigramModel, fit_bigram

AGENTS = ("random", "random-mask", "ppo-mlp", "ppo", "maskable-ppo")


@dataclass
class Args:
    env_ids: list[str] = field(default_factory=lambda: list(textgym.registration.EASY))
    agents: list[str] = field(default_factory=lambda: list(AGENTS))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    total_timesteps: int = 30_000  # ~40 s per run on one shared CPU core
    n_envs: int = 8
    n_steps: int = 64  # per env: 512 transitions per update
    batch_size: int = 256
    n_epochs: int = 4
    learning_rate: float = 1e-3
    ent_coef: float = 0.01
    gamma: float = 1.0  # episodes are short and the score is what counts, undiscounted
    reward_mode: str = "dense"
    mask_k: int = 8
    lexicon_k: int = 2
    fit_samples: int = 5000
    eval_episodes: int = 200
    threads: int = 1
    output: str = "benchmarks/results/sb3_learning.json"
    quick: bool = False


def parse_args(argv: list[str]) -> Args:
    """``--name value`` for every field, ``--quick`` as a flag; lists as ``a b`` or ``a,b``."""
    args = parse_dataclass(Args, argv, description=__doc__.splitlines()[0], comma_lists=True)
    if args.quick:
        args.seeds, args.total_timesteps, args.eval_episodes = [0], 1024, 10
        args.fit_samples, args.output = 300, args.output.replace(".json", "_quick.json")
    unknown = sorted(set(args.agents) - set(AGENTS))
    if unknown:
        sys.exit(f"--agents: unknown {unknown}; expected some of {list(AGENTS)}")
    return args


def masked(env: gym.Env, args: Args, bigram: BigramModel) -> ActionMaskWrapper:
    return ActionMaskWrapper(env, bigram=bigram, k=args.mask_k, lexicon_k=args.lexicon_k)


def evaluate(
    env_id: str, args: Args, bigram: BigramModel, agent: str, model: Any, seed: int
) -> float:
    """Mean validation score over the fixed episodes."""
    env: gym.Env = gym.make(env_id, split="validation")
    uses_mask = agent in ("random-mask", "maskable-ppo")
    if uses_mask:
        env = masked(env, args, bigram)
    rng = np.random.default_rng(seed)
    scores = []
    for sample_id in range(args.eval_episodes):
        obs, _ = env.reset(options={"sample_id": sample_id})
        terminated = False
        while not terminated:
            mask = env.action_masks() if uses_mask else np.ones(env.action_space.n, dtype=bool)
            if agent.startswith("random"):
                action = int(rng.choice(np.flatnonzero(mask)))
            else:
                extra = {"action_masks": mask} if uses_mask else {}
                action = int(model.predict(obs, deterministic=True, **extra)[0])
            obs, _, terminated, _, info = env.step(action)
        scores.append(info["metrics"]["score"])
    env.close()
    return float(np.mean(scores))


def train(env_id: str, args: Args, bigram: BigramModel, agent: str, seed: int) -> Any:
    """A trained model, or ``None`` for the random agents."""
    if agent.startswith("random"):
        return None
    vec_env = make_vec_env(
        env_id,
        n_envs=args.n_envs,
        seed=seed,
        # SB3 asks for render_mode="rgb_array" unless told otherwise, and textgym rejects it.
        env_kwargs={"reward_mode": args.reward_mode, "render_mode": None},
        wrapper_class=(lambda env: masked(env, args, bigram)) if agent == "maskable-ppo" else None,
    )
    algo = MaskablePPO if agent == "maskable-ppo" else PPO
    model = algo(
        "MultiInputPolicy",
        vec_env,
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        n_epochs=args.n_epochs,
        learning_rate=args.learning_rate,
        ent_coef=args.ent_coef,
        gamma=args.gamma,
        policy_kwargs=None if agent == "ppo-mlp" else policy_kwargs(),
        seed=seed,
        device="cpu",
    )
    model.learn(total_timesteps=args.total_timesteps)
    vec_env.close()
    return model


def markdown_table(results: dict[str, dict[str, list[float]]], seeds: list[int]) -> str:
    lines = [
        "| env | agent | mean ± std | per seed (" + ", ".join(map(str, seeds)) + ") |",
        "|---|---|---:|---|",
    ]
    for env_id, per_agent in results.items():
        for agent, scores in per_agent.items():
            per_seed = ", ".join(f"{s:.3f}" for s in scores)
            lines.append(
                f"| {env_id} | {agent} | {np.mean(scores):.3f} ± {np.std(scores):.3f} "
                f"| {per_seed} |"
            )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"args: {dataclasses.asdict(args)}", flush=True)
    results: dict[str, dict[str, list[float]]] = {}
    timings: dict[str, dict[str, list[float]]] = {}
    for env_id in args.env_ids:
        # Fitted on the train split only: validation references are never seen by the mask.
        bigram = fit_bigram(env_id, num_samples=args.fit_samples)
        results[env_id], timings[env_id] = {}, {}
        for agent in args.agents:
            results[env_id][agent], timings[env_id][agent] = [], []
            for seed in args.seeds:
                start = time.perf_counter()
                model = train(env_id, args, bigram, agent, seed)
                score = evaluate(env_id, args, bigram, agent, model, seed)
                seconds = time.perf_counter() - start
                results[env_id][agent].append(score)
                timings[env_id][agent].append(seconds)
                print(f"{env_id} {agent} seed={seed}: eval/score={score:.4f} ({seconds:.0f} s)")
                atomic_write_json(
                    args.output,
                    {"args": dataclasses.asdict(args), "scores": results, "seconds": timings},
                )
    print()
    print(
        f"Mean validation score over {args.eval_episodes} episodes, "
        f"{args.total_timesteps} timesteps per trained agent, seeds {args.seeds}:"
    )
    print(markdown_table(results, args.seeds))
    print(f"\nresults: {args.output}")


if __name__ == "__main__":
    main(sys.argv[1:])
