"""SB3 learns exactly the same on the native vector env as on DummyVecEnv over single envs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")
sb3 = pytest.importorskip("stable_baselines3")

from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402

import textgym  # noqa: E402,F401
import textgym.policies.sb3 as tg_sb3  # noqa: E402
from textgym.vector.sb3 import SB3VecEnv  # noqa: E402

ENV_ID = "TextDial-Easy-v0"
N = 4


def train(venv, seed: int = 0):
    model = sb3.PPO(
        "MultiInputPolicy", venv, n_steps=16, batch_size=32, n_epochs=2, seed=seed,
        policy_kwargs=tg_sb3.policy_kwargs(embed_dim=16, hidden_dim=32, features_dim=32),
        device="cpu",
    )  # fmt: skip
    model.learn(2 * N * 16)
    return model


def test_ppo_learns_identically_on_native_and_dummy_vec_envs() -> None:
    dummy = DummyVecEnv([lambda: gym.make(ENV_ID, reward_mode="dense") for _ in range(N)])
    native = SB3VecEnv(ENV_ID, N, reward_mode="dense")
    a, b = train(dummy), train(native)
    params_a, params_b = a.policy.state_dict(), b.policy.state_dict()
    assert params_a.keys() == params_b.keys()
    for key in params_a:
        assert torch.equal(params_a[key], params_b[key]), key
    # The rollout buffers saw the same rewards too.
    assert np.array_equal(a.rollout_buffer.rewards, b.rollout_buffer.rewards)
    assert a.rollout_buffer.rewards.any()


def test_step_infos_follow_sb3_conventions() -> None:
    venv = SB3VecEnv(ENV_ID, 2)
    venv.seed(3)
    obs = venv.reset()
    eos = venv.native.task.tokenizer.eos_id
    venv.step_async(np.array([eos, 5]))
    obs, rewards, dones, infos = venv.step_wait()
    assert rewards.dtype == np.float32 and dones.tolist() == [True, False]
    assert "terminal_observation" in infos[0] and "metrics" in infos[0]
    assert infos[1] == {"TimeLimit.truncated": False}
    assert obs["generated_mask"][0].sum() == 0  # env 0 was reset in the same step
    with pytest.raises(NotImplementedError, match="action_masks"):
        venv.env_method("action_masks")
