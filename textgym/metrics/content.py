"""Content-word ROUGE-L: does a text state the reference's facts, in the reference's order?

Standard overlap metrics give much of their score to words every reference of a task shares
(template words, articles, punctuation), so a constant string or another sample's reference
scores well above zero, and bag-of-words metrics (token F1, ROUGE-1) give full marks to the
reference's words in any order. This metric keeps only *content* tokens, those not in a given
set of template words, and scores their longest common subsequence:

    P = LCS / |content(hypothesis)|,  R = LCS / |content(reference)|,  F = 2PR / (P + R)

maximised over references. Tokens are rouge-score's: lowercase, runs of ``[a-z0-9]`` (so
punctuation never counts), not stemmed, since facts (names, numbers) must match exactly.

Conventions: a reference with no content tokens imposes nothing (F = 1.0 whatever the
hypothesis); a hypothesis with no content tokens against one that has some scores 0.0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ._validate import check_hypothesis, check_references
from .rouge import lcs_length as bit_lcs_length
from .rouge import lcs_masks

_TOKEN = re.compile(r"[a-z0-9]+")

#: A compact English function-word list: the template words of text a task does not describe
#: (loaded data). Articles, pronouns, auxiliaries, prepositions, conjunctions and a few
#: discourse words; numbers and names are never in it.
ENGLISH_FUNCTION_WORDS: frozenset[str] = frozenset([  # fmt: skip
    "a", "an", "the", "this", "that", "these", "those", "some", "any", "each", "every", "no",
    "not", "nor", "and", "or", "but", "if", "then", "so", "as", "of", "to", "in", "on", "at",
    "by", "for", "with", "from", "into", "onto", "over", "under", "about", "after", "before",
    "between", "through", "during", "without", "within", "up", "down", "out", "off", "again",
    "than", "too", "very", "just", "only", "also", "i", "me", "my", "mine", "we", "us", "our",
    "ours", "you", "your", "yours", "he", "him", "his", "she", "her", "hers", "it", "its",
    "they", "them", "their", "theirs", "who", "whom", "whose", "which", "what", "when", "where",
    "why", "how", "there", "here", "is", "are", "was", "were", "be", "been", "being", "am",
    "do", "does", "did", "doing", "done", "have", "has", "had", "having", "will", "would",
    "shall", "should", "can", "could", "may", "might", "must", "s", "t", "d", "ll", "m", "re",
    "ve",
])


def content_tokens(text: str, template_words: frozenset[str] | set[str]) -> list[str]:
    """The lowercase ``[a-z0-9]+`` tokens of ``text`` that are not in ``template_words``."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in template_words]


def normalise_template_words(words: Iterable[str]) -> frozenset[str]:
    """Template words as this metric compares them: every token of every given word, lowercased
    (``"don't"`` contributes ``don`` and ``t``)."""
    return frozenset(t for w in words for t in _TOKEN.findall(str(w).lower()))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences.

    Bit-parallel (:func:`textgym.metrics.rouge.lcs_length`): one Python big-int step per token
    of ``a`` instead of a table cell per pair of tokens (the tests compare it with the table).
    """
    if not a or not b:
        return 0
    return bit_lcs_length(lcs_masks(b), len(b), a)


def f1_of_lcs(common: int, hyp_len: int, ref_len: int) -> float:
    """F1 of an LCS of ``common`` tokens between content-token sequences of these lengths, with
    this module's empty-side rules (see the module docstring)."""
    if not ref_len:
        return 1.0
    if not hyp_len or common == 0:
        return 0.0
    precision, recall = common / hyp_len, common / ref_len
    return 2 * precision * recall / (precision + recall)


def lcs_f1(hyp: Sequence[str], ref: Sequence[str]) -> float:
    """F1 of the LCS of two content-token sequences, with this module's empty-side rules."""
    return f1_of_lcs(lcs_length(hyp, ref), len(hyp), len(ref))


def content_rouge_l(
    hypothesis: str,
    references: Sequence[str],
    template_words: frozenset[str] | set[str] = ENGLISH_FUNCTION_WORDS,
) -> float:
    """Content-word ROUGE-L F1 of ``hypothesis``, maximised over ``references``.

    Args:
        hypothesis: The system output.
        references: One or more reference strings.
        template_words: Tokens that carry no content (lowercase, ``[a-z0-9]+``; see
            :func:`normalise_template_words`). Defaults to :data:`ENGLISH_FUNCTION_WORDS`.

    Returns:
        F in [0, 1] (see the module docstring for the empty-side conventions).

    Raises:
        TypeError: On a non-string hypothesis or malformed references.
        ValueError: On empty references.
    """
    check_hypothesis(hypothesis)
    refs = check_references(references)
    hyp = content_tokens(hypothesis, template_words)
    return max(lcs_f1(hyp, content_tokens(r, template_words)) for r in refs)
