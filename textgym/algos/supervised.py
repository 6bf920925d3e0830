"""Supervised warm start: maximum likelihood of the references of the train split."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from textgym.algos.common import Callback, masked_mean, seed_everything
from textgym.core.env import TokenMDPEnv
from textgym.policies.lm.model import LMActorCritic
from textgym.policies.lm.rollout import task_of


@dataclass
class SupervisedConfig:
    """Arguments of :func:`supervised_warm_start`.

    Attributes:
        steps: Optimizer steps.
        batch_size: Samples per step, drawn uniformly from the env's dataset.
        learning_rate: AdamW learning rate (linear decay to 10% over ``steps``).
        weight_decay: AdamW weight decay.
        max_grad_norm: Gradient clipping.
        seed: Seeds the sample draws and torch.
        log_every: Steps between log records.
        refresh_reference: Make the warm-started weights the policy's reference afterwards.
    """

    steps: int = 500
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 0
    log_every: int = 50
    refresh_reference: bool = True


def reference_batch(
    task: TokenMDPEnv, indices: np.ndarray, rng: np.random.Generator, device: torch.device
) -> tuple[torch.Tensor, ...]:
    """Prompts and one reference per sample as an episode batch (the layout rollouts use).

    A sample with several references contributes one drawn with ``rng``. The target is the
    reference's tokens then EOS, cut at ``max_new_tokens`` like an episode.

    Returns:
        ``prompt_ids, prompt_mask, actions, action_mask`` as in
        :meth:`LMActorCritic.sequence_outputs`.
    """
    tok = task.tokenizer
    n, width, horizon = len(indices), task.max_prompt_len, task.max_new_tokens
    prompt_ids = np.full((n, width), tok.pad_id, dtype=np.int64)
    prompt_mask = np.zeros((n, width), dtype=np.int64)
    actions = np.full((n, horizon), tok.pad_id, dtype=np.int64)
    action_mask = np.zeros((n, horizon), dtype=np.float32)
    for row, index in enumerate(indices):
        sample = task.dataset[int(index)]
        prompt, _ = task.encode_prompt(sample.source)
        prompt_ids[row, : len(prompt)] = prompt
        prompt_mask[row, : len(prompt)] = 1
        reference = sample.references[int(rng.integers(len(sample.references)))]
        target = [*tok.encode(reference), tok.eos_id][:horizon]
        actions[row, : len(target)] = target
        action_mask[row, : len(target)] = 1.0
    return tuple(
        torch.as_tensor(a, device=device) for a in (prompt_ids, prompt_mask, actions, action_mask)
    )


def supervised_warm_start(
    policy: LMActorCritic,
    env: Any,
    config: SupervisedConfig | None = None,
    *,
    callback: Callback | None = None,
) -> list[dict[str, Any]]:
    """Train the policy's language model on the references of ``env``'s dataset.

    Args:
        policy: The policy to train in place (the value head is left alone).
        env: A single or vector textgym env; its dataset (the train split, usually) and
            prompt encoding are used, it is never stepped.
        config: Hyper-parameters and seed.
        callback: Called with every log record.

    Returns:
        The log records (``train/sft_loss``, ``perf/tokens_per_s``...).
    """
    config = config or SupervisedConfig()
    task = task_of(env)
    seed_everything(config.seed, policy.device)
    rng = np.random.default_rng(config.seed)
    params = [p for p in policy.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 1.0 - 0.9 * step / max(1, config.steps)
    )
    history: list[dict[str, Any]] = []
    policy.train()
    tokens, losses, started = 0, [], time.perf_counter()
    for step in range(1, config.steps + 1):
        indices = rng.integers(len(task.dataset), size=config.batch_size)
        prompt_ids, prompt_mask, actions, action_mask = reference_batch(
            task, indices, rng, policy.device
        )
        logits, _ = policy.sequence_outputs(
            prompt_ids, prompt_mask, actions, action_mask, with_values=False
        )
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), actions, reduction="none")
        loss = masked_mean(nll, action_mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
        optimizer.step()
        schedule.step()
        tokens += int(action_mask.sum().item())
        losses.append(float(loss.item()))
        if step % config.log_every == 0 or step == config.steps:
            elapsed = time.perf_counter() - started
            record = {
                "step": step,
                "train/sft_loss": float(np.mean(losses)),
                "perf/tokens_per_s": tokens / max(elapsed, 1e-9),
                "perf/seconds": elapsed,
            }
            history.append(record)
            losses = []
            if callback is not None:
                callback(record)
    policy.eval()
    if config.refresh_reference:
        policy.reset_reference()
    return history
