"""Scorers: what turns a generated text and its references into a number in [0, 1].

A :class:`Scorer` scores whole texts; :meth:`Scorer.start` opens a per-episode
:class:`ScoreTracker` that follows a growing text and returns the score of each prefix, which is
what dense rewards are made of (reward_t = score(prefix_t) - score(prefix_{t-1}), so the rewards
of an episode sum to the final score).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable


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
    """Return ``value`` as a float after checking it is a finite number in [0, 1].

    Raises:
        ValueError: If it is not; a reward outside [0, 1] would silently distort learning.
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(
            f"reward {name!r} returned {value!r}; expected a number in [0, 1]"
        ) from None
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
