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
