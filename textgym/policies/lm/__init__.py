"""Language-model actor-critic policies for textgym environments.

An :class:`LMActorCritic` wraps any Hugging Face causal LM or encoder-decoder (by Hub name,
local path, config or model object), adds a value head on the shared trunk and steps a batch of
episodes token by token with a KV cache. A reference policy for the KL penalty is either a frozen
copy of the weights (no gradients, no optimizer state) or the same model with its LoRA adapters
disabled (``peft``), so RL fine-tuning keeps one trainable model. Trainers live in
:mod:`textgym.algos`.

Needs torch and transformers: ``pip install "textgym[lm]"``. Nothing here is imported by
``import textgym``.
"""

from textgym.policies.lm.decoding import DecodeState, Sampling
from textgym.policies.lm.model import (
    LMActorCritic,
    build_model,
    tiny_causal_lm_config,
    tiny_seq2seq_config,
)
from textgym.policies.lm.rollout import Rollout, make_envs, rollout, task_of

__all__ = [
    "DecodeState",
    "LMActorCritic",
    "Rollout",
    "Sampling",
    "build_model",
    "make_envs",
    "rollout",
    "task_of",
    "tiny_causal_lm_config",
    "tiny_seq2seq_config",
]
