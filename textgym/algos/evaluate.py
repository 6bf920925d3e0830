"""Evaluation: decode every sample of a split once, report corpus metrics and predictions."""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from textgym import metrics as tg_metrics
from textgym._io import atomic_write_jsonl
from textgym.policies.lm.decoding import Sampling
from textgym.policies.lm.model import LMActorCritic
from textgym.policies.lm.rollout import rollout, task_of


def evaluate(
    policy: LMActorCritic,
    envs: gym.vector.VectorEnv,
    *,
    greedy: bool = True,
    sampling: Sampling | None = None,
    seed: int = 0,
    max_samples: int | None = None,
    predictions_path: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
) -> dict[str, float]:
    """Decode every sample of ``envs``' dataset once and average the env's metrics.

    Args:
        policy: The policy (run without gradients).
        envs: A vector env with autoreset disabled over the split to evaluate
            (``make_envs(id, n, split="validation")``); its ``num_envs`` is the batch size.
        greedy: Greedy decoding; ``False`` samples with ``sampling`` from a generator seeded
            with ``seed``.
        sampling: Temperature/top-k/top-p for sampled decoding.
        seed: Seed of sampled decoding.
        max_samples: Evaluate the first ``max_samples`` samples only (smoke runs).
        predictions_path: Write one JSON line per sample (id, source, references, prediction,
            metrics) there, atomically.
        use_cache: KV-cached decoding.

    Returns:
        ``eval/<metric>``: the mean over samples of every metric the env reports (``score``
        and the task's metrics); ``eval/corpus_bleu`` (0-1) when BLEU is one of them, against
        the references every sample has; ``eval/length``: mean tokens generated (EOS
        included); ``eval/num_samples``.
    """
    task = task_of(envs)
    total = len(task.dataset) if max_samples is None else min(max_samples, len(task.dataset))
    generator = torch.Generator(device=policy.device)
    generator.manual_seed(seed)
    was_training = policy.training
    policy.eval()
    rows: list[dict[str, Any]] = []
    lengths: list[float] = []
    for first in range(0, total, envs.num_envs):
        ids = list(range(first, min(first + envs.num_envs, total)))
        batch = rollout(
            policy,
            envs,
            sampling=sampling,
            generator=generator,
            greedy=greedy,
            sample_ids=ids,
            use_cache=use_cache,
        )
        lengths.extend(batch.action_mask.sum(dim=1)[: len(ids)].tolist())
        for row, index in enumerate(ids):
            rows.append(
                {
                    "index": index,
                    "sample_id": batch.sample_ids[row],
                    "prediction": batch.texts[row],
                    # From the dataset: envs built with info_references=False leave them out.
                    "references": list(task.dataset[index].references),
                    "metrics": batch.metrics[row],
                }
            )
    policy.train(was_training)

    names = list(rows[0]["metrics"]) if rows else []
    result = {f"eval/{name}": float(np.mean([r["metrics"][name] for r in rows])) for name in names}
    if "bleu" in names:
        shared = min(len(r["references"]) for r in rows)
        streams = [[r["references"][k] for r in rows] for k in range(shared)]
        result["eval/corpus_bleu"] = (
            tg_metrics.corpus_bleu([r["prediction"] for r in rows], streams) / 100.0
        )
    result["eval/length"] = float(np.mean(lengths)) if lengths else 0.0
    result["eval/num_samples"] = float(len(rows))
    if predictions_path is not None:
        for r in rows:
            r["source"] = task.dataset[r["index"]].source
        atomic_write_jsonl(predictions_path, rows)
    return result
