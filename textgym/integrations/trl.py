"""Hugging Face TRL adapter: any textgym task as a ``datasets.Dataset`` plus reward functions.

TRL 1.x trainers that learn from rewards (``GRPOTrainer``, ``RLOOTrainer``) take a dataset with a
``prompt`` column and reward functions ``f(prompts=..., completions=..., **columns) ->
list[float]``. This module exports a task's prompts and references in that shape and rewards
computed by the same scorer as the env, so a TRL user gets textgym's data and metrics
unchanged::

    from trl import GRPOConfig, GRPOTrainer
    from textgym.integrations.trl import (
        hf_tokenizer, mask_positions, reward_function, task_dataset,
    )

    env = gym.make("TextTrans-Easy-v0")
    mask_positions(model)                     # see its docstring: TRL and left padding
    trainer = GRPOTrainer(
        model=model,                          # predicts env token ids (vocab_size)
        reward_funcs=reward_function(env),
        args=GRPOConfig(..., max_completion_length=env.unwrapped.max_new_tokens),
        train_dataset=task_dataset(env),
        processing_class=hf_tokenizer(env),   # same ids as the env's word tokenizer
    )

Needs ``datasets`` (and ``trl`` to train): ``pip install "textgym[trl]"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from textgym._optional import require
from textgym.core.env import TokenMDPEnv
from textgym.rewards.scorers import MetricScorer
from textgym.tokenizers.embedded import PAD, UNK, WordTokenizer

RewardFunction = Callable[..., list[float]]


def _task(env: Any) -> TokenMDPEnv:
    import gymnasium as gym

    if isinstance(env, str):
        env = gym.make(env)
    unwrapped = getattr(env, "unwrapped", env)
    if isinstance(unwrapped, TokenMDPEnv):
        return unwrapped
    task = getattr(unwrapped, "task", None)
    if isinstance(task, TokenMDPEnv):
        return task
    raise TypeError(f"env: expected a textgym env or env id, got {type(env).__name__}")


def prompt_text(env: Any, source: str) -> str:
    """The prompt the env shows for ``source`` (template applied, long sources cut) as text."""
    task = _task(env)
    ids, _ = task.encode_prompt(source)
    return task.tokenizer.decode(ids)


def task_dataset(env: Any, *, max_samples: int | None = None, seed: int | None = None) -> Any:
    """The env's dataset as a ``datasets.Dataset`` with columns ``prompt`` (str),
    ``references`` (list of str), ``source`` and ``sample_id``.

    Args:
        env: A textgym env (its split and data are used) or a registered id.
        max_samples: Keep the first ``max_samples`` samples (of the shuffled order if ``seed``).
        seed: ``None``: dataset order; an int: a seeded permutation.
    """
    datasets = require("datasets", "textgym.integrations.trl.task_dataset")
    import numpy as np

    task = _task(env)
    order = np.arange(len(task.dataset))
    if seed is not None:
        order = np.random.default_rng(seed).permutation(len(task.dataset))
    if max_samples is not None:
        order = order[:max_samples]
    columns: dict[str, list[Any]] = {"prompt": [], "references": [], "source": [], "sample_id": []}
    for index in order:
        sample = task.dataset[int(index)]
        columns["prompt"].append(prompt_text(task, sample.source))
        columns["references"].append(list(sample.references))
        columns["source"].append(sample.source)
        columns["sample_id"].append(str(sample.id))
    return datasets.Dataset.from_dict(columns)


def _completion_text(completion: Any) -> str:
    # Conversational completions are lists of {"role", "content"} messages.
    if isinstance(completion, list):
        return "".join(str(m.get("content", "")) for m in completion if isinstance(m, dict))
    return str(completion)


def _scoring_function(task: TokenMDPEnv, score: Callable[..., float], name: str) -> RewardFunction:
    tokenizer = task.tokenizer
    limit = task.max_new_tokens

    def reward(
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] = (),
        references: Sequence[Sequence[str]] | None = None,
        source: Sequence[str] | None = None,
        **_: Any,
    ) -> list[float]:
        if references is None:
            raise ValueError(
                f"{name}: no 'references' column; build the dataset with task_dataset(env)"
            )
        sources = source if source is not None else [None] * len(references)
        scores = []
        for completion, refs, src in zip(completions, references, sources, strict=True):
            # Re-tokenize with the env's tokenizer and keep what the env would have kept (up
            # to max_new_tokens tokens), so the text scored is the text the env would score.
            ids = tokenizer.encode(_completion_text(completion))[:limit]
            scores.append(float(score(tokenizer.decode(ids), list(refs), source=src)))
        return scores

    reward.__name__ = name
    reward.__qualname__ = name
    return reward


def reward_function(env: Any) -> RewardFunction:
    """The env's reward as a TRL reward function (the env's own scorer, e.g. BLEU / 100).

    The function reads the ``references`` (and ``source``, for rewards that read the input)
    columns of :func:`task_dataset`. A completion is re-tokenized with the env's tokenizer and
    cut at ``max_new_tokens`` first, so it gets exactly the terminal reward the env gives the
    same tokens.
    """
    task = _task(env)
    return _scoring_function(task, task.scorer.score, f"textgym_{task.scorer.name}")


def metric_functions(env: Any) -> list[RewardFunction]:
    """One function per metric the env reports (``info["metrics"]``), for logging alongside the
    reward (give them weight 0 in ``GRPOConfig(reward_weights=...)``)."""
    task = _task(env)
    return [_scoring_function(task, s.score, f"textgym_{s.name}") for s in task.report
            if isinstance(s, MetricScorer)]  # fmt: skip


def mask_positions(model: Any) -> Any:
    """Make a decoder-only model derive missing ``position_ids`` from its attention mask.

    Generation counts positions from each prompt's first real token, but TRL's trainers
    compute training log-probabilities with ``model(input_ids, attention_mask)`` only, and
    many models (GPT-2 in transformers 5) then number positions from the first column,
    padding included: a left-padded prompt is seen at other positions than it was sampled
    at, and a model with absolute positions learns from inputs it never generated from.
    A forward pre-hook fills ``position_ids`` from the mask when the caller gives none.

    Returns:
        The hook handle (``handle.remove()`` undoes it).
    """
    import torch

    def fill_positions(
        module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        mask = kwargs.get("attention_mask")
        tokens = kwargs.get("input_ids", args[0] if args else None)
        if tokens is None:
            tokens = kwargs.get("inputs_embeds")
        if kwargs.get("position_ids") is None and mask is not None and tokens is not None:
            positions = (mask.long().cumsum(dim=-1) - 1).clamp(min=0)
            # With a cache, the mask covers past and new tokens; the new ones are last.
            kwargs["position_ids"] = positions[:, -tokens.shape[1] :].to(torch.long)
        return args, kwargs

    return model.register_forward_pre_hook(fill_positions, with_kwargs=True)


def hf_tokenizer(env: Any) -> Any:
    """A ``transformers`` fast tokenizer with exactly the env's word-tokenizer ids.

    Text is split as the env splits it (words and single punctuation marks); decoding joins
    tokens with spaces, which the reward functions normalise back to the env's spelling.
    PAD is ``<pad>``, EOS ``<eos>``, UNK ``<unk>``.

    Raises:
        TypeError: If the env's tokenizer is not the embedded :class:`WordTokenizer` (use the
            tokenizer of your model instead).
    """
    require("tokenizers", "textgym.integrations.trl.hf_tokenizer")
    transformers = require("transformers", "textgym.integrations.trl.hf_tokenizer")
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    from textgym.tokenizers.embedded import _TOKEN_RE

    task = _task(env)
    words = task.tokenizer
    if not isinstance(words, WordTokenizer):
        raise TypeError(
            f"hf_tokenizer: the env uses {type(words).__name__}; pass your model's own "
            "Hugging Face tokenizer instead"
        )
    vocab = {token: i for i, token in enumerate(words.vocab)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Split(Regex(_TOKEN_RE.pattern), behavior="isolated"),
    ])  # fmt: skip
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD,
        eos_token=words.vocab[words.eos_id],
        unk_token=UNK,
        padding_side="left",
    )
