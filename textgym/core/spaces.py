"""Observation and action spaces shared by the single and the vector environments."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

#: Integer dtype of every observation array: SB3 and torch embeddings take int64 ids as they are.
ID_DTYPE = np.int64

OBSERVATION_KEYS = ("prompt_ids", "prompt_mask", "generated_ids", "generated_mask", "remaining")


def observation_space(vocab_size: int, max_prompt_len: int, max_new_tokens: int) -> spaces.Dict:
    """The flat ``Dict`` of fixed-length integer ``Box`` arrays every textgym env observes.

    Keys:
        ``prompt_ids``: ``(max_prompt_len,)`` token ids of the prompt, right-padded with PAD.
        ``prompt_mask``: ``(max_prompt_len,)`` 1 where ``prompt_ids`` holds a prompt token.
        ``generated_ids``: ``(max_new_tokens,)`` ids generated so far, right-padded with PAD.
        ``generated_mask``: ``(max_new_tokens,)`` 1 where a token has been generated.
        ``remaining``: ``(1,)`` how many tokens may still be generated before the length limit.

    ``Box`` rather than ``MultiDiscrete``: SB3 one-hot encodes ``MultiDiscrete`` observations,
    which for a realistic vocabulary explodes the first layer (see DESIGN.md).
    """
    if vocab_size < 2:
        raise ValueError(
            f"vocab_size: expected >= 2 (at least EOS and one token), got {vocab_size}"
        )
    if max_prompt_len < 1:
        raise ValueError(f"max_prompt_len: expected >= 1, got {max_prompt_len}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens: expected >= 1, got {max_new_tokens}")
    top = vocab_size - 1
    return spaces.Dict(
        {
            "prompt_ids": spaces.Box(0, top, shape=(max_prompt_len,), dtype=ID_DTYPE),
            "prompt_mask": spaces.Box(0, 1, shape=(max_prompt_len,), dtype=ID_DTYPE),
            "generated_ids": spaces.Box(0, top, shape=(max_new_tokens,), dtype=ID_DTYPE),
            "generated_mask": spaces.Box(0, 1, shape=(max_new_tokens,), dtype=ID_DTYPE),
            "remaining": spaces.Box(0, max_new_tokens, shape=(1,), dtype=ID_DTYPE),
        }
    )


def action_space(vocab_size: int) -> spaces.Discrete:
    """One action per token id of the tokenizer's vocabulary."""
    return spaces.Discrete(vocab_size)
