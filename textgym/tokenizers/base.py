"""The small tokenizer protocol the environments depend on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Tokenizer(Protocol):
    """What an environment needs from a tokenizer.

    The action space is ``Discrete(vocab_size)``, so every id in ``range(vocab_size)`` must be
    decodable. ``eos_id`` ends an episode; ``pad_id`` fills the unused positions of observations.
    """

    @property
    def vocab_size(self) -> int: ...

    @property
    def eos_id(self) -> int: ...

    @property
    def pad_id(self) -> int: ...

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, without special tokens."""
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``; special tokens (PAD, EOS) produce no text."""
        ...


def encode_batch(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """``tokenizer.encode`` of each of ``texts``: its ``encode_batch`` when it has one (the
    Hugging Face adapter does; it must equal encoding one by one), else a loop."""
    batch = getattr(tokenizer, "encode_batch", None)
    if batch is None:
        return [list(tokenizer.encode(text)) for text in texts]
    return [list(ids) for ids in batch(texts)]


def decode_batch(tokenizer: Tokenizer, rows: Sequence[Sequence[int]]) -> list[str]:
    """``tokenizer.decode`` of each of ``rows``: its ``decode_batch`` when it has one (it must
    equal decoding one by one), else a loop."""
    batch = getattr(tokenizer, "decode_batch", None)
    if batch is None:
        return [tokenizer.decode(ids) for ids in rows]
    return list(batch(rows))
