"""Roll out simple reference points (random and reference policies) and summarise their scores."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

import textgym  # noqa: F401  (registers the ids)

POLICIES = ("random", "reference")


@dataclass(frozen=True)
class RolloutResult:
    """Scores of ``episodes`` episodes of one policy on one env.

    Attributes:
        env_id: The registered id.
        policy: ``"random"`` or ``"reference"``.
        episodes: Number of episodes.
        seed: Seed of the first ``reset`` and of the policy.
        scores: Final score of each episode (the sum of its rewards).
        metrics: Mean of every metric in ``info["metrics"]`` over the episodes.
        mean_length: Mean number of steps per episode.
    """

    env_id: str
    policy: str
    episodes: int
    seed: int
    scores: list[float]
    metrics: dict[str, float] = field(default_factory=dict)
    mean_length: float = 0.0

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores)

    @property
    def std(self) -> float:
        return statistics.pstdev(self.scores)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (per-episode scores included)."""
        return {
            "env_id": self.env_id,
            "policy": self.policy,
            "episodes": self.episodes,
            "seed": self.seed,
            "mean": self.mean,
            "std": self.std,
            "mean_length": self.mean_length,
            "metrics": self.metrics,
            "scores": self.scores,
        }


def _policy(name: str, env: gym.Env, seed: int) -> Callable[[], int]:
    if name == "random":
        env.action_space.seed(seed)
        return lambda: int(env.action_space.sample())
    if name == "reference":
        return env.unwrapped.reference_action  # type: ignore[attr-defined]
    raise ValueError(f"policy: expected one of {', '.join(POLICIES)}, got {name!r}")


def rollout(
    env_id: str,
    policy: str = "random",
    episodes: int = 100,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    *,
    fixed_samples: bool = False,
) -> RolloutResult:
    """Run ``episodes`` episodes of a simple policy.

    The env is reset with ``seed`` once, then without a seed, so the episodes are a seeded
    stream of samples; the random policy's action space is seeded with ``seed`` too.

    Args:
        fixed_samples: Play samples ``0..episodes-1`` of the env's dataset instead (fewer if
            it is smaller): the evaluation episodes of ``textgym train``.

    Raises:
        ValueError: For an unknown policy or a non-positive number of episodes.
    """
    if episodes < 1:
        raise ValueError(f"episodes: expected >= 1, got {episodes}")
    env = gym.make(env_id, **dict(env_kwargs or {}))
    if fixed_samples:
        episodes = min(episodes, len(env.unwrapped.dataset))  # type: ignore[attr-defined]
    try:
        act = _policy(policy, env, seed)
        scores: list[float] = []
        lengths: list[int] = []
        sums: dict[str, float] = {}
        for episode in range(episodes):
            options = {"sample_id": episode} if fixed_samples else None
            env.reset(seed=seed if episode == 0 else None, options=options)
            total, steps, done = 0.0, 0, False
            info: dict[str, Any] = {}
            while not done:
                _, reward, terminated, truncated, info = env.step(act())
                total += float(reward)
                steps += 1
                done = terminated or truncated
            scores.append(total)
            lengths.append(steps)
            for key, value in info.get("metrics", {}).items():
                sums[key] = sums.get(key, 0.0) + value
    finally:
        env.close()
    return RolloutResult(
        env_id=env_id,
        policy=policy,
        episodes=episodes,
        seed=seed,
        scores=scores,
        metrics={k: v / episodes for k, v in sums.items()},
        mean_length=float(np.mean(lengths)),
    )
