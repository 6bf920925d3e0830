"""Training runs of language-model policies: supervised (``sup``), SCST (``scst``) and PPO with
a KL penalty (``ppo-lm``), the last two after a supervised warm start inside the same run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from textgym._optional import require


class LMDriver:
    """Trains one LM policy as a run configuration describes (see :mod:`textgym.bench.config`).

    The warm start (``warm_start.steps`` supervised steps, for ``scst`` and ``ppo-lm``) runs
    before step 0 and is not counted in ``steps``; the step-0 evaluation scores the
    warm-started policy, so the curve shows what RL adds to it.

    Attributes:
        step: Iterations of the main algorithm completed.
        env_steps: Env steps (tokens generated) consumed by training so far.
        episodes: Training episodes so far.
    """

    unit = "iterations"

    def __init__(self, config: Mapping[str, Any]) -> None:
        require("torch", f"--algo {config['algo']}")
        require("transformers", f"--algo {config['algo']}")
        import torch

        from textgym.bench.config import ConfigError, check_device
        from textgym.policies.lm import LMActorCritic, make_envs, task_of
        from textgym.policies.lm.build import checkpoint_for_init

        model = config["model"]
        device = model.get("device", "cpu")  # older run folders lack the key
        # Here rather than only in resolve(): resumed and evaluated runs are not re-resolved,
        # and may be opened on a machine without the device they were trained on.
        check_device(device, model.get("bf16"))
        self.config = config
        self.algo = config["algo"]
        self._make_envs = make_envs
        env_kwargs = {"info_references": False, **config["env"]}  # training: no answers in info
        self.envs = make_envs(
            config["env_id"], config["n_envs"], **{"report_metrics": False, **env_kwargs}
        )
        kl_coef = config["hparams"].get("kl_coef", 0.0) or 0.0
        torch.manual_seed(config["seed"])  # the weights' initialisation (init=random too)
        name, init = model["name"] or None, model.get("init")  # older run folders lack init
        try:
            # A Hub name or a local save_pretrained folder, a BERT2BERT built from one, or
            # the config of one (random weights); None: the tiny model of model.arch.
            spec = checkpoint_for_init(name, init, tokenizer=task_of(self.envs).tokenizer)
            self.policy = LMActorCritic.from_env(
                self.envs,
                spec,
                arch=model["arch"],
                width=model["width"],
                layers=model["layers"],
                heads=model["heads"],
                reference="frozen" if kl_coef > 0 else None,
                device=device,
                bf16=model.get("bf16"),
            )
        except (ValueError, TypeError, OSError) as error:  # the model the config names
            self.envs.close()
            named = f"model.name={name or 'null'}, model.init={init or 'null'}"
            raise ConfigError(f"{named}: {error}") from None
        self.env_steps = 0
        self.episodes = 0
        self.trainer: Any = None
        self._eval_envs: dict[str, Any] = {}
        if self.algo == "sup":
            self.trainer = self._supervised(config["steps"], config["hparams"])

    @property
    def step(self) -> int:
        return 0 if self.trainer is None else int(self.trainer.iteration)

    def _supervised(self, steps: int, hparams: Mapping[str, Any]) -> Any:
        from textgym.algos import SupervisedConfig, SupervisedTrainer

        config = SupervisedConfig(steps=steps, seed=self.config["seed"], **hparams)
        return SupervisedTrainer(self.policy, self.envs, config)

    def prepare(self) -> None:
        """The warm start (if the algorithm has one) and the main trainer."""
        if self.trainer is not None:
            return
        warm = self.config["warm_start"]
        if warm["steps"] > 0:
            hparams = {k: v for k, v in warm.items() if k != "steps"}
            trainer = self._supervised(warm["steps"], hparams)
            for _ in range(warm["steps"]):
                trainer.step()
            trainer.finish()  # the warm-started weights become the KL reference
        self._build_main()

    def _build_main(self) -> None:
        from textgym.algos import PPOConfig, PPOTrainer, SCSTConfig, SCSTTrainer

        common = {"iterations": self.config["steps"], "seed": self.config["seed"]}
        if self.algo == "scst":
            self.trainer = SCSTTrainer(
                self.policy, self.envs, SCSTConfig(**common, **self.config["hparams"])
            )
        else:
            self.trainer = PPOTrainer(
                self.policy, self.envs, PPOConfig(**common, **self.config["hparams"])
            )

    def train_until(self, target: int, on_progress: Any = None) -> dict[str, float]:
        """Run iterations until ``step == target``.

        Returns:
            The means over these iterations of the trainer's statistics (``perf/`` timings
            left out: they are not reproducible) and ``train/episode_return``, the mean
            sampled episode score (the SFT loss for ``sup``).
        """
        self.prepare()
        window: dict[str, list[float]] = {}
        while self.trainer.iteration < target:
            stats = self.trainer.step()
            self.env_steps += int(stats.get("env/tokens", 0))
            self.episodes += int(stats.get("env/episodes", 0))
            for key, value in stats.items():
                if not key.startswith(("perf/", "env/")):
                    window.setdefault(key, []).append(float(value))
            if on_progress is not None:
                on_progress(self.step)
        if self.trainer.iteration >= self.config["steps"]:
            self.trainer.finish()
        result = {key: float(np.mean(values)) for key, values in window.items()}
        for name in ("train/score_sampled", "train/score"):
            if name in result:
                result["train/episode_return"] = result[name]
                break
        return result

    def evaluate(self, split: str, episodes: int, predictions_path: Any = None) -> dict[str, float]:
        """Greedy decoding of samples ``0..episodes-1`` of ``split``
        (:func:`textgym.algos.evaluate`)."""
        from textgym.algos import evaluate

        self.prepare()
        if split not in self._eval_envs:
            size = max(1, min(self.config["eval_envs"], episodes))
            self._eval_envs[split] = self._make_envs(
                self.config["env_id"], size, split=split, **self.config["env"]
            )
        return evaluate(
            self.policy, self._eval_envs[split], max_samples=episodes,
            predictions_path=predictions_path,
        )  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """The trainer's state (policy, optimizer, RNGs, env RNGs) and the counters."""
        self.prepare()
        return {
            "trainer": self.trainer.state_dict(),
            "env_steps": self.env_steps,
            "episodes": self.episodes,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s output (the warm start is not re-run)."""
        if self.trainer is None:
            self._build_main()
        self.trainer.load_state_dict(state["trainer"])
        self.env_steps = int(state["env_steps"])
        self.episodes = int(state["episodes"])

    def close(self) -> None:
        self.envs.close()
        for envs in self._eval_envs.values():
            envs.close()
