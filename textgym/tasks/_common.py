"""Helpers shared by the embedded task generators: fast random draws, pseudo-words, templates.

Everything here is deterministic given a :class:`numpy.random.Generator`; nothing touches a
global RNG, so two generators built from the same seed agree on every platform.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from textgym.tokenizers.embedded import split_tokens

T = TypeVar("T")

# One ``rng.random`` call per batch of decisions: calling numpy once per decision would cost
# a few microseconds each and keep generation well below the 5k samples/s target.
_BATCH = 64


class Draws:
    """A cursor over a batch of uniform draws from ``rng``, refilled on demand.

    Args:
        rng: The only source of randomness; it is advanced by one ``random`` call per batch.
    """

    __slots__ = ("_rng", "_buf", "_pos")

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._buf: list[float] = rng.random(_BATCH).tolist()
        self._pos = 0

    def uniform(self) -> float:
        """A float in [0, 1)."""
        if self._pos == len(self._buf):
            self._buf = self._rng.random(_BATCH).tolist()
            self._pos = 0
        u = self._buf[self._pos]
        self._pos += 1
        return u

    def index(self, n: int) -> int:
        """An integer in [0, n)."""
        return min(int(self.uniform() * n), n - 1)

    def between(self, low: int, high: int) -> int:
        """An integer in [low, high], both ends included."""
        return low + self.index(high - low + 1)

    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return self.uniform() < p

    def pick(self, seq: Sequence[T]) -> T:
        """A uniformly chosen element of ``seq``."""
        return seq[self.index(len(seq))]

    def sample(self, seq: Sequence[T], k: int) -> list[T]:
        """``k`` distinct elements of ``seq`` (partial Fisher-Yates; ``k <= len(seq)``)."""
        n = len(seq)
        if k * 4 < n:
            # Rejection is cheaper than copying a long pool when only a few items are needed.
            chosen: list[int] = []
            while len(chosen) < k:
                i = self.index(n)
                if i not in chosen:
                    chosen.append(i)
            return [seq[i] for i in chosen]
        pool = list(seq)
        for i in range(k):
            j = i + self.index(n - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def shuffle(self, items: list[T]) -> None:
        """Shuffle ``items`` in place."""
        for i in range(len(items) - 1, 0, -1):
            j = self.index(i + 1)
            items[i], items[j] = items[j], items[i]


_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
_CODAS = "lmnrs"


def pseudo_words(
    rng: np.random.Generator,
    n: int,
    syllables: tuple[int, int] = (1, 3),
    avoid: Iterable[str] = (),
    ok: Callable[[str], bool] | None = None,
) -> list[str]:
    """``n`` distinct pronounceable pseudo-words built from CV and CVC syllables.

    Args:
        rng: Source of randomness (the generator's world seed).
        n: How many words.
        syllables: Inclusive range of syllables per word.
        avoid: Words that must not be produced (real words of the lexicon, earlier names).
        ok: Extra acceptance test, e.g. that the word's inflected forms are free too.

    Returns:
        The words, in generation order.
    """
    taken = set(avoid)
    out: list[str] = []
    lo, hi = syllables
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 200 * n + 1000:
            raise ValueError(f"cannot make {n} distinct pseudo-words with {syllables} syllables")
        k = int(rng.integers(lo, hi + 1))
        codes = rng.integers(0, 1 << 16, size=3 * k).tolist()
        parts = []
        for s in range(k):
            c, v, tail = codes[3 * s : 3 * s + 3]
            syl = _CONSONANTS[c % len(_CONSONANTS)] + _VOWELS[v % len(_VOWELS)]
            # A coda only on the last syllable, a third of the time: keeps words CV-heavy.
            if s == k - 1 and tail % 3 == 0:
                syl += _CODAS[(tail // 3) % len(_CODAS)]
            parts.append(syl)
        word = "".join(parts)
        if len(word) < 3 or word in taken or (ok is not None and not ok(word)):
            continue
        taken.add(word)
        out.append(word)
    return out


Template = tuple[tuple[bool, str], ...]


def compile_template(text: str) -> Template:
    """Parse ``"the {winner} won ."`` into (is_slot, name-or-token) pairs, once, at import."""
    return tuple(
        (True, tok[1:-1]) if tok.startswith("{") else (False, tok) for tok in text.split()
    )


def render(template: Template, values: Mapping[str, Sequence[str]], out: list[str]) -> None:
    """Append the tokens of ``template`` to ``out``; slot values are token lists."""
    for is_slot, tok in template:
        if is_slot:
            out.extend(values[tok])
        else:
            out.append(tok)


def template_words(templates: Iterable[Template]) -> list[str]:
    """The fixed (non-slot) tokens of ``templates``, first-seen order."""
    return list(dict.fromkeys(tok for t in templates for is_slot, tok in t if not is_slot))


def template_max_len(template: Template, slot_max: Mapping[str, int]) -> int:
    """Upper bound on the rendered length of ``template`` given each slot's longest value."""
    return sum(slot_max[tok] if is_slot else 1 for is_slot, tok in template)


def ordered_unique(groups: Iterable[Iterable[str]]) -> list[str]:
    """Concatenate token groups, keeping the first occurrence of each token."""
    return list(dict.fromkeys(tok for group in groups for tok in group))


def check_tokens(words: Iterable[str]) -> None:
    """Raise if a lexicon entry would not survive :func:`split_tokens` as one token."""
    for w in words:
        if split_tokens(w) != [w] or w != w.lower():
            raise AssertionError(f"lexicon entry {w!r} is not one lowercase token")


def check_int(name: str, value: Any, low: int, high: int) -> None:
    """Raise ``ValueError`` naming the knob unless ``low <= value <= high`` and it is an int."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name}: expected an integer in [{low}, {high}], got {value!r}")


def check_prob(name: str, value: Any) -> None:
    """Raise ``ValueError`` naming the knob unless ``value`` is a probability."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 1.0
    if not ok:
        raise ValueError(f"{name}: expected a probability in [0, 1], got {value!r}")


def check_range(name_lo: str, lo: int, name_hi: str, hi: int) -> None:
    """Raise ``ValueError`` naming both knobs unless ``lo <= hi``."""
    if lo > hi:
        raise ValueError(f"{name_lo}/{name_hi}: expected {name_lo} <= {name_hi}, got {lo} > {hi}")


def check_choices(name: str, value: Any, allowed: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the knob unless ``value`` is a non-empty tuple of choices."""
    ok = (
        isinstance(value, tuple)
        and len(value) > 0
        and len(set(value)) == len(value)
        and all(v in allowed for v in value)
    )
    if not ok:
        raise ValueError(
            f"{name}: expected a non-empty tuple of distinct names from {tuple(allowed)}, "
            f"got {value!r}"
        )
