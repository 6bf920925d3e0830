"""TorchRL smoke tests: ``GymEnv`` on a registered id, ``check_env_specs``, vector envs.

Skipped without torchrl (the ``clients`` extra, part of ``dev``).
"""

from __future__ import annotations

import gymnasium as gym
import pytest
from gymnasium.vector import AutoresetMode

pytest.importorskip("torchrl")

from torchrl.envs import GymEnv, GymWrapper  # noqa: E402
from torchrl.envs.utils import check_env_specs  # noqa: E402

import textgym  # noqa: E402,F401

ENV_ID = "TextSumm-Easy-v1"


def test_gym_env_builds_a_registered_id_and_passes_check_env_specs() -> None:
    # GymEnv passes frameskip=1 and drops it only if the TypeError reads like Python's own.
    env = GymEnv(ENV_ID, categorical_action_encoding=True)
    check_env_specs(env)
    core = env._env.unwrapped
    data = env.rollout(3 * (core.max_new_tokens + 1), break_when_any_done=False)
    assert data["action"].dtype.is_floating_point is False  # token ids, not one-hot floats
    assert data["next", "done"].sum() >= 2  # several episodes, reset by the rollout
    assert data["next", "reward"].min() >= 0 and data["next", "reward"].max() <= 1


def test_gym_env_takes_the_module_prefixed_id() -> None:
    env = GymEnv(f"textgym:{ENV_ID}")
    check_env_specs(env)


def test_final_infos_let_torchrl_register_the_info_dict() -> None:
    # TorchRL's info reader stores every key of the first info as a tensor, and text cannot
    # be one; with infos="final" the first info (reset) is empty.
    env = GymEnv(ENV_ID, infos="final").auto_register_info_dict()
    check_env_specs(env)
    data = env.rollout(40, break_when_any_done=False)
    assert data["next", "done"].any()


@pytest.mark.parametrize("autoreset_mode", [AutoresetMode.SAME_STEP, AutoresetMode.DISABLED])
def test_gym_wrapper_over_the_native_vector_env(autoreset_mode: AutoresetMode) -> None:
    venv = gym.make_vec(ENV_ID, num_envs=3, autoreset_mode=autoreset_mode, infos="final")
    env = GymWrapper(venv)
    assert env.batch_size == (3,)
    check_env_specs(env)
    data = env.rollout(40, break_when_any_done=False)
    assert data["next", "done"].sum() >= 3


def test_gym_wrapper_rejects_next_step_autoreset() -> None:
    # The README tells TorchRL users to pick SAME_STEP or DISABLED because of this.
    with pytest.raises(RuntimeError, match="SAME_STEP or DISABLED"):
        GymWrapper(gym.make_vec(ENV_ID, num_envs=2))
