"""Tianshou smoke tests: ``Collector`` over textgym envs, random and policy actions.

Tianshou 2.0 pins ``pandas<3``, so it is not part of ``dev``: ``make test-tianshou`` runs this
file in its own virtual environment, and the default run skips it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("tianshou")

import torch  # noqa: E402
from tianshou.algorithm.algorithm_base import Policy, RandomActionPolicy  # noqa: E402
from tianshou.data import Batch, Collector, VectorReplayBuffer  # noqa: E402
from tianshou.env import DummyVectorEnv  # noqa: E402

import textgym  # noqa: E402,F401

ENV_ID = "TextSumm-Easy-v1"
N = 2


class IntegerTokenPolicy(Policy):
    """Uniformly random token ids as int64, from its own seeded generator."""

    def __init__(self, action_space: gym.spaces.Discrete, seed: int) -> None:
        super().__init__(action_space=action_space)
        self.rng = np.random.default_rng(seed)

    def forward(self, batch: Any, state: Any = None, **kwargs: Any) -> Batch:
        ids = self.rng.integers(self.action_space.n, size=len(batch.obs), dtype=np.int64)
        return Batch(act=torch.from_numpy(ids), state=state)


def make_envs() -> DummyVectorEnv:
    return DummyVectorEnv([lambda: gym.make(ENV_ID) for _ in range(N)])


def collect(policy: Policy, random: bool) -> tuple[Any, Collector]:
    envs = make_envs()
    envs.seed(0)
    collector = Collector(policy, envs, VectorReplayBuffer(2_000, N))
    collector.reset()
    return collector.collect(n_episode=6, random=random), collector


def check_episodes(stats: Any, collector: Collector) -> None:
    assert stats.n_collected_episodes >= 6
    assert np.all((stats.returns >= 0) & (stats.returns <= 1))
    assert np.all(stats.lens >= 1)
    acts = collector.buffer.act[: len(collector.buffer)]
    assert acts.dtype.kind == "i" and len(acts) == stats.n_collected_steps


def test_collect_random_sends_integer_token_ids() -> None:
    envs = make_envs()
    stats, collector = collect(RandomActionPolicy(envs.action_space[0]), random=True)
    check_episodes(stats, collector)


def test_collect_with_a_policy_of_integer_actions() -> None:
    envs = make_envs()
    stats, collector = collect(IntegerTokenPolicy(envs.action_space[0], seed=0), random=False)
    check_episodes(stats, collector)


def test_random_action_policy_float_actions_are_rejected() -> None:
    # Tianshou's RandomActionPolicy emits float32 token ids (torch.Tensor of randint); textgym
    # rejects non-integer actions rather than guess; the README names the two ways around.
    envs = make_envs()
    collector = Collector(RandomActionPolicy(envs.action_space[0]), envs)
    collector.reset()
    with pytest.raises(ValueError, match="expected an integer token id"):
        collector.collect(n_step=2)
