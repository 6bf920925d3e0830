"""Training runs of stable-baselines3 agents (PPO, A2C, DQN, sb3-contrib's MaskablePPO).

The run is cut into chunks at the evaluation points; between chunks the complete training
state can be checkpointed (model and optimizer, the training envs mid-episode, replay buffer,
every RNG) so that a resumed run continues exactly where the interrupted one stopped.
"""

from __future__ import annotations

import io
import pickle
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import gymnasium as gym
import numpy as np

from textgym._io import atomic_write_jsonl
from textgym._optional import require

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm
    from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

    from textgym.core.env import TokenMDPEnv
    from textgym.wrappers import ActionMaskWrapper


def _algo_class(algo: str) -> type[BaseAlgorithm]:
    require("stable_baselines3", f"--algo {algo}")
    if algo == "maskable-ppo":
        require("sb3_contrib", "--algo maskable-ppo")
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    import stable_baselines3 as sb3

    algos: dict[str, type[BaseAlgorithm]] = {"ppo": sb3.PPO, "a2c": sb3.A2C, "dqn": sb3.DQN}
    return algos[algo]


class SB3Driver:
    """Trains one SB3 agent as a run configuration describes (see :mod:`textgym.bench.config`).

    Attributes:
        step: Env steps taken so far (summed over the training envs).
        episodes: Training episodes finished so far.
    """

    unit = "env steps"

    def __init__(self, config: Mapping[str, Any]) -> None:
        from stable_baselines3.common.callbacks import BaseCallback
        from stable_baselines3.common.env_util import make_vec_env

        from textgym.policies.sb3 import policy_kwargs

        self.config = config
        self.algo = config["algo"]
        self._cls = _algo_class(self.algo)
        self._bigram = None
        if self.algo == "maskable-ppo":
            from textgym.wrappers import fit_bigram

            # Fitted on the train split only: evaluation references are never seen by the mask.
            self._bigram = fit_bigram(
                config["env_id"], num_samples=config["mask"]["fit_samples"], **config["env"]
            )
        # Training envs hide the references from info (the agent must not read the answer);
        # render_mode: SB3 asks for rgb_array otherwise.
        env_kwargs = {"info_references": False, **config["env"], "render_mode": None}
        self.envs = make_vec_env(
            config["env_id"],
            n_envs=config["n_envs"],
            seed=config["seed"],
            env_kwargs=env_kwargs,
            wrapper_class=self._wrap if self._bigram is not None else None,
        )
        hparams = dict(config["hparams"])
        try:
            self.model = self._cls(
                "MultiInputPolicy",
                self.envs,
                policy_kwargs=policy_kwargs(**config["policy"]),
                seed=config["seed"],
                device="cpu",
                verbose=0,
                **hparams,
            )
        except (TypeError, ValueError, AssertionError) as exc:
            from textgym.bench.config import ConfigError

            self.envs.close()
            raise ConfigError(f"hparams: {self._cls.__name__} rejected them: {exc}") from None
        self.episodes = 0
        self._started = False
        driver = self

        class _Hooks(BaseCallback):
            """Counts finished episodes and keeps schedules spanning the whole run."""

            def _on_training_start(self) -> None:
                # learn() is called once per chunk; progress-based schedules (DQN's epsilon,
                # any learning-rate schedule) must see the run's total, not the chunk's.
                self.model._total_timesteps = int(driver.config["steps"])

            def _on_step(self) -> bool:
                driver.episodes += int(np.sum(self.locals["dones"]))
                return True

            def _on_rollout_end(self) -> None:
                if driver.on_progress is not None:
                    driver.on_progress(int(self.model.num_timesteps))

        self._hooks = _Hooks()
        self.on_progress: Any = None

    def _wrap(self, env: gym.Env) -> ActionMaskWrapper:
        from textgym.wrappers import ActionMaskWrapper

        mask = self.config["mask"]
        return ActionMaskWrapper(env, bigram=self._bigram, k=mask["k"], lexicon_k=mask["lexicon_k"])

    @property
    def step(self) -> int:
        return int(self.model.num_timesteps)

    def prepare(self) -> None:
        """Nothing to do before the first evaluation (the model is built)."""

    def train_until(self, target: int, on_progress: Any = None) -> dict[str, float]:
        """Train until at least ``target`` env steps (SB3 stops at the end of a rollout, so a
        run may pass ``target`` by less than one rollout).

        Returns:
            ``train/episode_return`` and ``train/episode_length``: means over SB3's window of
            the last 100 training episodes.
        """
        remaining = target - self.step
        self.on_progress = on_progress
        if remaining > 0:
            self.model.learn(
                remaining,
                callback=self._hooks,
                reset_num_timesteps=not self._started,
                progress_bar=False,
            )
            self._started = True
        return self.train_stats()

    def train_stats(self) -> dict[str, float]:
        """Means over SB3's window of recent training episodes (empty before the first)."""
        buffer: Sequence[dict[str, Any]] = self.model.ep_info_buffer or []
        if not buffer:
            return {}
        return {
            "train/episode_return": float(np.mean([ep["r"] for ep in buffer])),
            "train/episode_length": float(np.mean([ep["l"] for ep in buffer])),
        }

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self, split: str, episodes: int, predictions_path: Any = None) -> dict[str, float]:
        """The deterministic policy on samples ``0..episodes-1`` of ``split`` (every algorithm
        and seed sees the same episodes).

        Args:
            split: Dataset split.
            episodes: How many samples, from index 0 (fewer if the split is smaller).
            predictions_path: Write one JSON line per sample there, atomically.

        Returns:
            ``eval/<metric>`` means (``score`` and the task's metrics), ``eval/length`` and
            ``eval/num_samples``.
        """
        env = gym.make(self.config["env_id"], split=split, **self.config["env"])
        masked = self._wrap(env) if self._bigram is not None else None
        if masked is not None:
            env = masked
        total = min(episodes, len(cast("TokenMDPEnv", env.unwrapped).dataset))
        rows: list[dict[str, Any]] = []
        for index in range(total):
            obs, info = env.reset(seed=0 if index == 0 else None, options={"sample_id": index})
            terminated = truncated = False
            length = 0
            while not (terminated or truncated):
                # MaskablePPO.predict's keyword (BaseAlgorithm.predict has none).
                extra: dict[str, Any] = (
                    {"action_masks": masked.action_masks()} if masked is not None else {}
                )
                action, _ = self.model.predict(obs, deterministic=True, **extra)
                obs, _, terminated, truncated, info = env.step(int(action))
                length += 1
            rows.append(_prediction(index, info, length))
        env.close()
        if predictions_path is not None:
            atomic_write_jsonl(predictions_path, rows)
        return summarize_predictions(rows)

    # -- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training exactly (bytes and plain values)."""
        import cloudpickle
        import torch

        model_zip = io.BytesIO()
        self.model.save(model_zip)
        buffer = getattr(self.model, "replay_buffer", None)
        return {
            "model": model_zip.getvalue(),
            "envs": cloudpickle.dumps(self.envs),
            "replay_buffer": pickle.dumps(buffer) if buffer is not None else None,
            "episodes": self.episodes,
            "started": self._started,
            "rng": {
                "torch": torch.get_rng_state(),
                "numpy": np.random.get_state(),
                "python": random.getstate(),
                "action_space": self.model.action_space.np_random.bit_generator.state,
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s output."""
        import cloudpickle
        import torch

        self.envs.close()
        self.envs = cloudpickle.loads(state["envs"])
        # force_reset=False keeps the observation the interrupted run would have acted on.
        self.model = self._cls.load(
            io.BytesIO(state["model"]), env=self.envs, device="cpu", force_reset=False
        )
        if state["replay_buffer"] is not None:  # saved only by off-policy algorithms (DQN)
            cast("OffPolicyAlgorithm", self.model).replay_buffer = pickle.loads(
                state["replay_buffer"]
            )
        self.episodes = int(state["episodes"])
        self._started = bool(state["started"])
        # load() re-seeds every generator from the stored seed; put back where they were.
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])
        self.model.action_space.np_random.bit_generator.state = rng["action_space"]

    def close(self) -> None:
        self.envs.close()


def _prediction(index: int, info: Mapping[str, Any], length: int) -> dict[str, Any]:
    return {
        "index": index,
        "sample_id": info["sample_id"],
        "source": info["source"],
        "references": list(info["references"]),
        "prediction": info["generated"],
        "length": length,
        "metrics": dict(info["metrics"]),
    }


def summarize_predictions(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Mean of every per-sample metric as ``eval/<name>``, plus length and sample count."""
    names = list(rows[0]["metrics"]) if rows else []
    result = {f"eval/{n}": float(np.mean([r["metrics"][n] for r in rows])) for n in names}
    result["eval/length"] = float(np.mean([r["length"] for r in rows])) if rows else 0.0
    result["eval/num_samples"] = float(len(rows))
    return result
