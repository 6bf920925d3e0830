"""Scorers: what turns a generated text and its references into a number in [0, 1].

A :class:`Scorer` scores whole texts; :meth:`Scorer.start` opens a per-episode
:class:`ScoreTracker` that follows a growing text and returns the score of each prefix, which is
what dense rewards are made of (reward_t = score(prefix_t) - score(prefix_{t-1}), with
score(prefix_0) taken as 0 rather than the empty text's score, so the rewards of an episode sum to
the final score).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class ScoreTracker(Protocol):
    """Per-episode state that scores a growing hypothesis against fixed references."""

    def update(self, text: str) -> float:
        """Score of the whole current hypothesis ``text`` (usually the previous one, extended)."""
        ...


@runtime_checkable
class Scorer(Protocol):
    """A metric on [0, 1] with an incremental form."""

    name: str

    def score(self, text: str, references: Sequence[str], source: str | None = None) -> float:
        """Score of ``text`` against ``references``, in [0, 1].

        ``source`` is the sample's source text, for rewards that read it (a learned reward
        model); reference-based metrics ignore it.
        """
        ...

    def start(self, references: Sequence[str], source: str | None = None) -> ScoreTracker:
        """A tracker for one episode against ``references`` (and ``source``, see ``score``)."""
        ...


def check_score(value: object, name: str) -> float:
    """Return ``value`` as a float after checking it is a real number in [0, 1].

    A real number is an ``int``, ``float``, ``fractions.Fraction`` or numpy integer/floating
    scalar; not a ``bool`` (a truth value is not a score), a string, an array or a tensor:
    converting those silently would hide a reward that returns the wrong thing.

    Raises:
        TypeError: If ``value`` is not a real number (naming the reward and the type).
        ValueError: If it is NaN, infinite or outside [0, 1]; a reward outside [0, 1] would
            silently distort learning.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"reward {name!r} returned a {type(value).__name__} ({value!r}); expected a real "
            "number in [0, 1] (an int, float or numpy number; convert with float(...))"
        )
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise ValueError(f"reward {name!r} returned {number!r}; expected a number in [0, 1]")
    return number


class RescoringTracker:
    """A tracker for scorers with no incremental form: rescores the whole text when it changes."""

    def __init__(
        self, scorer: Scorer, references: Sequence[str], source: str | None = None
    ) -> None:
        self._scorer = scorer
        self._references = tuple(references)
        self._source = source
        self._text: str | None = None
        self._value = 0.0

    def update(self, text: str) -> float:
        if text != self._text:
            self._text = text
            self._value = self._scorer.score(text, self._references, source=self._source)
        return self._value
