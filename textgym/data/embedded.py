"""Embedded datasets: samples produced on demand by a task generator, split by content hash.

Sample ``i`` of a split is drawn from an RNG seeded with ``(seed, split, i)`` and kept only if
the hash of its source text falls in that split's bucket; otherwise the same RNG draws again.
So any sample can be produced alone (no need to generate the ones before it), the same source
text can never land in two splits, and the result is identical across processes and platforms
(the hash is SHA-1, not Python's salted ``hash``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np

from textgym.data.sample import Sample

#: Split name -> (code used in RNG seeds, hash buckets out of 20).
SPLITS: dict[str, tuple[int, range]] = {
    "train": (0, range(0, 18)),
    "validation": (1, range(18, 19)),
    "test": (2, range(19, 20)),
}
_BUCKETS = 20
#: Default number of samples in each split of an embedded dataset.
DEFAULT_SIZES = {"train": 20_000, "validation": 500, "test": 500}
_MAX_ATTEMPTS = 10_000


class Generator(Protocol):
    """What an embedded task generator provides (see ``textgym/tasks/*/generator.py``)."""

    max_source_tokens: int
    max_reference_tokens: int

    def lexicon(self) -> list[str]: ...

    def generate(self, rng: np.random.Generator) -> tuple[str, list[str], dict[str, Any]]: ...


def split_of(source: str) -> str:
    """The split a source text belongs to."""
    bucket = int.from_bytes(hashlib.sha1(source.encode("utf-8")).digest()[:8], "big") % _BUCKETS
    for name, (_, buckets) in SPLITS.items():
        if bucket in buckets:
            return name
    raise AssertionError("unreachable: the buckets cover 0..19")


class EmbeddedDataset:
    """A fixed-size, random-access split of an embedded task.

    Args:
        generator: The task generator.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        size: Number of samples; defaults to :data:`DEFAULT_SIZES`.
        seed: Seed of the sample stream (the generator's own seed fixes its lexicon).
    """

    def __init__(
        self, generator: Generator, split: str, size: int | None = None, seed: int = 0
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {', '.join(SPLITS)}, got {split!r}")
        size = DEFAULT_SIZES[split] if size is None else size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"num_samples: expected an integer >= 1, got {size!r}")
        self.generator = generator
        self.split = split
        self.size = size
        self.seed = seed
        self._cache: dict[int, Sample] = {}

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Sample:
        if not -self.size <= index < self.size:
            raise IndexError(f"sample index {index} is outside [0, {self.size})")
        index %= self.size
        sample = self._cache.get(index)
        if sample is None:
            sample = self._cache[index] = self._make(index)
        return sample

    def __iter__(self) -> Iterator[Sample]:
        return (self[i] for i in range(self.size))

    def _make(self, index: int) -> Sample:
        code, _ = SPLITS[self.split]
        rng = np.random.default_rng([self.seed, code, index])
        for _ in range(_MAX_ATTEMPTS):
            source, references, meta = self.generator.generate(rng)
            if split_of(source) == self.split:
                return Sample(f"{self.split}-{index}", source, tuple(references), meta)
        raise RuntimeError(
            f"generator produced no {self.split!r} sample in {_MAX_ATTEMPTS} draws; "
            "its space of sources is too small for hash-based splits"
        )

    def __getstate__(self) -> dict[str, Any]:
        # Samples are cheap to regenerate and identical when regenerated: don't ship the cache.
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state

    def __repr__(self) -> str:
        return f"EmbeddedDataset(split={self.split!r}, size={self.size}, seed={self.seed})"
