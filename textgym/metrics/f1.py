"""SQuAD-style token F1 (bag of normalised tokens, best over references)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ._tokenize import tokenize_squad
from ._validate import check_hypothesis, check_references
from .bleu import clipped_matches


def f1_from_counts(common: int, hyp_len: int, ref_len: int) -> float:
    """Token F1 from the bag overlap and the two lengths.

    Both sides empty after normalisation counts as a perfect match (1.0); exactly one side empty
    scores 0.0. This follows the SQuAD v2 convention for unanswerable questions.
    """
    if hyp_len == 0 or ref_len == 0:
        return float(hyp_len == ref_len)
    if common == 0:
        return 0.0
    precision = common / hyp_len
    recall = common / ref_len
    return 2 * precision * recall / (precision + recall)


def token_f1(hypothesis: str, references: Sequence[str]) -> float:
    """SQuAD token F1 between a hypothesis and the best-matching reference.

    Both texts are normalised as in the official SQuAD script: lowercase, delete ASCII
    punctuation, remove the articles "a", "an", "the", split on whitespace. The score is the
    F1 of the two token multisets, maximised over references.

    Args:
        hypothesis: The system output.
        references: One or more reference strings.

    Returns:
        F1 in [0, 1]; 1.0 if both normalise to no tokens, 0.0 if only one side does.

    Raises:
        TypeError: On a non-string hypothesis or malformed references.
        ValueError: On empty references.
    """
    check_hypothesis(hypothesis)
    refs = check_references(references)
    hyp = tokenize_squad(hypothesis)
    hyp_counts = Counter(hyp)
    best = 0.0
    for ref in refs:
        ref_tokens = tokenize_squad(ref)
        common = clipped_matches(hyp_counts, Counter(ref_tokens)) if hyp and ref_tokens else 0
        best = max(best, f1_from_counts(common, len(hyp), len(ref_tokens)))
    return best
