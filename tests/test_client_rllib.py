"""RLlib smoke tests: textgym's envs under RLlib's gymnasium pin, PPO over remote env runners.

``ray[rllib]`` pins ``gymnasium==1.2.2`` (ray 2.60.0), so it is not part of ``dev``:
``make test-rllib`` runs this file in its own virtual environment, and the default run (plain
``ray`` without RLlib's dependencies) skips it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

pytest.importorskip("ray.rllib")

import ray  # noqa: E402
from ray.rllib.algorithms.ppo import PPOConfig  # noqa: E402
from ray.rllib.connectors.env_to_module import FlattenObservations  # noqa: E402
from ray.rllib.utils.metrics import (  # noqa: E402
    ENV_RUNNER_RESULTS,
    EPISODE_LEN_MEAN,
    EPISODE_RETURN_MEAN,
    NUM_EPISODES,
)

import textgym  # noqa: E402

EASY_IDS = [env_id for env_id in textgym.ENV_IDS if "-Easy-" in env_id]
ENV_ID = "TextSumm-Easy-v1"


@pytest.mark.filterwarnings("ignore:.*is out of date:DeprecationWarning")
@pytest.mark.parametrize("env_id", EASY_IDS)
def test_gymnasium_check_env_passes_under_rllibs_gymnasium(env_id: str) -> None:
    env = gym.make(env_id, render_mode="ansi")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped)
    env.close()


def test_easy_ids_cover_each_family_and_version() -> None:
    assert len(EASY_IDS) == 6
    for env_id in EASY_IDS:
        assert env_id in gym.registry


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


def ppo_config(env: str) -> PPOConfig:
    return (
        PPOConfig()
        .environment(env)
        .env_runners(
            num_env_runners=1,
            env_to_module_connector=lambda env, spaces, device: FlattenObservations(),
            # RLlib's default 60 s: on a loaded 2-core machine the runner's first sample took
            # longer, and the iteration came back without env-runner results.
            sample_timeout_s=600.0,
        )
        .training(train_batch_size_per_learner=64, minibatch_size=32, num_epochs=1)
        .debugging(seed=0)
    )


def test_ppo_trains_one_iteration_on_the_prefixed_id(ray_session: None) -> None:
    algo = ppo_config(f"textgym:{ENV_ID}").build_algo()
    try:
        result = algo.train()
    finally:
        algo.stop()
    runners = result[ENV_RUNNER_RESULTS]
    max_new_tokens = gym.make(ENV_ID).unwrapped.max_new_tokens
    assert runners[NUM_EPISODES] >= 1
    assert 0.0 <= runners[EPISODE_RETURN_MEAN] <= 1.0
    assert 1 <= runners[EPISODE_LEN_MEAN] <= max_new_tokens
    assert result["training_iteration"] == 1


def test_plain_id_fails_in_the_remote_env_runner(
    ray_session: None, caplog: pytest.LogCaptureFixture
) -> None:
    # The driver imported textgym, so the plain id is registered here, but not in the runner.
    # RLlib 2.60 logs the runner's NameNotFound and then raises an IndexError of its own from
    # EnvRunnerGroup.get_spaces, so the NameNotFound is looked for in the error and the log.
    assert ENV_ID in gym.registry
    with caplog.at_level(logging.ERROR), pytest.raises(Exception) as excinfo:
        ppo_config(ENV_ID).build_algo()
    reported = [str(excinfo.value)] + [record.getMessage() for record in caplog.records]
    assert any(
        "NameNotFound: Environment `TextSumm-Easy` doesn't exist." in text for text in reported
    )
