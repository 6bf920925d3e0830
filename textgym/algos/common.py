"""Pieces shared by the trainers: seeding, masked statistics, GAE, KL controllers, logging,
and the resumable :class:`Trainer` base (state of RNGs, optimizer and env streams)."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch

from textgym.policies.lm.decoding import Sampling
from textgym.policies.lm.model import LMActorCritic

#: Called after every logged iteration with the record (metric names in namespaces).
Callback = Callable[[dict[str, Any]], None]


def seed_everything(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """Seed torch's global RNG (weight init, shuffles) and return a sampling generator.

    Sampling draws only from the returned generator, so the same seed gives the same tokens
    whatever else consumed global randomness in between.
    """
    torch.manual_seed(seed)
    generator = torch.Generator(device=torch.device(device))
    generator.manual_seed(seed)
    return generator


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` is 1 (0 for an empty mask)."""
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def whiten(values: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Zero-mean, unit-variance ``values`` over the masked entries (others set to 0)."""
    mean = masked_mean(values, mask)
    var = masked_mean((values - mean) ** 2, mask)
    return (values - mean) * torch.rsqrt(var + eps) * mask


def chosen_log_probs(
    sampling: Sampling, logits: torch.Tensor, actions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probabilities of ``actions`` ``(N, T)`` and all log-probabilities ``(N, T, V)``."""
    log_probs = sampling.log_probs(logits)
    return log_probs.gather(-1, actions[..., None]).squeeze(-1), log_probs


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    gamma: float = 1.0,
    lam: float = 0.95,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates and returns over token steps.

    An episode ends at its last masked step (EOS or the length limit, both terminal), so the
    value after it is 0: there is nothing to bootstrap.

    Args:
        rewards, values, mask: ``(N, T)``; mask is 1 on the steps taken.

    Returns:
        ``(advantages, returns)``, both ``(N, T)`` and 0 outside the mask.
    """
    steps = rewards.shape[1]
    advantages = torch.zeros_like(rewards)
    next_value = torch.zeros_like(rewards[:, 0])
    next_advantage = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(steps)):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        advantages[:, t] = (delta + gamma * lam * next_advantage) * mask[:, t]
        next_value = values[:, t] * mask[:, t]
        next_advantage = advantages[:, t]
    return advantages, (advantages + values) * mask


class FixedKLController:
    """A constant KL coefficient."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def update(self, kl: float, num_episodes: int) -> None:
        """Nothing to adapt."""


class AdaptiveKLController:
    """The proportional controller of Ziegler et al. (2019): moves the coefficient so that the
    mean KL per episode approaches ``target``.

    ``value *= 1 + clip(kl / target - 1, -0.2, 0.2) * num_episodes / horizon`` after each batch.
    """

    def __init__(self, value: float, target: float, horizon: int) -> None:
        if target <= 0 or horizon <= 0:
            raise ValueError(f"target and horizon must be > 0, got {target!r}, {horizon!r}")
        self.value = float(value)
        self.target = float(target)
        self.horizon = int(horizon)

    def update(self, kl: float, num_episodes: int) -> None:
        """Adapt to the KL per episode of the last batch."""
        error = float(np.clip(kl / self.target - 1.0, -0.2, 0.2))
        self.value *= 1.0 + error * num_episodes / self.horizon


# ---------------------------------------------------------------------- resumable trainers
#: Version of the layout of :meth:`Trainer.state_dict`; bumped when a key changes meaning.
STATE_FORMAT = 1


def numpy_generator_state(rng: np.random.Generator | None) -> dict[str, Any] | None:
    """The bit generator state of ``rng`` (a plain dict), or ``None`` for no generator."""
    # numpy types the state as a Mapping; it builds a new dict on every read.
    return None if rng is None else dict(rng.bit_generator.state)


def numpy_generator_from_state(state: dict[str, Any]) -> np.random.Generator:
    """A generator that continues exactly where the one ``state`` was taken from stood."""
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def torch_rng_state() -> dict[str, Any]:
    """torch's global RNG states: CPU, and every CUDA device once CUDA is in use."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
    return {"cpu": torch.get_rng_state(), "cuda": list(cuda)}


def load_torch_rng_state(state: dict[str, Any]) -> None:
    """Restore :func:`torch_rng_state`; CUDA states only where CUDA is there to take them."""
    torch.set_rng_state(state["cpu"].cpu())
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


def _sub_envs(env: Any) -> list[Any] | None:
    """The single envs of a ``SyncVectorEnv`` (or the env itself), unwrapped; else ``None``."""
    unwrapped = getattr(env, "unwrapped", env)
    envs = getattr(unwrapped, "envs", None)
    if envs is not None:
        return [e.unwrapped for e in envs]
    if hasattr(unwrapped, "_np_random") and not hasattr(unwrapped, "num_envs"):
        return [unwrapped]
    return None


def env_rng_state(env: Any) -> list[dict[str, Any] | None]:
    """The RNG state of every episode stream of ``env``, one entry per env (``None``: unseeded).

    Rollouts with ``seed=None`` draw their samples from these streams, so a resumed run
    needs them to draw the same samples. Handles the native
    :class:`~textgym.vector.TextVectorEnv` (one stream per slot), Gymnasium's
    ``SyncVectorEnv`` and single envs (each env's ``np_random``) and, through
    ``get_attr``, ``AsyncVectorEnv``.
    """
    unwrapped = getattr(env, "unwrapped", env)
    rngs = getattr(unwrapped, "np_randoms", None)  # TextVectorEnv: one generator per env
    if isinstance(rngs, list):
        return [numpy_generator_state(rng) for rng in rngs]
    sub_envs = _sub_envs(env)
    if sub_envs is not None:
        # The private attribute, not the property: reading np_random would seed it at random.
        return [numpy_generator_state(e._np_random) for e in sub_envs]
    if hasattr(env, "get_attr"):  # AsyncVectorEnv: the envs live in worker processes
        return [numpy_generator_state(rng) for rng in env.get_attr("np_random")]
    raise TypeError(f"env: cannot read the RNG state of {type(env).__name__}")


def check_env_rng_state(env: Any, states: list[dict[str, Any] | None]) -> None:
    """Raise ``ValueError`` unless ``states`` has one stream per env of ``env``."""
    count = getattr(getattr(env, "unwrapped", env), "num_envs", 1)
    if len(states) != count:
        raise ValueError(
            f"env: the saved state has {len(states)} env RNG streams but the env has {count} "
            "envs; resume with the same num_envs"
        )


def load_env_rng_state(env: Any, states: list[dict[str, Any] | None]) -> None:
    """Put the streams of :func:`env_rng_state` back into ``env`` (same number of envs).

    Raises:
        ValueError: If ``states`` holds another number of streams than ``env`` has envs.
    """
    check_env_rng_state(env, states)
    unwrapped = getattr(env, "unwrapped", env)
    generators = [None if s is None else numpy_generator_from_state(s) for s in states]
    if isinstance(getattr(unwrapped, "np_randoms", None), list):
        unwrapped.np_randoms = generators
        return
    sub_envs = _sub_envs(env)
    if sub_envs is not None:
        for sub_env, generator in zip(sub_envs, generators, strict=True):
            sub_env._np_random = generator
        return
    if hasattr(env, "set_attr") and all(g is not None for g in generators):
        env.set_attr("np_random", generators)
        return
    raise TypeError(f"env: cannot set the RNG state of {type(env).__name__}")


class DeviceChangeWarning(RuntimeWarning):
    """A trainer state saved on one kind of device (CPU, CUDA) was loaded on another."""


class Trainer:
    """A trainer run one iteration at a time, whose whole state can be saved and restored.

    A run of ``k + m`` iterations and a run of ``k`` iterations, :meth:`state_dict`, a fresh
    policy, env and trainer, :meth:`load_state_dict`, then ``m`` iterations give the same
    statistics and weights, bit for bit (same device and library versions).

    Subclasses build ``optimizer`` (and ``scheduler``, ``rng`` where they use them) in their
    ``__init__`` after calling this one, implement :meth:`_run_iteration`, and add their own
    state with :meth:`_extra_state` and :meth:`_load_extra_state`.

    Attributes:
        policy: The policy trained in place.
        env: The env whose dataset (and, for RL, episodes) the trainer uses.
        iteration: Iterations completed so far.
        generator: torch generator of sampling and shuffles.
        rng: numpy generator of data draws (``None`` if the trainer draws none).
        optimizer: The optimizer of the trainable parameters.
        scheduler: Learning-rate schedule, if any.
    """

    #: Names the trainer in its state, so a state cannot be loaded into another kind.
    kind: ClassVar[str] = ""

    def __init__(self, policy: LMActorCritic, env: Any, seed: int) -> None:
        self.policy = policy
        self.env = env
        self.iteration = 0
        self.generator = seed_everything(seed, policy.device)
        self.rng: np.random.Generator | None = None
        self.optimizer: torch.optim.Optimizer
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None

    def step(self) -> dict[str, float]:
        """Run one iteration and return its statistics.

        Besides the trainer's own (``train/...``, ``perf/...``), ``env/episodes`` and
        ``env/tokens``: episodes and generated tokens taken from the env in this iteration.
        """
        stats = self._run_iteration()
        self.iteration += 1
        return stats

    def _run_iteration(self) -> dict[str, float]:
        raise NotImplementedError

    def finish(self) -> None:
        """End-of-training work; safe to call more than once."""
        self.policy.eval()

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run exactly: weights (with the reference
        policy), optimizer and schedule, the torch, numpy and global torch RNG states, the
        env's RNG streams, the iteration and trainer-specific state.

        Like ``torch.nn.Module.state_dict``, the tensors are the live ones: save (or copy)
        the result before training on.
        """
        return {
            "format": STATE_FORMAT,
            "trainer": self.kind,
            "iteration": self.iteration,
            "reference_kind": self.policy.reference_kind,
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "generator": self.generator.get_state(),
            "numpy_rng": numpy_generator_state(self.rng),
            "torch_rng": torch_rng_state(),
            "env_rng": env_rng_state(self.env),
            **self._extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict` (e.g. after ``torch.save`` and ``torch.load``).

        The policy must have the same architecture and reference kind, the env the same
        number of envs. ``state`` is not modified.

        Raises:
            ValueError: For a state of another format, trainer kind, reference kind or
                number of envs (checked before anything is changed).
        """
        if state.get("format") != STATE_FORMAT:
            raise ValueError(
                f"state: format {state.get('format')!r}, this version reads {STATE_FORMAT}"
            )
        if state.get("trainer") != self.kind:
            raise ValueError(
                f"state: saved by a {state.get('trainer')!r} trainer, this is {self.kind!r}"
            )
        if state["reference_kind"] != self.policy.reference_kind:
            raise ValueError(
                f"state: the saved policy has reference={state['reference_kind']!r}, this one "
                f"{self.policy.reference_kind!r}; build the policy as it was built"
            )
        check_env_rng_state(self.env, state["env_rng"])
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            # LambdaLR.load_state_dict pops keys from its argument: give it a copy.
            self.scheduler.load_state_dict(dict(state["scheduler"]))
        self._load_generator_state(state["generator"].cpu())
        if state["numpy_rng"] is not None:
            self.rng = numpy_generator_from_state(state["numpy_rng"])
        load_torch_rng_state(state["torch_rng"])
        load_env_rng_state(self.env, state["env_rng"])
        self.iteration = int(state["iteration"])
        self._load_extra_state(state)

    def _load_generator_state(self, saved: torch.Tensor) -> None:
        if saved.numel() == self.generator.get_state().numel():
            self.generator.set_state(saved)
            return
        # A CPU generator's state (Mersenne Twister) cannot seed a CUDA one (Philox) or the
        # reverse: derive a seed from the saved state, so the continuation is still determined
        # by the checkpoint, though it differs from continuing on the original device.
        seed = int.from_bytes(hashlib.sha256(saved.numpy().tobytes()).digest()[:8], "little")
        self.generator.manual_seed(seed)
        warnings.warn(
            f"state: the sampling generator was saved on another kind of device than "
            f"{self.generator.device.type!r}; it is re-seeded from the saved state, so training "
            f"from here will not repeat a continuation on the original device",
            DeviceChangeWarning,
            stacklevel=3,
        )

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        del state


def run_logged(
    trainer: Trainer, iterations: int, log_every: int, callback: Callback | None
) -> list[dict[str, Any]]:
    """Run ``iterations`` iterations; every ``log_every`` (and at the end) record the mean of
    each statistic over the window, without the ``env/`` counters (the records of
    :func:`~textgym.algos.train_scst` and :func:`~textgym.algos.train_ppo`)."""
    history: list[dict[str, Any]] = []
    window: dict[str, list[float]] = {}
    for iteration in range(1, iterations + 1):
        stats = trainer.step()
        for key, value in stats.items():
            if not key.startswith("env/"):
                window.setdefault(key, []).append(value)
        if iteration % log_every == 0 or iteration == iterations:
            record = {"iteration": iteration, **{k: float(np.mean(v)) for k, v in window.items()}}
            history.append(record)
            window = {}
            if callback is not None:
                callback(record)
    trainer.finish()
    return history
