"""REINFORCE with a self-critical baseline (Rennie et al., 2017): the greedy decode's score."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from textgym.algos.common import Callback, chosen_log_probs, masked_mean, seed_everything
from textgym.policies.lm.decoding import Sampling, entropy
from textgym.policies.lm.model import LMActorCritic
from textgym.policies.lm.rollout import rollout, task_of


@dataclass
class SCSTConfig:
    """Arguments of :func:`train_scst`.

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


def train_scst(
    policy: LMActorCritic,
    envs: gym.vector.VectorEnv,
    config: SCSTConfig | None = None,
    *,
    callback: Callback | None = None,
) -> list[dict[str, Any]]:
    """Self-critical policy gradient: ``(r(sample) - r(greedy)) * grad log p(sample)``.

    Each iteration draws ``num_envs / (samples_per_prompt + 1)`` dataset indices, decodes each
    greedily and ``samples_per_prompt`` times by sampling in one batch of the vector env (the
    env scores all of them), and takes one gradient step on the sampled decodes.

    Args:
        policy: Trained in place.
        envs: A vector env with autoreset disabled over the training split
            (:func:`~textgym.policies.lm.make_envs`).
        config: Hyper-parameters and seed.
        callback: Called with every log record.

    Returns:
        The log records (``train/score_sampled``, ``train/score_greedy``, ``train/loss``...).
    """
    config = config or SCSTConfig()
    group = config.samples_per_prompt + 1
    if config.samples_per_prompt < 1 or envs.num_envs % group:
        raise ValueError(
            f"num_envs={envs.num_envs} must be a multiple of samples_per_prompt + 1 = {group}"
        )
    prompts = envs.num_envs // group
    task = task_of(envs)
    generator = seed_everything(config.seed, policy.device)
    rng = np.random.default_rng(config.seed)
    sampling = Sampling(temperature=config.temperature)
    params = policy.trainable_parameters()
    optimizer = torch.optim.Adam(params, lr=config.learning_rate)
    greedy = np.zeros(envs.num_envs, dtype=np.bool_)
    greedy[:prompts] = True
    history: list[dict[str, Any]] = []
    window: dict[str, list[float]] = {}
    policy.eval()
    for iteration in range(1, config.iterations + 1):
        started = time.perf_counter()
        ids = rng.integers(len(task.dataset), size=prompts).tolist()
        batch = rollout(
            policy, envs, sampling=sampling, generator=generator, greedy=greedy,
            sample_ids=ids * group,
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
        log_probs, all_log_probs = chosen_log_probs(sampling, logits, batch.actions[rows])
        kl = torch.zeros(())
        if config.kl_coef:
            ref_logits, _ = policy.sequence_outputs(
                batch.prompt_ids[rows], batch.prompt_mask[rows], batch.actions[rows], mask,
                reference=True,
            )  # fmt: skip
            ref_log_probs, _ = chosen_log_probs(sampling, ref_logits, batch.actions[rows])
            sequence_kl = ((log_probs.detach() - ref_log_probs) * mask).sum(dim=1)
            advantage = advantage - config.kl_coef * sequence_kl.to(advantage.device)
            kl = sequence_kl.mean()
        advantage = advantage.to(policy.device, torch.float32)
        pg_loss = -(advantage * (log_probs * mask).sum(dim=1)).mean()
        ent = masked_mean(entropy(all_log_probs), mask)
        loss = pg_loss - config.ent_coef * ent
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
        optimizer.step()
        update_s = time.perf_counter() - started

        stats = {
            "train/score_sampled": float(batch.scores[rows].mean()),
            "train/score_greedy": float(batch.scores[:prompts].mean()),
            "train/advantage_nonzero": float((advantage != 0).float().mean().item()),
            "train/loss": float(loss.item()),
            "train/entropy": float(ent.item()),
            "train/kl": float(kl.item()),
            "perf/rollout_tokens_per_s": batch.num_tokens / max(rollout_s, 1e-9),
            "perf/update_tokens_per_s": float(mask.sum().item()) / max(update_s, 1e-9),
        }
        for key, value in stats.items():
            window.setdefault(key, []).append(value)
        if iteration % config.log_every == 0 or iteration == config.iterations:
            record = {"iteration": iteration, **{k: float(np.mean(v)) for k, v in window.items()}}
            history.append(record)
            window = {}
            if callback is not None:
                callback(record)
    return history
