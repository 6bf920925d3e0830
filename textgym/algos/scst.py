"""REINFORCE with a self-critical baseline (Rennie et al., 2017): the greedy decode's score."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from textgym.algos.common import Callback, Trainer, chosen_log_probs, masked_mean, run_logged
from textgym.policies.lm.decoding import Sampling, entropy
from textgym.policies.lm.model import LMActorCritic
from textgym.policies.lm.rollout import rollout, task_of


@dataclass
class SCSTConfig:
    """Arguments of :class:`SCSTTrainer` and :func:`train_scst`.

    Attributes:
        iterations: Batches of prompts (one optimizer step each).
        samples_per_prompt: Sampled decodes per prompt; ``num_envs`` must be a multiple of
            ``samples_per_prompt + 1`` (one greedy decode per prompt is the baseline).
        learning_rate: Adam learning rate.
        temperature: Sampling temperature (log-probabilities use the same distribution).
        kl_coef: Weight of the sequence KL to the reference policy subtracted from the
            advantage (0: no reference needed).
        ent_coef: Entropy bonus.
        max_grad_norm: Gradient clipping.
        seed: Seeds prompts, sampling and torch.
        log_every: Iterations between log records.
    """

    iterations: int = 100
    samples_per_prompt: int = 1
    learning_rate: float = 1e-4
    temperature: float = 1.0
    kl_coef: float = 0.0
    ent_coef: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 0
    log_every: int = 10


class SCSTTrainer(Trainer):
    """Self-critical policy gradient: ``(r(sample) - r(greedy)) * grad log p(sample)``.

    Each iteration draws ``num_envs / (samples_per_prompt + 1)`` dataset indices, decodes each
    greedily and ``samples_per_prompt`` times by sampling in one batch of the vector env (the
    env scores all of them), and takes one gradient step on the sampled decodes. Resumable
    bit-exactly with :meth:`state_dict` and :meth:`load_state_dict`.

    Args:
        policy: Trained in place.
        envs: A vector env with autoreset disabled over the training split
            (:func:`~textgym.policies.lm.make_envs`).
        config: Hyper-parameters and seed.

    Raises:
        ValueError: If ``num_envs`` is not a multiple of ``samples_per_prompt + 1``.
    """

    kind = "scst"

    def __init__(
        self,
        policy: LMActorCritic,
        envs: gym.vector.VectorEnv,
        config: SCSTConfig | None = None,
    ) -> None:
        self.config = config = config or SCSTConfig()
        self.group = config.samples_per_prompt + 1
        if config.samples_per_prompt < 1 or envs.num_envs % self.group:
            raise ValueError(
                f"num_envs={envs.num_envs} must be a multiple of samples_per_prompt + 1 = "
                f"{self.group}"
            )
        self.prompts = envs.num_envs // self.group
        self.task = task_of(envs)
        super().__init__(policy, envs, config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.sampling = Sampling(temperature=config.temperature)
        self.params = policy.trainable_parameters()
        self.optimizer = torch.optim.Adam(self.params, lr=config.learning_rate)
        self.greedy = np.zeros(envs.num_envs, dtype=np.bool_)
        self.greedy[: self.prompts] = True

    def _run_iteration(self) -> dict[str, float]:
        """One batch of greedy and sampled decodes and one gradient step."""
        assert self.rng is not None
        policy, config, prompts = self.policy, self.config, self.prompts
        policy.eval()  # dropout off: decodes and their log-probabilities must agree
        started = time.perf_counter()
        ids = self.rng.integers(len(self.task.dataset), size=prompts).tolist()
        batch = rollout(
            policy, self.env, sampling=self.sampling, generator=self.generator,
            greedy=self.greedy, sample_ids=ids * self.group,
        )  # fmt: skip
        rollout_s = time.perf_counter() - started

        started = time.perf_counter()
        rows = slice(prompts, None)
        mask = batch.action_mask[rows]
        baseline = torch.as_tensor(np.tile(batch.scores[:prompts], config.samples_per_prompt))
        advantage = torch.as_tensor(batch.scores[rows]) - baseline
        logits, _ = policy.sequence_outputs(
            batch.prompt_ids[rows], batch.prompt_mask[rows], batch.actions[rows], mask,
            with_values=False,
        )  # fmt: skip
        log_probs, all_log_probs = chosen_log_probs(self.sampling, logits, batch.actions[rows])
        kl = torch.zeros(())
        if config.kl_coef:
            ref_logits, _ = policy.sequence_outputs(
                batch.prompt_ids[rows], batch.prompt_mask[rows], batch.actions[rows], mask,
                reference=True,
            )  # fmt: skip
            ref_log_probs, _ = chosen_log_probs(self.sampling, ref_logits, batch.actions[rows])
            sequence_kl = ((log_probs.detach() - ref_log_probs) * mask).sum(dim=1)
            advantage = advantage - config.kl_coef * sequence_kl.to(advantage.device)
            kl = sequence_kl.mean()
        advantage = advantage.to(policy.device, torch.float32)
        pg_loss = -(advantage * (log_probs * mask).sum(dim=1)).mean()
        ent = masked_mean(entropy(all_log_probs), mask)
        loss = pg_loss - config.ent_coef * ent
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, config.max_grad_norm)
        self.optimizer.step()
        update_s = time.perf_counter() - started

        return {
            "train/score_sampled": float(batch.scores[rows].mean()),
            "train/score_greedy": float(batch.scores[:prompts].mean()),
            "train/advantage_nonzero": float((advantage != 0).float().mean().item()),
            "train/loss": float(loss.item()),
            "train/entropy": float(ent.item()),
            "train/kl": float(kl.item()),
            "perf/rollout_tokens_per_s": batch.num_tokens / max(rollout_s, 1e-9),
            "perf/update_tokens_per_s": float(mask.sum().item()) / max(update_s, 1e-9),
            "env/episodes": float(self.env.num_envs),  # greedy baselines included
            "env/tokens": float(batch.num_tokens),
        }


def train_scst(
    policy: LMActorCritic,
    envs: gym.vector.VectorEnv,
    config: SCSTConfig | None = None,
    *,
    callback: Callback | None = None,
) -> list[dict[str, Any]]:
    """Self-critical policy gradient: ``(r(sample) - r(greedy)) * grad log p(sample)``.

    Runs an :class:`SCSTTrainer` for ``config.iterations`` iterations.

    Args:
        policy: Trained in place.
        envs: A vector env with autoreset disabled over the training split
            (:func:`~textgym.policies.lm.make_envs`).
        config: Hyper-parameters and seed.
        callback: Called with every log record.

    Returns:
        The log records (``train/score_sampled``, ``train/score_greedy``, ``train/loss``...),
        each the mean over its window of ``log_every`` iterations.
    """
    config = config or SCSTConfig()
    trainer = SCSTTrainer(policy, envs, config)
    return run_logged(trainer, config.iterations, config.log_every, callback)
