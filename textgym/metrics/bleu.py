"""Sentence and corpus BLEU, numerically identical to sacrebleu 2.x with default settings.

Defaults reproduced: 13a tokenisation, mixed case, max order 4, "exp" smoothing (the NIST
mteval smoothing), effective order for sentence BLEU, brevity penalty against the closest
reference length with ties resolved towards the shorter reference.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from types import ModuleType
from typing import NamedTuple, cast

from ._jit import SHORT_TEXT_TOKENS, AutoJit, as_integers
from ._tokenize import tokenize_13a, tokenize_13a_many
from ._validate import check_hypotheses, check_hypothesis, check_references

MAX_ORDER = 4
# The first sighting's compiled route (numba, the ``fast`` extra); in the default mode once
# numba is loaded or after some 2,000 first sightings (see textgym.metrics._jit).
_JIT = AutoJit("_text_jit", "compiled BLEU matches", after=2_000)


def use_jit(enabled: bool | None) -> None:
    """Pick the compiled route for a reference set's first sighting (``True``), the Python one
    (``False``) or the default (``None``). Scores are the same; the tests run both."""
    _JIT.use(enabled)

# sacrebleu floors log(0) to this value instead of raising; it only matters for corpus BLEU
# where an order without any hypothesis n-gram keeps a zero precision.
_LOG_ZERO = -9999999999


class BleuRefStats(NamedTuple):
    """Pre-computed statistics of one reference set.

    Attributes:
        ngrams: Per order (index 0 = unigrams), n-gram -> max count over the references.
            Unigram keys are plain token strings, higher orders are tuples of tokens.
        lengths: Token length of each reference.
    """

    ngrams: tuple[dict, ...]
    lengths: tuple[int, ...]


def hyp_ngram_counts(tokens: list[str]) -> list[Counter]:
    """Count the 1..4-grams of a token list (unigrams as strings, others as tuples)."""
    counts: list[Counter] = [Counter(tokens)]  # str unigrams, then tuple n-grams
    for n in range(2, MAX_ORDER + 1):
        counts.append(Counter(zip(*[tokens[k:] for k in range(n)], strict=False)))
    return counts


@lru_cache(maxsize=8192)
def bleu_ref_stats(references: tuple[str, ...]) -> BleuRefStats:
    """Tokenise references once and merge their n-gram counts (max over references).

    Cached because RL episodes and evaluation loops score many hypotheses against the same
    reference set; the returned object must be treated as read-only.
    """
    merged: list[dict] = [{} for _ in range(MAX_ORDER)]
    lengths = []
    for ref in references:
        tokens = tokenize_13a(ref)
        lengths.append(len(tokens))
        for table, counts in zip(merged, hyp_ngram_counts(tokens), strict=False):
            if not table:
                table.update(counts)
                continue
            for gram, count in counts.items():
                if count > table.get(gram, 0):
                    table[gram] = count
    return BleuRefStats(tuple(merged), tuple(lengths))


def closest_ref_length(hyp_len: int, ref_lengths: Sequence[int]) -> int:
    """Reference length closest to ``hyp_len``; on a tie the shorter one wins."""
    best_len = ref_lengths[0]
    best_diff = abs(hyp_len - best_len)
    for length in ref_lengths[1:]:
        diff = abs(hyp_len - length)
        if diff < best_diff or (diff == best_diff and length < best_len):
            best_diff, best_len = diff, length
    return best_len


def clipped_matches(hyp: dict, ref: dict) -> int:
    """Sum over shared keys of min(hyp count, ref count), with the loop kept in C."""
    common = hyp.keys() & ref.keys()
    if not common:
        return 0
    return sum(map(min, map(hyp.__getitem__, common), map(ref.__getitem__, common)))


def bleu_from_stats(
    correct: Sequence[int],
    total: Sequence[int],
    sys_len: int,
    ref_len: int,
    effective_order: bool = True,
) -> float:
    """BLEU (0-100) from sufficient statistics with sacrebleu's "exp" smoothing.

    Args:
        correct: Clipped n-gram matches per order.
        total: Hypothesis n-gram counts per order.
        sys_len: Hypothesis length in tokens.
        ref_len: Effective reference length.
        effective_order: Average only over orders that have hypothesis n-grams (sentence BLEU).

    Returns:
        The BLEU score on a 0-100 scale.
    """
    if not any(correct):
        return 0.0
    bp = 1.0
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    log_sum = 0.0
    smooth = 1.0
    order = MAX_ORDER
    for n in range(MAX_ORDER):
        tot = total[n]
        if tot <= 0:
            if effective_order:
                order = n
            else:
                # Remaining precisions stay 0 and contribute the floored log.
                log_sum += _LOG_ZERO * (MAX_ORDER - n)
            break
        cor = correct[n]
        if cor == 0:
            # NIST smoothing: the k-th zero-match order gets precision 1 / (2^k * total).
            smooth *= 2
            log_sum += math.log(100.0 / (smooth * tot))
        else:
            log_sum += math.log(100.0 * cor / tot)
    return bp * math.exp(log_sum / order)


def _clipped_hits(grams, ref: dict) -> int:
    """Sum over distinct n-grams of min(hypothesis count, reference count).

    Only n-grams present in the reference matter; when none of those repeats (the usual
    case) each contributes exactly one, so the Counter is only built for repeated hits.
    """
    hits = list(filter(ref.__contains__, grams))
    if len(set(hits)) == len(hits):
        return len(hits)
    counts = Counter(hits)
    return sum(map(min, counts.values(), map(ref.__getitem__, counts)))


def segment_stats(tokens: list[str], refs: BleuRefStats) -> list[int]:
    """Sufficient statistics ``[sys_len, ref_len, correct*4, total*4]`` of one segment."""
    hyp_len = len(tokens)
    t1, t2, t3 = tokens[1:], tokens[2:], tokens[3:]
    r1, r2, r3, r4 = refs.ngrams
    correct = [
        _clipped_hits(tokens, r1),
        _clipped_hits(zip(tokens, t1, strict=False), r2),
        _clipped_hits(zip(tokens, t1, t2, strict=False), r3),
        _clipped_hits(zip(tokens, t1, t2, t3, strict=False), r4),
    ]
    total = [hyp_len, max(0, hyp_len - 1), max(0, hyp_len - 2), max(0, hyp_len - 3)]
    return [hyp_len, closest_ref_length(hyp_len, refs.lengths), *correct, *total]


class SentenceReferences:
    """The reference sets the sentence-level entry points have met, and their n-gram tables.

    A set's tables are built (and cached, in :func:`bleu_ref_stats`) on its second sighting
    only: scoring one hypothesis against references seen for the first time is cheaper from
    the hypothesis side (:func:`first_sight_stats`), and a set that is never seen again (a new
    evaluation pair) never pays for its tables. Both states live here, cleared together.
    """

    def __init__(self, limit: int = 65536) -> None:
        self._seen: set[tuple[str, ...]] = set()
        self._limit = limit

    def stats(self, tokens: list[str], references: tuple[str, ...]) -> list[int]:
        """:func:`segment_stats` of a tokenised hypothesis, by the cheaper route."""
        if not self._first_sighting(references):
            return segment_stats(tokens, bleu_ref_stats(references))
        ref_tokens = [tokenize_13a(ref) for ref in references]
        if len(tokens) <= SHORT_TEXT_TOKENS and all(
            len(ref) <= SHORT_TEXT_TOKENS for ref in ref_tokens
        ):
            loops = _JIT.get()
            if loops is not None:
                return first_sight_stats_compiled(loops, tokens, ref_tokens)
        return first_sight_stats(tokens, ref_tokens)

    def stats_many(
        self, token_lists: Sequence[list[str]], references_list: Sequence[tuple[str, ...]]
    ) -> list[list[int]]:
        """:meth:`stats` of each pair in turn (the same integers and the same sets met), with
        the references of every first sighting tokenised in one pass and, when the compiled
        route is in use, the matches of every short first sighting in one compiled call."""
        out: list[list[int] | None] = [None] * len(token_lists)
        first: list[int] = []
        for i, references in enumerate(references_list):
            if self._first_sighting(references):
                first.append(i)
            else:
                out[i] = segment_stats(token_lists[i], bleu_ref_stats(references))
        if first:
            flat = tokenize_13a_many([ref for i in first for ref in references_list[i]])
            loops = _JIT.get(len(first))
            short: list[tuple[int, list[list[str]]]] = []
            start = 0
            for i in first:
                ref_tokens = flat[start : start + len(references_list[i])]
                start += len(ref_tokens)
                tokens = token_lists[i]
                if loops is not None and len(tokens) <= SHORT_TEXT_TOKENS and all(
                    len(ref) <= SHORT_TEXT_TOKENS for ref in ref_tokens
                ):
                    short.append((i, ref_tokens))
                else:
                    out[i] = first_sight_stats(tokens, ref_tokens)
            if short:
                assert loops is not None
                texts = [text for i, refs in short for text in (token_lists[i], *refs)]
                found = first_sight_stats_compiled_many(
                    loops, texts, [1 + len(refs) for _, refs in short]
                )
                for (i, _), stats in zip(short, found, strict=True):
                    out[i] = stats
        return cast("list[list[int]]", out)

    def _first_sighting(self, references: tuple[str, ...]) -> bool:
        """Whether ``references`` is met for the first time (then it is remembered)."""
        seen = self._seen
        if references in seen:
            return False
        if len(seen) >= self._limit:
            seen.clear()
        seen.add(references)
        return True

    def clear(self) -> None:
        """Forget every set met and drop the cached tables."""
        self._seen.clear()
        bleu_ref_stats.cache_clear()


SENTENCE_REFERENCES = SentenceReferences()


def first_sight_stats(tokens: list[str], ref_tokens: Sequence[list[str]]) -> list[int]:
    """:func:`segment_stats` computed without building the references' n-gram tables.

    One score only needs, per hypothesis n-gram, its largest count over the references (then
    clipped by its own count). So each reference's n-grams are only tested against the set of
    hypothesis n-grams, in C, instead of being counted into tables and merged.
    """
    correct: list[int] = []
    for n in range(1, MAX_ORDER + 1):
        if n > 1 and not correct[-1]:
            # No (n-1)-gram is shared, so no n-gram is (its prefix would be): nor any longer.
            correct += [0] * (MAX_ORDER - n + 1)
            break
        hyp_grams = tokens if n == 1 else list(zip(*[tokens[k:] for k in range(n)], strict=False))
        distinct = set(hyp_grams)
        if len(distinct) == len(hyp_grams):
            # No hypothesis n-gram repeats: each counts once if any reference has it.
            found: set = set()
            for ref in ref_tokens:
                grams = ref if n == 1 else zip(*[ref[k:] for k in range(n)], strict=False)
                found.update(distinct.intersection(grams))
            correct.append(len(found))
            continue
        best: dict = {}
        for ref in ref_tokens:
            grams = ref if n == 1 else zip(*[ref[k:] for k in range(n)], strict=False)
            for gram, count in Counter(filter(distinct.__contains__, grams)).items():
                if count > best.get(gram, 0):
                    best[gram] = count
        hyp_counts = Counter(hyp_grams)
        correct.append(sum(min(hyp_counts[gram], count) for gram, count in best.items()))
    return _with_lengths(tokens, ref_tokens, correct)


def _with_lengths(
    tokens: list[str], ref_tokens: Sequence[list[str]], correct: list[int]
) -> list[int]:
    """:func:`segment_stats`' list from a first sighting's clipped matches per order."""
    hyp_len = len(tokens)
    total = [hyp_len, max(0, hyp_len - 1), max(0, hyp_len - 2), max(0, hyp_len - 3)]
    ref_len = closest_ref_length(hyp_len, [len(ref) for ref in ref_tokens])
    return [hyp_len, ref_len, *correct, *total]


def first_sight_stats_compiled(
    loops: ModuleType, tokens: list[str], ref_tokens: Sequence[list[str]]
) -> list[int]:
    """:func:`first_sight_stats` by one call of the compiled loops (the same integers)."""
    import numpy as np

    ids, bounds = as_integers([tokens, *ref_tokens])
    correct = loops.bleu_matches(
        np.array(ids, dtype=np.int64), np.array(bounds, dtype=np.int64), MAX_ORDER
    ).tolist()
    return _with_lengths(tokens, ref_tokens, correct)


def first_sight_stats_compiled_many(
    loops: ModuleType, texts: list[list[str]], sizes: Sequence[int]
) -> list[list[int]]:
    """:func:`first_sight_stats_compiled` of many pairs by one compiled call: ``texts`` holds
    each pair's hypothesis then its references, ``sizes`` each pair's number of texts."""
    import numpy as np

    ids, bounds = as_integers(texts)
    pairs = [0]
    for size in sizes:
        pairs.append(pairs[-1] + size)
    matches = loops.bleu_matches_many(
        np.array(ids, dtype=np.int64), np.array(bounds, dtype=np.int64),
        np.array(pairs, dtype=np.int64), MAX_ORDER,
    ).tolist()  # fmt: skip
    return [
        _with_lengths(texts[pairs[p]], texts[pairs[p] + 1 : pairs[p + 1]], correct)
        for p, correct in enumerate(matches)
    ]


def sentence_stats(tokens: list[str], references: tuple[str, ...]) -> list[int]:
    """:func:`segment_stats` of a tokenised hypothesis, by the cheaper route for ``references``
    (see :class:`SentenceReferences`)."""
    return SENTENCE_REFERENCES.stats(tokens, references)


def sentence_bleu(hypothesis: str, references: Sequence[str]) -> float:
    """Sentence-level BLEU, equal to ``sacrebleu.sentence_bleu(hypothesis, references).score``.

    Args:
        hypothesis: The system output.
        references: One or more reference strings.

    Returns:
        BLEU on a 0-100 scale.

    Raises:
        TypeError: If ``hypothesis`` is not a str or ``references`` is not a sequence of str.
        ValueError: If ``references`` is empty.
    """
    check_hypothesis(hypothesis)
    stats = sentence_stats(tokenize_13a(hypothesis), check_references(references))
    return bleu_from_stats(stats[2:6], stats[6:10], stats[0], stats[1], effective_order=True)


def corpus_bleu(hypotheses: Sequence[str], reference_streams: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU, equal to ``sacrebleu.corpus_bleu(hypotheses, reference_streams).score``.

    Args:
        hypotheses: One system output per segment.
        reference_streams: A list of reference streams; each stream holds exactly one reference
            per hypothesis (sacrebleu's layout: ``[[ref1_seg1, ref1_seg2], [ref2_seg1, ...]]``).

    Returns:
        Corpus BLEU on a 0-100 scale (no effective order, as in sacrebleu's corpus default).

    Raises:
        TypeError: On non-string hypotheses or malformed reference streams.
        ValueError: If there are no hypotheses or no streams, or a stream's length differs
            from the number of hypotheses (sacrebleu would silently truncate).
    """
    hyps = check_hypotheses(hypotheses)
    if not hyps:
        raise ValueError("`hypotheses` must contain at least one hypothesis string")
    if isinstance(reference_streams, str) or not isinstance(reference_streams, Sequence):
        raise TypeError(
            "`reference_streams` must be a sequence of reference streams (each a sequence of "
            f"str, one per hypothesis), got {type(reference_streams).__name__}"
        )
    if not reference_streams:
        raise ValueError("`reference_streams` must contain at least one reference stream")
    streams = []
    for k, stream in enumerate(reference_streams):
        stream = check_hypotheses(stream, f"reference_streams[{k}]")
        if len(stream) != len(hyps):
            raise ValueError(
                f"`reference_streams[{k}]` has {len(stream)} references but there are "
                f"{len(hyps)} hypotheses; each stream needs one reference per hypothesis"
            )
        streams.append(stream)
    totals = [0] * (2 + 2 * MAX_ORDER)
    for i, hyp in enumerate(hyps):
        refs = bleu_ref_stats(tuple(stream[i] for stream in streams))
        for k, value in enumerate(segment_stats(tokenize_13a(hyp), refs)):
            totals[k] += value
    return bleu_from_stats(totals[2:6], totals[6:10], totals[0], totals[1], effective_order=False)
