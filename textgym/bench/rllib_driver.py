"""Training runs of RLlib agents on the new API stack: PPO (``rllib-ppo``) and APPO
(``rllib-appo``) with textgym's :class:`~textgym.policies.rllib.TokenRLModule`.

Each env runner steps one native vector env (``gym_env_vectorize_mode="vector_entry_point"``,
the env given as ``textgym:ENV_ID`` so that remote runners register textgym's ids); the run
configuration's ``rllib`` section sets the number of runners, envs per runner, learners and
GPUs per learner. Evaluation is greedy (the arg-max of the module's logits) in the driver
process, on the same samples as SB3 runs, so the run folder has the same ``metrics.csv`` columns
and evaluation points as an SB3 run's.

Checkpoints: at each evaluation point the algorithm is saved with ``Algorithm.save_to_path``
into ``checkpoints/rllib/step_<N>/`` (written to a temporary folder, then renamed, so a folder
with that name is complete); the harness's ``latest.pt``/``final.pt`` hold its name and the
run's counters. The previous checkpoint folder is kept until the next one is referenced, older
ones are removed. A resumed run restores the algorithm from that folder; ``textgym eval`` only
loads the RLModule from it (no Ray cluster is started).

Reproducibility: at the start of every training chunk (from one evaluation point to the next)
the env runners reset their envs and, like the learners, re-seed their generators from the run
seed and the step. With PPO, one learner and a fixed number of env runners, a resumed run then
continues exactly as the uninterrupted run would have (CPU). APPO samples asynchronously: its
runs are not reproducible step for step.
"""

from __future__ import annotations

import inspect
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np

from textgym._optional import require

#: algo -> (module of the algorithm config, its class, the RLModule class in
#: textgym.policies.rllib).
_ALGORITHMS = {
    "rllib-ppo": ("ray.rllib.algorithms.ppo", "PPOConfig", "TokenRLModule"),
    "rllib-appo": ("ray.rllib.algorithms.appo", "APPOConfig", "TokenAPPORLModule"),
}
# Arguments of training() that take objects, not hyper-parameter values, or that the run sets.
_RESERVED = frozenset({
    "self", "kwargs", "learner_class", "learner_connector", "learner_config_dict",
    "add_default_connectors_to_learner_pipeline", "model", "optimizer",
})  # fmt: skip
_CHECKPOINTS = "rllib"  # sub-folder of the run's checkpoints/


def _config_class(algo: str) -> type:
    """The RLlib ``AlgorithmConfig`` class of ``algo``; an ImportError naming the extra if RLlib
    is missing."""
    try:
        require("ray.rllib", f"--algo {algo}")
    except ImportError as exc:
        raise ImportError(
            f"{exc} -- in a virtual environment of its own: RLlib pins gymnasium "
            "(`make test-rllib` creates one, .venv-rllib)"
        ) from exc
    import importlib

    module, name, _ = _ALGORITHMS[algo]
    return getattr(importlib.import_module(module), name)


def training_arguments(algo: str) -> list[str]:
    """Every hyper-parameter ``hparams`` may set for an RLlib algorithm: the arguments of its
    config's ``training()`` (over the class hierarchy: APPO's passes the rest to IMPALA's and
    the base class's), less object-valued ones."""
    names: set[str] = set()
    for cls in _config_class(algo).__mro__:
        method = cls.__dict__.get("training")
        if method is not None:
            names.update(inspect.signature(method).parameters)
    return sorted(names - _RESERVED)


def step_plan(config: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """Planned steps and a notice, as :func:`textgym.bench.train.step_plan` (which calls it).

    RLlib trains in iterations of at least ``train_batch_size_per_learner`` (times the learners)
    env steps, sampled in whole vector steps in which an env that is resetting does not count,
    so the steps cannot be planned exactly; the notice says so when ``steps`` or
    ``eval.every`` is not a multiple of the batch.
    """
    steps, every = int(config["steps"]), int(config["eval"]["every"])
    batch = config["hparams"].get("train_batch_size_per_learner")
    if not isinstance(batch, int) or batch < 1:
        return None, None
    batch *= max(1, int(config["rllib"]["num_learners"]))
    if steps % batch == 0 and every % batch == 0:
        return None, None
    return None, (
        f"RLlib trains in iterations of at least {batch:,} env steps "
        f"(train_batch_size_per_learner x learners): the evaluations and the end fall on the "
        f"first iteration end at or past each eval.every={every:,} and --steps {steps:,}"
    )


class RLlibDriver:
    """Trains one RLlib agent as a run configuration describes (see
    :mod:`textgym.bench.config`).

    The RLlib algorithm (and, if none is running, a local Ray instance) is built on the first
    :meth:`prepare` or :meth:`train_until`, not in the constructor: ``textgym eval`` loads
    only the RLModule. The constructor validates the configuration with RLlib.

    Attributes:
        step: Env steps sampled so far (summed over the env runners' envs).
        episodes: Training episodes finished so far.
    """

    unit = "env steps"

    def __init__(self, config: Mapping[str, Any]) -> None:
        from textgym.bench.config import ConfigError

        self.config = config
        self.algo_name = config["algo"]
        cls = _config_class(self.algo_name)
        import gymnasium as gym
        from ray.rllib.core.rl_module.rl_module import RLModuleSpec

        from textgym.policies import rllib as policies

        try:
            policies.check_model_config(config["policy"])
        except ValueError as exc:
            raise ConfigError(f"policy: {exc}") from None
        module_class = getattr(policies, _ALGORITHMS[self.algo_name][2])
        self._spec = RLModuleSpec(module_class=module_class, model_config=dict(config["policy"]))
        self.algorithm_config = self._algorithm_config(cls)
        # The evaluation module: built from a single env's spaces, weights from the learner.
        probe = gym.make(config["env_id"], **config["env"])
        spec = RLModuleSpec(
            module_class=module_class,
            observation_space=probe.observation_space,
            action_space=probe.action_space,
            model_config=dict(config["policy"]),
            inference_only=True,
        )
        probe.close()
        # A TorchRLModule (an nn.Module), typed by RLlib as a plain RLModule.
        self._module: Any = cast(Any, spec.build())
        self._module.train(False)  # torch's eval mode
        self.step = 0
        self.episodes = 0
        self._algo: Any = None
        self._started_ray = False
        self._folder: Path | None = None
        self._restore: Path | None = None  # a checkpoint to restore the algorithm from
        self._current: Path | None = None  # the checkpoint the last state_dict referenced

    def _algorithm_config(self, cls: type) -> Any:
        """The RLlib ``AlgorithmConfig`` of the run, validated by RLlib."""
        from textgym.bench.config import ConfigError
        from textgym.bench.rllib_stats import EpisodeSums

        config, run = self.config, self.config["rllib"]
        runners: dict[str, Any] = {
            "num_env_runners": run["n_env_runners"],
            "num_envs_per_env_runner": run["envs_per_runner"],
            "num_cpus_per_env_runner": run["num_cpus_per_env_runner"],
            "gym_env_vectorize_mode": "vector_entry_point",
            "sample_timeout_s": float(run["sample_timeout_s"]),
        }
        if run["rollout_fragment_length"] is not None:
            runners["rollout_fragment_length"] = run["rollout_fragment_length"]
        # Training envs hide the references from info (the agent must not read the answer) and
        # report infos only at episode ends (RLlib does not read them; text is then decoded
        # once per episode).
        env_config = {"info_references": False, **config["env"], "infos": "final"}
        try:
            algorithm_config = (
                cls()
                # The new API stack (RLModule, Learner, EnvRunner), default since RLlib 2.40:
                # asked for so that no version falls back to the old one.
                .api_stack(
                    enable_rl_module_and_learner=True, enable_env_runner_and_connector_v2=True
                )
                .environment(f"textgym:{config['env_id']}", env_config=env_config)
                .framework("torch")
                .env_runners(**runners)
                .learners(
                    num_learners=run["num_learners"],
                    num_gpus_per_learner=run["num_gpus_per_learner"],
                )
                .rl_module(rl_module_spec=self._spec)
                .training(**config["hparams"])
                .callbacks(EpisodeSums)
                # One training step per train(): the run decides where iterations end.
                .reporting(
                    min_time_s_per_iteration=0,
                    min_train_timesteps_per_iteration=0,
                    min_sample_timesteps_per_iteration=0,
                )
                .debugging(seed=int(config["seed"]), log_level="WARN")
            )
            algorithm_config.validate()
        except (TypeError, ValueError, KeyError) as exc:
            raise ConfigError(
                f"hparams or rllib: RLlib's {cls.__name__} rejected them: {exc}"
            ) from None
        return algorithm_config

    def attach(self, folder: str | os.PathLike[str]) -> None:
        """The run folder, where RLlib checkpoints are written and read (called by
        :func:`textgym.bench.train.train` and :func:`~textgym.bench.train.evaluate_run`)."""
        self._folder = Path(folder)

    # -- the RLlib algorithm ---------------------------------------------------------------
    def _ensure_algo(self) -> Any:
        if self._algo is not None:
            return self._algo
        import ray

        if not ray.is_initialized():
            run = self.config["rllib"]
            # The driver (and its local learner) plus each runner and remote learner one CPU:
            # a loaded or small machine must still place them all (CPUs are counted, not
            # reserved).
            needed = 1 + run["n_env_runners"] * run["num_cpus_per_env_runner"]
            needed += run["num_learners"]
            ray.init(
                num_cpus=max(os.cpu_count() or 1, needed),
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
            self._started_ray = True
        self._algo = self.algorithm_config.build_algo()
        if self._restore is not None:
            self._restore_algo(self._restore)
            self._restore = None
        self._sync_module()
        return self._algo

    def _restore_algo(self, path: Path) -> None:
        self._algo.restore_from_path(str(path.resolve()))
        # Restoring sets the learners' state; the env runners must act with the same weights.
        self._algo.env_runner_group.sync_weights(
            from_worker_or_learner_group=self._algo.learner_group, inference_only=True
        )

    def _sync_module(self) -> None:
        """Copies the learner's weights into the evaluation module."""
        from ray.rllib.core import DEFAULT_MODULE_ID

        weights = self._algo.learner_group.get_weights(module_ids=[DEFAULT_MODULE_ID])
        self._module.set_state(weights[DEFAULT_MODULE_ID])

    def _reseed(self) -> None:
        """Re-seed the env runners (and reset their envs) and the learners from the run seed
        and the step, so that a chunk trains the same after a resume as without one."""
        entropy = [int(self.config["seed"]), self.step]
        seed = int(np.random.SeedSequence(entropy).generate_state(1)[0])
        seed %= 2**31 - 1000  # room for the runner index

        def runner(env_runner: Any, base: int = seed) -> None:
            from ray.rllib.utils.debug import update_global_seed_if_necessary

            own = base + (getattr(env_runner, "worker_index", 0) or 0)
            update_global_seed_if_necessary("torch", own)
            # RLlib seeds an env runner's envs at its first reset only; these (private)
            # attributes make the next sample() reset them with the new seed.
            if hasattr(env_runner, "_needs_initial_reset"):
                env_runner._seed = own
                env_runner._needs_initial_reset = True

        def learner(_learner: Any, base: int = seed) -> None:
            from ray.rllib.utils.debug import update_global_seed_if_necessary

            update_global_seed_if_necessary("torch", base)

        algo = self._algo
        # The env runners act with the learner's weights, set here and waited for: RLlib's
        # sync_weights (after a restore, after each iteration) does not wait for the runners,
        # so a chunk could otherwise start with weights that are not yet (or not the) ones a
        # continuing run has. No WEIGHTS_SEQ_NO in the state: the runner always takes it.
        from ray.rllib.core import COMPONENT_LEARNER, COMPONENT_RL_MODULE

        state = algo.learner_group.get_state(
            components=[f"{COMPONENT_LEARNER}/{COMPONENT_RL_MODULE}"], inference_only=True
        )[COMPONENT_LEARNER]
        weights = {COMPONENT_RL_MODULE: state[COMPONENT_RL_MODULE]}
        algo.env_runner_group.foreach_env_runner(
            lambda env_runner, w=weights: env_runner.set_state(w), local_env_runner=True
        )
        algo.env_runner_group.foreach_env_runner(runner, local_env_runner=True)
        if algo.learner_group.is_local:
            learner(None)
        else:
            algo.learner_group.foreach_learner(learner)

    # -- the harness's interface ------------------------------------------------------------
    def prepare(self) -> None:
        """Builds the algorithm (the step-0 evaluation scores its initial weights)."""
        self._ensure_algo()

    def train_until(
        self, target: int, on_progress: Callable[[int], None] | None = None
    ) -> dict[str, float]:
        """Train iterations until at least ``target`` env steps.

        Returns:
            ``train/episode_return`` and ``train/episode_length``: means over the training
            episodes that ended in this chunk (empty if none did).
        """
        from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED

        from textgym.bench.rllib_stats import collect

        algo = self._ensure_algo()
        self._reseed()
        algo.env_runner_group.foreach_env_runner(collect, local_env_runner=True)  # start at 0
        while self.step < target:
            runners = algo.train().get(ENV_RUNNER_RESULTS, {})
            sampled = int(_count(runners.get(NUM_ENV_STEPS_SAMPLED)))
            if sampled == 0 and self.algo_name == "rllib-ppo":
                raise RuntimeError(
                    "RLlib returned an iteration without samples (the env runners timed out?); "
                    "raise rllib.sample_timeout_s"
                )
            self.step += sampled
            if on_progress is not None:
                on_progress(self.step)
        sums = algo.env_runner_group.foreach_env_runner(collect, local_env_runner=True)
        episodes = sum(n for n, _, _ in sums)
        returns = sum(r for _, r, _ in sums)
        lengths = sum(length for _, _, length in sums)
        self.episodes += episodes
        self._sync_module()
        if episodes == 0:
            return {}
        return {
            "train/episode_return": returns / episodes,
            "train/episode_length": lengths / episodes,
        }

    def evaluate(self, split: str, episodes: int, predictions_path: Any = None) -> dict[str, float]:
        """The greedy policy on samples ``0..episodes-1`` of ``split`` (the episodes of every
        other algorithm and seed), batched over up to 64 envs.

        Args:
            split: Dataset split.
            episodes: How many samples, from index 0 (fewer if the split is smaller).
            predictions_path: Write one JSON line per sample there, atomically.

        Returns:
            ``eval/<metric>`` means (``score`` and the task's metrics), ``eval/length`` and
            ``eval/num_samples``.
        """
        import gymnasium as gym
        import torch
        from ray.rllib.core.columns import Columns

        from textgym._io import atomic_write_jsonl
        from textgym.bench.sb3_driver import _prediction, summarize_predictions

        def make() -> Any:
            return gym.make(self.config["env_id"], split=split, **self.config["env"])

        envs = [make()]
        total = min(episodes, len(envs[0].unwrapped.dataset))
        envs += [make() for _ in range(min(total, 64) - 1)]
        rows: list[Any] = [None] * total
        active: dict[int, list[Any]] = {}  # env slot -> [sample index, obs, length]
        queue = iter(range(total))
        fresh = set(range(len(envs)))

        def start(slot: int) -> None:
            index = next(queue, None)
            if index is None:
                return
            # A fresh env is seeded 0 at its first reset, as the SB3 evaluation seeds its env.
            seed = 0 if slot in fresh else None
            fresh.discard(slot)
            obs, _ = envs[slot].reset(seed=seed, options={"sample_id": index})
            active[slot] = [index, obs, 0]

        for slot in range(len(envs)):
            start(slot)
        while active:
            slots = sorted(active)
            keys = active[slots[0]][1].keys()
            batch = {k: torch.as_tensor(np.stack([active[s][1][k] for s in slots])) for k in keys}
            with torch.no_grad():
                out = self._module.forward_inference({Columns.OBS: batch})
            actions = out[Columns.ACTION_DIST_INPUTS].argmax(dim=-1).tolist()
            for slot, action in zip(slots, actions, strict=True):
                obs, _, terminated, truncated, info = envs[slot].step(int(action))
                entry = active[slot]
                entry[1], entry[2] = obs, entry[2] + 1
                if terminated or truncated:
                    rows[entry[0]] = _prediction(entry[0], info, entry[2])
                    del active[slot]
                    start(slot)
        for env in envs:
            env.close()
        if predictions_path is not None:
            atomic_write_jsonl(predictions_path, rows)
        return summarize_predictions(rows)

    # -- checkpoints ------------------------------------------------------------------------
    def _run_folder(self) -> Path:
        if self._folder is None:
            raise RuntimeError("RLlibDriver.attach(run_folder) must be called before checkpoints")
        return self._folder

    def state_dict(self) -> dict[str, Any]:
        """Saves the algorithm into ``checkpoints/rllib/step_<N>/`` and returns its name (relative
        to the run folder) with the run's counters."""
        import ray

        algo = self._ensure_algo()
        folder = self._run_folder()
        root = folder / "checkpoints" / _CHECKPOINTS
        root.mkdir(parents=True, exist_ok=True)
        target = root / f"step_{self.step:010d}"
        keep = {target, self._current}
        # Holding the run's lock: nobody else writes here; what a killed session left (a
        # temporary, or a checkpoint no latest.pt came to reference) goes.
        for entry in root.iterdir():
            if entry not in keep:
                shutil.rmtree(entry, ignore_errors=True)
        if not target.is_dir():
            temporary = Path(tempfile.mkdtemp(dir=root, prefix=f".{target.name}.", suffix=".tmp"))
            algo.save_to_path(str(temporary.resolve()))  # RLlib takes absolute paths only
            _fsync_tree(temporary)
            os.replace(temporary, target)
        self._current = target
        return {
            "rllib_checkpoint": target.relative_to(folder).as_posix(),
            "step": self.step,
            "episodes": self.episodes,
            "ray_version": ray.__version__,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s output: the RLModule is loaded now, the algorithm
        restored when it is built (for training)."""
        from ray.rllib.core import (
            COMPONENT_LEARNER,
            COMPONENT_LEARNER_GROUP,
            COMPONENT_RL_MODULE,
            DEFAULT_MODULE_ID,
        )

        from textgym.bench.runs import RunFolderError

        path = self._run_folder() / state["rllib_checkpoint"]
        module = path / COMPONENT_LEARNER_GROUP / COMPONENT_LEARNER / COMPONENT_RL_MODULE
        module = module / DEFAULT_MODULE_ID
        if not module.is_dir():
            raise RunFolderError(
                f"missing RLlib checkpoint {str(path)!r} (the run's checkpoint names it)"
            )
        self._module.restore_from_path(str(module.resolve()))
        self.step = int(state["step"])
        self.episodes = int(state["episodes"])
        self._current = path
        if self._algo is None:
            self._restore = path
        else:
            self._restore_algo(path)

    def close(self) -> None:
        """Stops the algorithm (and the Ray instance it started)."""
        if self._algo is not None:
            self._algo.stop()
            self._algo = None
        if self._started_ray:
            import ray

            ray.shutdown()
            self._started_ray = False


def _count(value: Any) -> float:
    """An iteration's count from RLlib's results: 0 when absent or NaN (APPO reports NaN for an
    iteration in which no sample arrived)."""
    if value is None:
        return 0.0
    number = float(value)
    return 0.0 if np.isnan(number) else number


def _fsync_tree(folder: Path) -> None:
    """Flush a checkpoint's files to disk before the rename that publishes it."""
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
