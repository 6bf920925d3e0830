"""Pieces shared by the trainers: seeding, masked statistics, GAE, KL controllers, logging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from textgym.policies.lm.decoding import Sampling

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
