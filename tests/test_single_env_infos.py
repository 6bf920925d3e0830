"""``infos="final"`` on single envs: infos only at episode ends, as in the native vector env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env, data_equivalence

import textgym

N = 4


def random_or_eos(env: gym.Env, rng: np.random.Generator) -> int:
    """A random token, or EOS one time in eight, so that episodes end at varied lengths."""
    core = env.unwrapped
    if rng.random() < 0.125:
        return core.tokenizer.eos_id
    return int(rng.integers(core.action_space.n))


@pytest.mark.parametrize("env_id", textgym.BENCHMARK)
@pytest.mark.parametrize("reward_mode", ["terminal", "dense"])
def test_final_infos_are_the_full_infos_of_episode_ends_only(env_id: str, reward_mode: str):
    full = gym.make(env_id, reward_mode=reward_mode)
    final = gym.make(env_id, reward_mode=reward_mode, infos="final")
    assert full.unwrapped.infos_mode == "full"  # the registered default is unchanged
    rng = np.random.default_rng(0)
    episodes = 0
    for seed in range(4):
        obs_full, info_full = full.reset(seed=seed)
        obs_final, info_final = final.reset(seed=seed)
        assert info_final == {} and "generated" in info_full
        assert data_equivalence(obs_full, obs_final, exact=True)
        done = False
        while not done:
            action = random_or_eos(full, rng)
            *rest_full, info_full = full.step(action)
            *rest_final, info_final = final.step(action)
            assert data_equivalence(rest_full, rest_final, exact=True)
            done = rest_full[2]
            if done:
                assert data_equivalence(info_final, info_full, exact=True)
                assert "metrics" in info_final and "generated" in info_final
                episodes += 1
            else:
                assert info_final == {}
    assert episodes == 4


@pytest.mark.parametrize("reward_mode", ["terminal", "dense"])
def test_sync_vector_env_of_final_info_envs_equals_the_native_final_mode(reward_mode: str):
    kwargs = {"reward_mode": reward_mode, "infos": "final"}
    # vectorization_mode="sync" passes infos= to every single env.
    sync = gym.make_vec("TextDial-v1", N, vectorization_mode="sync", **kwargs)
    native = gym.make_vec("TextDial-v1", N, **kwargs)
    assert all(env.unwrapped.infos_mode == "final" for env in sync.envs)
    assert data_equivalence(sync.reset(seed=5), native.reset(seed=5), exact=True)
    rng = np.random.default_rng(1)
    ends = 0
    for step in range(80):
        actions = np.array([random_or_eos(env, rng) for env in sync.envs], dtype=np.int64)
        expected = sync.step(actions)
        assert data_equivalence(expected, native.step(actions), exact=True), f"step {step}"
        ends += int(expected[2].sum())
        assert bool(expected[4]) == bool(expected[2].any())  # infos only where episodes end
    assert ends >= 10


def test_final_infos_env_passes_check_env_and_round_trips_its_spec() -> None:
    env = gym.make("TextSumm-Easy-v1", infos="final")
    check_env(env.unwrapped, skip_render_check=True)
    again = gym.make(gym.envs.registration.EnvSpec.from_json(env.spec.to_json()))
    assert again.unwrapped.infos_mode == "final"
    assert again.reset(seed=0)[1] == {}


def test_unknown_info_mode_is_named() -> None:
    with pytest.raises(ValueError, match=r"infos: expected one of full, final, got 'none'"):
        gym.make("TextSumm-v1", infos="none")
