"""chrF and chrF++, numerically identical to sacrebleu 2.x defaults.

Defaults reproduced: character order 6, beta 2, whitespace removed before extracting character
n-grams, case-sensitive, sacrebleu's "effective order" averaging (``eps_smoothing=False``),
chrF++ word n-grams from its punctuation-splitting tokeniser, and for several references the
statistics of the single best-scoring reference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

from ._chargrams import GramCounts, gram_counts
from ._validate import check_hypothesis, check_references
from .bleu import clipped_matches

CHAR_ORDER = 6
BETA = 2
# Below this many characters the fixed cost of a dozen numpy calls exceeds the Python path.
VECTORISE_MIN_CHARS = 48
_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def char_totals_of(size: int) -> list[int]:
    """The number of character n-grams per order (1..6) of a whitespace-free text of ``size``
    characters."""
    return [max(0, size - n) for n in range(CHAR_ORDER)]


def split_word_punct(word: str) -> tuple[str, ...]:
    """chrF++ word tokenisation of one whitespace-delimited word.

    A word longer than one character loses one trailing punctuation mark as a separate token,
    or failing that one leading mark ("(hi)" -> "(hi", ")"); this mirrors the reference chrF++.
    """
    if len(word) > 1:
        if word[-1] in _PUNCT:
            return (word[:-1], word[-1])
        if word[0] in _PUNCT:
            return (word[0], word[1:])
    return (word,)


def chrf_words(text: str) -> list[str]:
    """Word tokens used by the word n-grams of chrF++."""
    out: list[str] = []
    for word in text.split():
        out.extend(split_word_punct(word))
    return out


def char_ngram_counts(chars: str) -> list[Counter]:
    """Counts of character n-grams of orders 1..6 of an already whitespace-free string."""
    size = len(chars)
    counts = [Counter(chars)]
    getter = chars.__getitem__
    for n in range(2, CHAR_ORDER + 1):
        # map/slice keeps the per-n-gram work in C.
        counts.append(Counter(map(getter, map(slice, range(size - n + 1), range(n, size + 1)))))
    return counts


def word_ngram_counts(words: list[str], word_order: int) -> list[Counter]:
    """Counts of word n-grams of orders 1..word_order (unigrams as str, others as tuples)."""
    counts: list[Counter] = [Counter(words)] if word_order >= 1 else []
    for n in range(2, word_order + 1):
        counts.append(Counter(zip(*[words[k:] for k in range(n)], strict=False)))
    return counts


class ChrfRef:
    """N-gram statistics of one reference.

    Attributes:
        totals: Number of n-grams per order, character orders first, then word orders.
        grams: Vectorised character n-grams (None if the text cannot be encoded).
        word_counts: Word n-gram Counters of orders 1..word_order (chrF++).
        counts: Counters per order, character orders first, then word orders. The character
            Counters are only built on first access (pure-Python path, incremental scorers).
    """

    __slots__ = ("_chars", "word_counts", "_counts", "totals", "grams")

    def __init__(self, reference: str, word_order: int):
        chars = self._chars = "".join(reference.split())
        words = word_ngram_counts(chrf_words(reference), word_order) if word_order else []
        self.word_counts = words
        self._counts: tuple[Counter, ...] | None = None
        size = len(chars)
        char_totals = char_totals_of(size)
        self.totals = tuple(char_totals + [sum(c.values()) for c in words])
        self.grams = gram_counts(chars)

    @property
    def counts(self) -> tuple[Counter, ...]:
        if self._counts is None:
            self._counts = tuple(char_ngram_counts(self._chars) + self.word_counts)
        return self._counts


@lru_cache(maxsize=16384)
def chrf_ref(reference: str, word_order: int) -> ChrfRef:
    """Cached n-gram statistics of one reference string (read-only)."""
    return ChrfRef(reference, word_order)


def chrf_from_stats(n_hyp: Sequence[int], n_ref: Sequence[int], n_match: Sequence[int]) -> float:
    """chrF (0-100) from per-order hypothesis, reference and match counts.

    Orders missing on either side are skipped (sacrebleu's effective order); precision and
    recall are macro-averaged over the remaining orders before the F-beta combination.
    """
    factor = BETA**2
    avg_prec = 0.0
    avg_rec = 0.0
    eff = 0
    for hyp_n, ref_n, match_n in zip(n_hyp, n_ref, n_match, strict=False):
        if hyp_n > 0 and ref_n > 0:
            avg_prec += match_n / hyp_n
            avg_rec += match_n / ref_n
            eff += 1
    if eff == 0:
        return 0.0
    avg_prec /= eff
    avg_rec /= eff
    if not avg_prec + avg_rec:
        return 0.0
    score = (1 + factor) * avg_prec * avg_rec
    score /= factor * avg_prec + avg_rec
    return 100 * score


def chrf_best(
    hyp_counts: list[Counter],
    hyp_totals: list[int],
    refs: Sequence[ChrfRef],
    hyp_grams: GramCounts | None = None,
) -> float:
    """Score against each reference and keep the best, as sacrebleu does for multi-ref chrF.

    ``hyp_counts`` holds the character orders followed by the word orders; when ``hyp_grams``
    is given, character matches come from it and ``hyp_counts`` only needs the word orders
    (its character entries are ignored).
    """
    stats = []
    for ref in refs:
        if hyp_grams is not None and ref.grams is not None:
            n_match = hyp_grams.matches(ref.grams)
            n_match += [
                clipped_matches(h, r)
                for h, r in zip(hyp_counts[CHAR_ORDER:], ref.word_counts, strict=False)
            ]
        else:
            n_match = [clipped_matches(h, r) for h, r in zip(hyp_counts, ref.counts, strict=False)]
        stats.append((ref.totals, n_match))
    return best_of_stats(hyp_totals, stats)


def best_of_stats(
    hyp_totals: Sequence[int], stats: Iterable[tuple[Sequence[int], Sequence[int]]]
) -> float:
    """The best chrF over references given as ``(totals, matches)`` per order, against a
    hypothesis with ``hyp_totals`` n-grams per order (-1.0 for no reference)."""
    best = -1.0
    for ref_totals, n_match in stats:
        # sacrebleu zeroes the hypothesis count of an order the reference has no n-grams for.
        n_hyp = [h if r else 0 for h, r in zip(hyp_totals, ref_totals, strict=False)]
        score = chrf_from_stats(n_hyp, ref_totals, n_match)
        if score > best:
            best = score
    return best


def sentence_chrf(hypothesis: str, references: Sequence[str], word_order: int = 0) -> float:
    """Sentence chrF, equal to ``sacrebleu.sentence_chrf(hyp, refs, word_order=...).score``.

    Args:
        hypothesis: The system output.
        references: One or more reference strings; the best-scoring one counts.
        word_order: Word n-gram order; 0 gives chrF, 2 gives chrF++.

    Returns:
        chrF on a 0-100 scale.

    Raises:
        TypeError: On a non-string hypothesis or malformed references.
        ValueError: On empty references or a negative ``word_order``.
    """
    check_hypothesis(hypothesis)
    refs = check_references(references)
    if not isinstance(word_order, int) or word_order < 0:
        raise ValueError(f"`word_order` must be a non-negative int, got {word_order!r}")
    ref_stats = [chrf_ref(ref, word_order) for ref in refs]
    chars = "".join(hypothesis.split())
    size = len(chars)
    hyp_grams = None
    if size >= VECTORISE_MIN_CHARS and all(r.grams is not None for r in ref_stats):
        hyp_grams = gram_counts(chars)
    # With hyp_grams the character matches come from it; the Counters are then placeholders.
    hyp_counts = char_ngram_counts(chars) if hyp_grams is None else [Counter()] * CHAR_ORDER
    hyp_totals = char_totals_of(size)
    if word_order:
        words = chrf_words(hypothesis)
        hyp_counts += word_ngram_counts(words, word_order)
        hyp_totals += [max(0, len(words) - n) for n in range(word_order)]
    return chrf_best(hyp_counts, hyp_totals, ref_stats, hyp_grams)
