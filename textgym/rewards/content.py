"""Content-gated rewards: a standard metric multiplied by content-word ROUGE-L.

``"rougeL*content"`` scores ``rougeL(text, refs) * content(text, refs)``, where ``content`` is
:func:`textgym.metrics.content.content_rouge_l` with the task's template words. The product is
high only when the text both reads like the reference (the standard metric) and states the
reference's facts in order (the content factor): a constant string, another sample's
reference, a copied source or a shuffled reference loses on one factor or the other. Both
factors lie in [0, 1], so the product does too, and the reference scores 1.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textgym.metrics.content import (
    ENGLISH_FUNCTION_WORDS,
    content_rouge_l,
    content_tokens,
    f1_of_lcs,
)
from textgym.metrics.rouge import lcs_masks, lcs_state_step
from textgym.rewards.base import Scorer, ScoreTracker

#: The name of the content factor in reward specs (``"bleu*content"``).
CONTENT = "content"


class ContentScorer:
    """Content-word ROUGE-L F1 (see :mod:`textgym.metrics.content`) as a scorer.

    Args:
        template_words: Normalised template words (see
            :func:`textgym.metrics.content.normalise_template_words`); a task's own, or
            :data:`~textgym.metrics.content.ENGLISH_FUNCTION_WORDS` for loaded data.
    """

    name = CONTENT

    def __init__(self, template_words: frozenset[str] = ENGLISH_FUNCTION_WORDS) -> None:
        self.template_words = frozenset(template_words)

    def score(self, text: str, references: Sequence[str], source: str | None = None) -> float:
        return content_rouge_l(text, references, self.template_words)

    def start(self, references: Sequence[str], source: str | None = None) -> ScoreTracker:
        return _ContentTracker(
            [content_tokens(r, self.template_words) for r in references], self.template_words
        )

    def __repr__(self) -> str:
        return f"ContentScorer({len(self.template_words)} template words)"


class _ContentTracker:
    """Content tokens of the references computed once; the LCS against each reference is kept
    per hypothesis prefix (the bit-parallel row after each content token), so a new text costs
    one step per content token after the prefix it shares with the last one: most dense steps
    add a template word (nothing to do) or a content token, or extend the last word (one)."""

    def __init__(self, references: list[list[str]], template_words: frozenset[str]) -> None:
        self._refs = references
        self._template_words = template_words
        self._masks = [lcs_masks(ref) for ref in references]
        self._full = [(1 << len(ref)) - 1 for ref in references]
        # Per reference, the bit-parallel LCS row after each content token of self._hyp.
        self._rows = [[full] for full in self._full]
        self._hyp: list[str] | None = None
        self._value = 0.0

    def update(self, text: str) -> float:
        hyp = content_tokens(text, self._template_words)
        old = self._hyp
        if hyp == old:
            return self._value
        shared = 0
        if old is not None:
            limit = min(len(old), len(hyp))
            while shared < limit and old[shared] == hyp[shared]:
                shared += 1
        self._hyp = hyp
        values = []
        for ref, masks, full, rows in zip(
            self._refs, self._masks, self._full, self._rows, strict=True
        ):
            del rows[shared + 1 :]
            row = rows[shared]
            for token in hyp[shared:]:
                row = lcs_state_step(row, token, masks, full)
                rows.append(row)
            values.append(f1_of_lcs(len(ref) - row.bit_count(), len(hyp), len(ref)))
        self._value = max(values)
        return self._value


class ProductScorer:
    """The product of scorers, each in [0, 1] (``"rougeL*content"``).

    Args:
        parts: The factors, at least two.
    """

    def __init__(self, parts: Sequence[Scorer]) -> None:
        if len(parts) < 2:
            raise ValueError(f"reward: a product needs two or more factors, got {len(parts)}")
        self._parts = list(parts)
        self.name = "*".join(p.name for p in self._parts)

    @property
    def parts(self) -> list[Scorer]:
        """The factors, in order."""
        return list(self._parts)

    @staticmethod
    def combine(values: Sequence[Any]) -> Any:
        """The product of the factors' values, in factor order (floats or numpy arrays): the
        same float operations as :meth:`score`, for callers that already hold the factors'
        values (reported metrics, the vector env's id kernels)."""
        product: Any = 1.0
        for value in values:
            product = product * value
        return product

    def score(self, text: str, references: Sequence[str], source: str | None = None) -> float:
        value = 1.0
        for part in self._parts:
            value *= part.score(text, references, source)
            if value == 0.0:  # the rest cannot raise it; skip their cost
                return 0.0
        return value

    def start(self, references: Sequence[str], source: str | None = None) -> ScoreTracker:
        return _ProductTracker([p.start(references, source) for p in self._parts])

    def __repr__(self) -> str:
        return f"ProductScorer({self.name!r})"


class _ProductTracker:
    def __init__(self, parts: list[ScoreTracker]) -> None:
        self._parts = parts

    def update(self, text: str) -> float:
        # Every tracker sees every prefix (incremental trackers need the whole sequence).
        return ProductScorer.combine([part.update(text) for part in self._parts])
