"""Language-model actor-critic policies for textgym environments.

An :class:`LMActorCritic` wraps any Hugging Face causal LM or encoder-decoder (by Hub name,
local path, config or model object: GPT-2-style decoders, T5, BART, Marian, ``EncoderDecoderModel``
pairs such as BERT2BERT, and BERT-style encoders turned into decoders; see
:mod:`textgym.policies.lm.build`), adds a value head on the decoder's last hidden states and
steps a batch of episodes token by token with a KV cache. A reference policy for the KL penalty
is either a frozen copy of the weights (no gradients, no optimizer state) or the same model with
its LoRA adapters disabled (``peft``), so RL fine-tuning keeps one trainable model.
:func:`bert2bert` builds an encoder-decoder from an encoder checkpoint in one line. Trainers live
in :mod:`textgym.algos`.

Needs torch and transformers: ``pip install "textgym[lm]"``. Nothing here is imported by
``import textgym``.
"""

from textgym.policies.lm.build import bert2bert, save_model, share_encoder_weights, with_lora
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
    "bert2bert",
    "build_model",
    "make_envs",
    "rollout",
    "save_model",
    "share_encoder_weights",
    "task_of",
    "tiny_causal_lm_config",
    "tiny_seq2seq_config",
    "with_lora",
]
