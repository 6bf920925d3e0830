"""SB3 learns exactly the same on the native vector env as on DummyVecEnv over single envs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")
sb3 = pytest.importorskip("stable_baselines3")

from stable_baselines3.common.logger import KVWriter, Logger  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor  # noqa: E402

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


ITERATIONS = 2


class _Recorder(KVWriter):
    """Keeps every key SB3's logger writes, so a test can ask what was logged."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def write(self, key_values: dict, key_excluded: dict, step: int = 0) -> None:
        self.rows.append(dict(key_values))


def episodes_of(venv) -> tuple[list[tuple[float, int]], list[dict]]:
    """(return, length) of every episode PPO saw on ``venv``, and what its logger wrote."""
    model = train_logged(venv)
    return [(ep["r"], ep["l"]) for ep in model.ep_info_buffer], model.logger.output_formats[0].rows


def train_logged(venv):
    model = sb3.PPO(
        "MultiInputPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0,
        policy_kwargs=tg_sb3.policy_kwargs(embed_dim=8, hidden_dim=16, features_dim=16),
        device="cpu",
    )  # fmt: skip
    model.set_logger(Logger(folder=None, output_formats=[_Recorder()]))
    model.learn(ITERATIONS * N * 16)
    return model


def test_episode_returns_are_logged_as_under_vec_monitor_and_counted_once() -> None:
    # SB3's own bookkeeping: VecMonitor around DummyVecEnv over single envs.
    expected, _ = episodes_of(
        VecMonitor(DummyVecEnv([lambda: gym.make(ENV_ID, reward_mode="dense") for _ in range(N)]))
    )
    native, rows = episodes_of(SB3VecEnv(ENV_ID, N, reward_mode="dense"))
    # A user who adds VecMonitor anyway must not see an episode twice.
    wrapped, _ = episodes_of(VecMonitor(SB3VecEnv(ENV_ID, N, reward_mode="dense")))
    assert len(expected) >= 5  # several episodes ended, with real returns
    assert any(r != 0 for r, _ in expected)
    assert native == expected
    assert wrapped == expected
    logged = [row for row in rows if "rollout/ep_rew_mean" in row]
    assert len(logged) == ITERATIONS  # one per PPO iteration
    assert logged[-1]["rollout/ep_rew_mean"] == pytest.approx(np.mean([r for r, _ in native]))
    assert logged[-1]["rollout/ep_len_mean"] == pytest.approx(np.mean([n for _, n in native]))


def test_episode_info_sums_the_rewards_of_the_episode() -> None:
    venv = SB3VecEnv(ENV_ID, 2, reward_mode="dense")
    venv.seed(0)
    venv.reset()
    eos = venv.native.task.tokenizer.eos_id
    returns, lengths, seen = np.zeros(2), np.zeros(2, dtype=int), []
    rng = np.random.default_rng(0)
    for _ in range(60):
        actions = rng.integers(venv.action_space.n, size=2)
        actions[rng.random(2) < 0.1] = eos
        venv.step_async(actions)
        _, rewards, dones, infos = venv.step_wait()
        returns += rewards
        lengths += 1
        for i in range(2):
            assert ("episode" in infos[i]) == bool(dones[i])
            if dones[i]:
                episode = infos[i]["episode"]
                assert episode["l"] == lengths[i]
                assert episode["r"] == pytest.approx(returns[i], abs=1e-6)
                assert episode["r"] == pytest.approx(infos[i]["metrics"]["score"], abs=1e-6)
                assert episode["t"] >= 0
                seen.append(episode)
                returns[i], lengths[i] = 0, 0
    assert len(seen) >= 5


@pytest.mark.filterwarnings("error:.*render_mode")
def test_make_vec_env_with_render_mode_none_does_not_warn() -> None:
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(ENV_ID, n_envs=2, seed=0, env_kwargs={"render_mode": None})
    assert venv.reset()["prompt_ids"].shape[0] == 2
