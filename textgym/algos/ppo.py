"""Token-level PPO with a per-token KL penalty to the reference policy."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import torch

from textgym.algos.common import (
    AdaptiveKLController,
    Callback,
    FixedKLController,
    Trainer,
    chosen_log_probs,
    gae,
    masked_mean,
    run_logged,
    whiten,
)
from textgym.policies.lm.decoding import Sampling, entropy
from textgym.policies.lm.model import LMActorCritic
from textgym.policies.lm.rollout import Rollout, rollout


@dataclass
class PPOConfig:
    """Arguments of :class:`PPOTrainer` and :func:`train_ppo`.

    Attributes:
        iterations: Rollout batches (``num_envs`` episodes each).
        epochs: Passes over each batch.
        minibatch_size: Episodes per gradient step.
        learning_rate: Adam learning rate.
        gamma: Discount per token (1: the text is scored as a whole).
        gae_lambda: GAE lambda.
        clip_range: PPO ratio clip.
        value_clip_range: Clip of the value change (``None``: unclipped value loss).
        vf_coef: Value loss weight (the value head shares the trunk).
        ent_coef: Entropy bonus.
        kl_coef: Initial coefficient of the per-token penalty ``log p - log p_ref``.
        target_kl: Target KL per episode (nats) of the adaptive controller; ``None`` keeps
            ``kl_coef`` fixed.
        kl_horizon: Episodes over which the adaptive controller acts.
        max_grad_norm: Gradient clipping.
        whiten_advantages: Normalise advantages per batch.
        init_value_bias: Before the first update, set the value head's bias to the first
            batch's mean return, so early value errors (whose gradients reach the shared
            trunk) do not disturb the warm-started policy.
        temperature: Sampling temperature of rollouts (and of the log-probabilities).
        seed: Seeds env resets, sampling, shuffling and torch.
        log_every: Iterations between log records.
    """

    iterations: int = 100
    epochs: int = 4
    minibatch_size: int = 16
    learning_rate: float = 1e-4
    gamma: float = 1.0
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    value_clip_range: float | None = 0.2
    vf_coef: float = 0.1
    ent_coef: float = 0.0
    kl_coef: float = 0.05
    target_kl: float | None = 1.0
    kl_horizon: int = 10_000
    max_grad_norm: float = 1.0
    whiten_advantages: bool = True
    init_value_bias: bool = True
    temperature: float = 1.0
    seed: int = 0
    log_every: int = 10


class PPOTrainer(Trainer):
    """PPO on token steps: clipped objective, clipped value loss, entropy bonus, and the
    env's reward minus ``beta * (log p(a) - log p_ref(a))`` at every token, with ``beta``
    from a fixed or adaptive KL controller.

    The first iteration resets the envs with ``seed=config.seed`` (later ones continue the
    envs' RNG streams) and, with ``init_value_bias``, sets the value head's bias; a trainer
    resumed after that iteration does neither again. Resumable bit-exactly with
    :meth:`state_dict` and :meth:`load_state_dict` (the KL coefficient included).

    Args:
        policy: Trained in place; needs a reference policy when ``kl_coef > 0``.
        envs: A vector env with autoreset disabled over the training split
            (:func:`~textgym.policies.lm.make_envs`); terminal or dense rewards.
        config: Hyper-parameters and seed.

    Raises:
        ValueError: If ``kl_coef > 0`` and the policy has no reference.
    """

    kind = "ppo"

    def __init__(
        self,
        policy: LMActorCritic,
        envs: gym.vector.VectorEnv,
        config: PPOConfig | None = None,
    ) -> None:
        self.config = config = config or PPOConfig()
        if config.kl_coef > 0 and policy.reference_kind is None:
            raise ValueError(
                "kl_coef > 0 needs a reference policy; build the policy with reference='frozen' "
                "or 'lora', or set kl_coef=0"
            )
        super().__init__(policy, envs, config.seed)
        self.sampling = Sampling(temperature=config.temperature)
        self.params = policy.trainable_parameters()
        self.optimizer = torch.optim.Adam(self.params, lr=config.learning_rate)
        self.controller: FixedKLController | AdaptiveKLController = (
            FixedKLController(config.kl_coef)
            if config.target_kl is None
            else AdaptiveKLController(config.kl_coef, config.target_kl, config.kl_horizon)
        )

    def _run_iteration(self) -> dict[str, float]:
        """One rollout batch, ``epochs`` passes of minibatch updates, one KL controller step."""
        policy, config, envs = self.policy, self.config, self.env
        first = self.iteration == 0
        policy.eval()  # dropout off: the ratio compares rollout and update log-probabilities
        started = time.perf_counter()
        batch = rollout(
            policy, envs, sampling=self.sampling, generator=self.generator,
            seed=config.seed if first else None,
        )  # fmt: skip
        rollout_s = time.perf_counter() - started

        started = time.perf_counter()
        if first and config.init_value_bias:
            with torch.no_grad():
                first_returns = batch.rewards.sum(dim=1).mean()
                policy.value_head.bias.fill_(float(first_returns))
                batch.values.add_(float(first_returns) * batch.action_mask)
        advantages, returns, kl = _targets(
            policy, batch, self.sampling, self.controller.value, config
        )
        stats = _update(
            policy, self.optimizer, self.params, batch, advantages, returns, self.sampling,
            self.generator, config,
        )  # fmt: skip
        update_s = time.perf_counter() - started
        episode_kl = float(kl.sum(dim=1).mean().item())
        self.controller.update(episode_kl, envs.num_envs)

        tokens = batch.num_tokens
        stats.update({
            "train/score": float(batch.scores.mean()),
            "train/kl": episode_kl,
            "train/kl_coef": self.controller.value,
            "train/length": tokens / envs.num_envs,
            "perf/rollout_tokens_per_s": tokens / max(rollout_s, 1e-9),
            "perf/update_tokens_per_s": tokens * config.epochs / max(update_s, 1e-9),
            "env/episodes": float(envs.num_envs),
            "env/tokens": float(tokens),
        })  # fmt: skip
        return stats

    def _extra_state(self) -> dict[str, Any]:
        return {"kl_coef": self.controller.value}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.controller.value = float(state["kl_coef"])


def train_ppo(
    policy: LMActorCritic,
    envs: gym.vector.VectorEnv,
    config: PPOConfig | None = None,
    *,
    callback: Callback | None = None,
) -> list[dict[str, Any]]:
    """PPO on token steps with a per-token KL penalty: runs a :class:`PPOTrainer` for
    ``config.iterations`` iterations.

    Args:
        policy: Trained in place; needs a reference policy when ``kl_coef > 0``.
        envs: A vector env with autoreset disabled over the training split
            (:func:`~textgym.policies.lm.make_envs`); terminal or dense rewards.
        config: Hyper-parameters and seed.
        callback: Called with every log record.

    Returns:
        The log records (``train/score``, ``train/kl``, ``train/kl_coef``, losses, clip
        fraction, tokens/s of rollout and update), each the mean over its window of
        ``log_every`` iterations.
    """
    config = config or PPOConfig()
    trainer = PPOTrainer(policy, envs, config)
    return run_logged(trainer, config.iterations, config.log_every, callback)


@torch.no_grad()
def _targets(
    policy: LMActorCritic, batch: Rollout, sampling: Sampling, beta: float, config: PPOConfig
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Advantages, returns and per-token KL of a batch, with the KL penalty in the rewards."""
    mask = batch.action_mask
    kl = torch.zeros_like(mask)
    if policy.reference_kind is not None:  # measured even when beta is 0, for the logs
        ref_logits, _ = policy.sequence_outputs(
            batch.prompt_ids, batch.prompt_mask, batch.actions, mask, reference=True
        )
        ref_log_probs, _ = chosen_log_probs(sampling, ref_logits, batch.actions)
        kl = (batch.log_probs - ref_log_probs) * mask
    rewards = batch.rewards - beta * kl
    advantages, returns = gae(rewards, batch.values, mask, config.gamma, config.gae_lambda)
    if config.whiten_advantages:
        advantages = whiten(advantages, mask)
    return advantages, returns, kl


def _update(
    policy: LMActorCritic,
    optimizer: torch.optim.Optimizer,
    params: list[torch.nn.Parameter],
    batch: Rollout,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    sampling: Sampling,
    generator: torch.Generator,
    config: PPOConfig,
) -> dict[str, float]:
    """``epochs`` passes of minibatch gradient steps; returns mean losses and diagnostics."""
    n = batch.actions.shape[0]
    sums: dict[str, float] = {}
    count = 0
    for _ in range(config.epochs):
        order = torch.randperm(n, generator=generator, device=generator.device).to(policy.device)
        for first in range(0, n, config.minibatch_size):
            rows = order[first : first + config.minibatch_size]
            mask = batch.action_mask[rows]
            logits, values = policy.sequence_outputs(
                batch.prompt_ids[rows], batch.prompt_mask[rows], batch.actions[rows], mask
            )
            log_probs, all_log_probs = chosen_log_probs(sampling, logits, batch.actions[rows])
            ratio = torch.exp(log_probs - batch.log_probs[rows])
            adv = advantages[rows]
            clipped = ratio.clamp(1 - config.clip_range, 1 + config.clip_range)
            pg_loss = masked_mean(torch.maximum(-adv * ratio, -adv * clipped), mask)
            assert values is not None
            value_error = (values - returns[rows]) ** 2
            if config.value_clip_range is not None:
                old = batch.values[rows]
                moved = old + (values - old).clamp(
                    -config.value_clip_range, config.value_clip_range
                )
                value_error = torch.maximum(value_error, (moved - returns[rows]) ** 2)
            vf_loss = 0.5 * masked_mean(value_error, mask)
            ent = masked_mean(entropy(all_log_probs), mask)
            loss = pg_loss + config.vf_coef * vf_loss - config.ent_coef * ent
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            with torch.no_grad():
                clip_frac = masked_mean(((ratio - 1).abs() > config.clip_range).float(), mask)
                approx_kl = masked_mean((ratio - 1) - torch.log(ratio), mask)
            for key, value in (
                ("train/pg_loss", pg_loss), ("train/vf_loss", vf_loss), ("train/entropy", ent),
                ("train/clip_frac", clip_frac), ("train/approx_kl", approx_kl),
            ):  # fmt: skip
                sums[key] = sums.get(key, 0.0) + float(value.item())
            count += 1
    return {key: value / max(count, 1) for key, value in sums.items()}
