"""Supervised warm start: maximum likelihood of the references of the train split."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from textgym.algos.common import Callback, Trainer, masked_mean
from textgym.core.env import TokenMDPEnv
from textgym.policies.lm.model import LMActorCritic
from textgym.policies.lm.rollout import task_of


@dataclass
class SupervisedConfig:
    """Arguments of :class:`SupervisedTrainer` and :func:`supervised_warm_start`.

    Attributes:
        steps: Optimizer steps (the length of the learning-rate decay).
        batch_size: Samples per step, drawn uniformly from the env's dataset.
        learning_rate: AdamW learning rate (linear decay to 10% over ``steps``).
        weight_decay: AdamW weight decay.
        max_grad_norm: Gradient clipping.
        seed: Seeds the sample draws and torch.
        log_every: Steps between log records.
        refresh_reference: Make the warm-started weights the policy's reference afterwards.
        padding: ``"max_length"``: every batch is ``max_prompt_len`` by ``max_new_tokens``
            wide, as the env's observations are; ``"longest"``: cut to the batch's longest
            prompt and target: the same loss for less compute when prompts and targets fill
            a fraction of the widths (real text), but another float summation order than
            ``"max_length"``, so results differ from it in the last bits.
    """

    steps: int = 500
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 0
    log_every: int = 50
    refresh_reference: bool = True
    padding: str = "max_length"

    def __post_init__(self) -> None:
        if self.padding not in PADDINGS:
            raise ValueError(
                f"padding: expected 'max_length' or 'longest', got {self.padding!r}"
            )


#: ``SupervisedConfig.padding`` values.
PADDINGS = ("max_length", "longest")


def reference_batch(
    task: TokenMDPEnv,
    indices: np.ndarray,
    rng: np.random.Generator,
    device: torch.device,
    padding: str = "max_length",
) -> tuple[torch.Tensor, ...]:
    """Prompts and one reference per sample as an episode batch (the layout rollouts use).

    A sample with several references contributes one drawn with ``rng``. The target is the
    reference's tokens then EOS, cut at ``max_new_tokens`` like an episode. ``padding=
    "longest"`` drops the columns that are padding in every row (see :class:`SupervisedConfig`).

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
    if padding == "longest":
        width = max(1, int(prompt_mask.sum(axis=1).max()))
        horizon = max(1, int(action_mask.sum(axis=1).max()))
        prompt_ids, prompt_mask = prompt_ids[:, :width], prompt_mask[:, :width]
        actions, action_mask = actions[:, :horizon], action_mask[:, :horizon]
    return tuple(
        torch.as_tensor(a, device=device) for a in (prompt_ids, prompt_mask, actions, action_mask)
    )


class SupervisedTrainer(Trainer):
    """Maximum likelihood of the references of ``env``'s dataset, one optimizer step at a time.

    Each step draws ``batch_size`` dataset indices (and one reference per sample) with a numpy
    generator seeded with ``config.seed``; the learning rate decays linearly to 10% over
    ``config.steps`` and stays there if stepped further. Resumable bit-exactly with
    :meth:`state_dict` and :meth:`load_state_dict`.

    Args:
        policy: The policy to train in place (the value head is left alone).
        env: A single or vector textgym env; its dataset (the train split, usually) and
            prompt encoding are used, it is never stepped.
        config: Hyper-parameters and seed.
    """

    kind = "supervised"

    def __init__(
        self, policy: LMActorCritic, env: Any, config: SupervisedConfig | None = None
    ) -> None:
        self.config = config = config or SupervisedConfig()
        self.task = task_of(env)
        super().__init__(policy, env, config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.params = [p for p in policy.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            self.params, lr=config.learning_rate, weight_decay=config.weight_decay
        )
        horizon = max(1, config.steps)
        # min(): past the planned steps the rate stays at its floor instead of going negative.
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: 1.0 - 0.9 * min(step, horizon) / horizon
        )
        self._finished_at: int | None = None

    def _run_iteration(self) -> dict[str, float]:
        """One optimizer step on a fresh batch of references."""
        assert self.rng is not None
        started = time.perf_counter()
        policy, config = self.policy, self.config
        policy.train()  # a caller may have evaluated (eval mode) between steps
        indices = self.rng.integers(len(self.task.dataset), size=config.batch_size)
        prompt_ids, prompt_mask, actions, action_mask = reference_batch(
            self.task, indices, self.rng, policy.device, config.padding
        )
        logits, _ = policy.sequence_outputs(
            prompt_ids, prompt_mask, actions, action_mask, with_values=False
        )
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), actions, reduction="none")
        loss = masked_mean(nll, action_mask)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, config.max_grad_norm)
        self.optimizer.step()
        assert self.scheduler is not None
        self.scheduler.step()
        tokens = float(action_mask.sum().item())
        elapsed = max(time.perf_counter() - started, 1e-9)
        return {
            "train/sft_loss": float(loss.item()),
            "train/tokens": tokens,
            "perf/tokens_per_s": tokens / elapsed,
            "perf/seconds": elapsed,
            "env/episodes": 0.0,  # the env's dataset is read, the env is never stepped
            "env/tokens": 0.0,
        }

    def finish(self) -> None:
        """Eval mode and, with ``config.refresh_reference``, the trained weights become the
        reference policy; done once per iteration count, so calling it again changes nothing."""
        self.policy.eval()
        if self._finished_at == self.iteration:
            return
        if self.config.refresh_reference:
            self.policy.reset_reference()
        self._finished_at = self.iteration


def supervised_warm_start(
    policy: LMActorCritic,
    env: Any,
    config: SupervisedConfig | None = None,
    *,
    callback: Callback | None = None,
) -> list[dict[str, Any]]:
    """Train the policy's language model on the references of ``env``'s dataset.

    Runs a :class:`SupervisedTrainer` for ``config.steps`` steps, then its
    :meth:`~SupervisedTrainer.finish`.

    Args:
        policy: The policy to train in place (the value head is left alone).
        env: A single or vector textgym env; its dataset (the train split, usually) and
            prompt encoding are used, it is never stepped.
        config: Hyper-parameters and seed.
        callback: Called with every log record.

    Returns:
        The log records (``step``; ``train/sft_loss``: mean over the window;
        ``perf/tokens_per_s`` and ``perf/seconds``: since the start).
    """
    config = config or SupervisedConfig()
    trainer = SupervisedTrainer(policy, env, config)
    history: list[dict[str, Any]] = []
    tokens, losses, started = 0, [], time.perf_counter()
    for step in range(1, config.steps + 1):
        stats = trainer.step()
        tokens += int(stats["train/tokens"])
        losses.append(stats["train/sft_loss"])
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
    trainer.finish()
    return history
