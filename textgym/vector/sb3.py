"""A stable-baselines3 ``VecEnv`` over the native vector env.

SB3 algorithms take their own ``VecEnv`` API (``step_async``/``step_wait``, same-step autoreset,
one info dict per env with ``terminal_observation``). :class:`SB3VecEnv` presents a
:class:`~textgym.vector.env.TextVectorEnv` that way, so PPO and friends step N episodes with
numpy instead of N Python envs, and learn exactly what they learn on ``DummyVecEnv`` over single
envs with the same seeds (tested). Each episode end carries ``info["episode"]``, as under
SB3's ``VecMonitor``, so that ``rollout/ep_rew_mean`` and ``ep_len_mean`` are logged.

Importing this module imports stable-baselines3 (and torch).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

try:
    from stable_baselines3.common.vec_env.base_vec_env import VecEnv
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'textgym.vector.sb3 needs stable-baselines3: pip install "textgym[sb3]"'
    ) from exc

from textgym.vector.env import TextVectorEnv


class SB3VecEnv(VecEnv):
    """SB3's ``VecEnv`` API over a native textgym vector env.

    Args:
        env_id: A registered textgym id, e.g. ``"TextSumm-v0"``.
        num_envs: Number of parallel episodes.
        **kwargs: Keyword arguments of the task (``reward_mode``, ``difficulty``...).

    Seeding follows SB3: ``venv.seed(s)`` (which ``PPO(seed=s)`` calls) makes the next
    ``reset`` seed env ``i`` with ``s + i``, as ``DummyVecEnv`` does.

    Episode statistics follow ``VecMonitor``: the info of an env whose episode ends holds
    ``"episode": {"r": return, "l": length, "t": seconds since this VecEnv was made}``, the
    return summed in float32 as ``VecMonitor`` sums it. SB3 reads it for ``rollout/ep_rew_mean``
    (a bare custom ``VecEnv`` would silently log no returns). Wrapping ``VecMonitor`` around it
    still counts each episode once: ``VecMonitor`` replaces the entry with its own, equal one.
    """

    def __init__(self, env_id: str, num_envs: int, **kwargs: Any) -> None:
        if kwargs.pop("autoreset_mode", None) not in (None, AutoresetMode.SAME_STEP):
            raise ValueError("autoreset_mode: SB3 resets in the same step; leave it unset")
        native = gym.make_vec(
            env_id, num_envs, autoreset_mode=AutoresetMode.SAME_STEP, infos="final", **kwargs
        )
        assert isinstance(native, TextVectorEnv)
        self.native = native
        self._actions: np.ndarray | None = None
        super().__init__(num_envs, native.single_observation_space, native.single_action_space)
        self.metadata = {"render_modes": []}
        self._t_start = time.time()
        self._episode_returns = np.zeros(num_envs, dtype=np.float32)
        self._episode_lengths = np.zeros(num_envs, dtype=np.int64)

    def reset(self) -> dict[str, np.ndarray]:
        if any(self._options):
            raise NotImplementedError("set_options: per-env reset options are not supported")
        obs, _ = self.native.reset(seed=list(self._seeds))
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        # A reset abandons running episodes, as VecMonitor's reset does.
        self._episode_returns[:] = 0
        self._episode_lengths[:] = 0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs).astype(np.int64)

    def step_wait(self) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[dict]]:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async()")
        obs, rewards, terminated, truncated, infos = self.native.step(self._actions)
        self._actions = None
        dones = terminated | truncated
        # float32 rewards, as DummyVecEnv stores them.
        rewards = rewards.astype(np.float32)
        self._episode_returns += rewards
        self._episode_lengths += 1
        per_env: list[dict[str, Any]] = [
            {"TimeLimit.truncated": bool(truncated[i] and not terminated[i])}
            for i in range(self.num_envs)
        ]
        elapsed = round(time.time() - self._t_start, 6)
        for i in np.flatnonzero(dones):
            per_env[i].update(_env_info(infos["final_info"], int(i)))
            per_env[i]["terminal_observation"] = infos["final_obs"][i]
            per_env[i]["episode"] = {
                "r": float(self._episode_returns[i]),
                "l": int(self._episode_lengths[i]),
                "t": elapsed,
            }
        self._episode_returns[dones] = 0
        self._episode_lengths[dones] = 0
        return obs, rewards, dones, per_env

    def close(self) -> None:
        self.native.close()

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        value = getattr(self.native.task, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        raise NotImplementedError("set_attr: the native vector env shares one task configuration")

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any) -> list:
        raise NotImplementedError(
            f"env_method({method_name!r}): not available on the native vector env; use "
            "DummyVecEnv over single envs for per-env methods such as action_masks"
        )

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def _get_indices(self, indices: Any) -> Sequence[int]:
        if indices is None:
            return range(self.num_envs)
        return [indices] if isinstance(indices, int) else list(indices)


def _env_info(batched: dict[str, Any], i: int) -> dict[str, Any]:
    """Env ``i``'s own info out of a ``VectorEnv._add_info`` layout (arrays plus ``_key`` masks)."""
    out: dict[str, Any] = {}
    for key, value in batched.items():
        if key.startswith("_") or not batched[f"_{key}"][i]:
            continue
        out[key] = _env_info(value, i) if isinstance(value, dict) else value[i]
        if isinstance(out[key], np.generic):
            out[key] = out[key].item()
    return out
