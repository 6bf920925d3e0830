"""Every registered id against the API checkers, determinism, pickling and spec round trips."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.utils.env_checker import data_equivalence

import textgym

ALL_IDS = list(textgym.ENV_IDS)


def random_rollout(env: gym.Env, seed: int, episodes: int = 3) -> list:
    """Observations, rewards, flags and infos of seeded random episodes."""
    env.action_space.seed(seed)
    trace = []
    for episode in range(episodes):
        trace.append(env.reset(seed=seed if episode == 0 else None))
        done = False
        while not done:
            step = env.step(env.action_space.sample())
            trace.append(step)
            done = step[2] or step[3]
    return trace


def test_registry_lists_three_families_in_three_difficulties_and_two_versions() -> None:
    assert textgym.BENCHMARK == ("TextTrans-v1", "TextSumm-v1", "TextDial-v1")
    assert len(ALL_IDS) == 18  # v0 and v1 of each family and difficulty
    for env_id in ALL_IDS:
        assert env_id in gym.registry


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_gymnasium_check_env_passes_without_warnings(env_id: str) -> None:
    env = gym.make(env_id, render_mode="ansi")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped)
    env.close()


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_sb3_check_env_passes_without_warnings(env_id: str) -> None:
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    env = gym.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_checker.check_env(env, warn=True)
    env.close()


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_same_seed_same_rollout(env_id: str) -> None:
    first = random_rollout(gym.make(env_id), seed=7)
    second = random_rollout(gym.make(env_id), seed=7)
    assert data_equivalence(first, second, exact=True)
    other = random_rollout(gym.make(env_id), seed=8)
    assert not data_equivalence(first, other, exact=True)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_observations_are_fresh_arrays(env_id: str) -> None:
    env = gym.make(env_id)
    obs, _ = env.reset(seed=0)
    obs2, *_ = env.step(env.unwrapped.reference_action())
    for key in obs:
        assert obs[key] is not obs2[key]
        assert not np.shares_memory(obs[key], obs2[key])


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_pickled_env_continues_identically(env_id: str) -> None:
    env = gym.make(env_id)
    env.reset(seed=3)
    env.step(5)
    clone = pickle.loads(pickle.dumps(env))
    env.action_space.seed(1)
    actions = [env.action_space.sample() for _ in range(env.unwrapped.max_new_tokens)]
    for action in actions:
        a, b = env.step(action), clone.step(action)
        assert data_equivalence(a, b, exact=True)
        if a[2]:
            break
    assert data_equivalence(env.reset(seed=11), clone.reset(seed=11), exact=True)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_spec_round_trips_through_json(env_id: str) -> None:
    env = gym.make(env_id, reward_mode="dense", split="validation", render_mode="ansi")
    restored = EnvSpec.from_json(env.spec.to_json())
    assert restored == env.spec
    remade = gym.make(restored)
    assert data_equivalence(env.reset(seed=2), remade.reset(seed=2), exact=True)
    assert remade.unwrapped.reward_mode == "dense"


@pytest.mark.parametrize("env_id", textgym.BENCHMARK)
def test_same_seed_same_episode_in_another_process(env_id: str) -> None:
    code = (
        "import json, gymnasium as gym, textgym\n"
        f"env = gym.make({env_id!r})\n"
        "env.action_space.seed(5)\n"
        "out = []\n"
        "for ep in range(4):\n"
        "    obs, info = env.reset(seed=5 if ep == 0 else None)\n"
        "    done = False\n"
        "    while not done:\n"
        "        obs, r, term, trunc, info = env.step(env.action_space.sample())\n"
        "        done = term or trunc\n"
        "    out.append([info['sample_id'], info['generated'], r, obs['generated_ids'].tolist()])\n"
        "print(json.dumps(out))\n"
    )
    runs = [
        json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout)
        for _ in range(2)
    ]  # fmt: skip
    assert runs[0] == runs[1]
    # And the same as in this process.
    env = gym.make(env_id)
    env.action_space.seed(5)
    here = []
    for ep in range(4):
        env.reset(seed=5 if ep == 0 else None)
        done = False
        while not done:
            obs, r, term, trunc, info = env.step(env.action_space.sample())
            done = term or trunc
        here.append([info["sample_id"], info["generated"], r, obs["generated_ids"].tolist()])
    assert here == runs[0]


def test_module_prefix_make_works_without_importing_textgym_first() -> None:
    code = (
        "import gymnasium as gym\n"
        "env = gym.make('textgym:TextTrans-v0')\n"
        "obs, info = env.reset(seed=0)\n"
        "print(sorted(obs))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "prompt_ids" in out.stdout


def test_import_is_cheap() -> None:
    code = (
        "import sys, textgym\n"
        "heavy = [m for m in ('torch', 'transformers', 'datasets', 'stable_baselines3', 'nltk',"
        " 'textgym.tasks.translation.env') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
