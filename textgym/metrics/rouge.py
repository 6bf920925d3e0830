"""ROUGE-N, ROUGE-L and ROUGE-Lsum F-measures, identical to rouge-score's ``score_multi``.

rouge-score re-tokenises and re-stems both texts on every call and fills an O(m*n) Python LCS
table. Here reference tokens, n-gram counts and LCS bit masks are cached per reference, stems
are cached per word, and the LCS length uses the bit-parallel algorithm of Allison & Dix /
Hyyro, where one Python big-int step processes a whole DP row.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Any, cast

from ._jit import AutoJit
from ._tokenize import (
    _BATCH_SEP,
    _ROUGE_BYTES_JOINED,
    tokenize_rouge,
    tokenize_rouge_many,
)
from ._validate import check_hypothesis, check_references
from .bleu import clipped_matches

VALID_VARIANTS = "rouge1..rouge9, rougeL, rougeLsum"
# rouge_scores' compiled route (numba, the ``fast`` extra) for ROUGE-N and ROUGE-L; in the
# default mode once numba is loaded or after some 2,000 calls (see textgym.metrics._jit).
# It takes texts of up to TEXT_TOKENS tokens: beyond, its LCS (the textbook dynamic programme
# past 63 reference tokens) makes it slower than the Python route's cached bit masks. Measured
# (random SciTLDR words, 2 references, Python route warm): 2.2x faster at 40 tokens, 1.16x at
# 200, even at 250, 0.8x at 400.
_JIT = AutoJit("_text_jit", "compiled ROUGE scoring", after=2_000)
TEXT_TOKENS = 200


# The compiled route's table of word stems (_text_jit.new_stem_table), made at its first use;
# one call at a time reads and fills it.
_STEM_TABLE: tuple[Any, Any] | None = None
_STEM_TABLE_LOCK = threading.Lock()


def _new_lock_in_child() -> None:
    # A process forked while another thread held the lock would wait for it forever.
    global _STEM_TABLE_LOCK
    _STEM_TABLE_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_in_child)


def clear_stem_table() -> None:
    """Empty the compiled route's table of word stems (``metrics.clear_caches`` calls it)."""
    with _STEM_TABLE_LOCK:
        if _STEM_TABLE is not None:
            importlib.import_module("textgym.metrics._text_jit").clear_stem_table(_STEM_TABLE[0])


def use_jit(enabled: bool | None) -> None:
    """Pick :func:`rouge_scores`' compiled route for ROUGE-N and ROUGE-L (``True``), the
    Python one (``False``) or the default (``None``). Scores are the same; the tests run both.
    """
    _JIT.use(enabled)


_VARIANTS = frozenset([*(f"rouge{n}" for n in range(1, 10)), "rougeL", "rougeLsum"])


def check_variant(variant: object) -> str:
    """Return ``variant`` if it names a supported ROUGE type, else raise ``ValueError``."""
    if not isinstance(variant, str) or variant not in _VARIANTS:
        raise ValueError(f"unknown ROUGE variant {variant!r}; valid variants: {VALID_VARIANTS}")
    return variant


def fmeasure(precision: float, recall: float) -> float:
    """Harmonic mean, 0 when both are 0 (rouge-score's ``scoring.fmeasure``)."""
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def ngram_counter(tokens: list[str], n: int) -> Counter:
    """Counts of the n-grams of ``tokens`` (unigrams as str, others as tuples)."""
    if n == 1:
        return Counter(tokens)
    return Counter(zip(*[tokens[k:] for k in range(n)], strict=False))


def lcs_masks(tokens: Sequence[str]) -> dict[str, int]:
    """Bit mask per token type with bit i set where ``tokens[i]`` is that type."""
    masks: dict[str, int] = {}
    for i, tok in enumerate(tokens):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    return masks


def lcs_state_step(state: int, token: str, masks: dict[str, int], full: int) -> int:
    """Advance the bit-parallel LCS row vector by one token of the other sequence.

    Zero bits of ``state`` (within ``full``) count the LCS length so far.
    """
    match = masks.get(token)
    if match is None:
        return state
    u = state & match
    return ((state + u) | (state - u)) & full


def lcs_length(masks: dict[str, int], ref_len: int, tokens: Iterable[str]) -> int:
    """Length of the longest common subsequence of the masked reference and ``tokens``."""
    full = (1 << ref_len) - 1
    state = full
    get = masks.get
    for tok in tokens:
        match = get(tok)
        if match is not None:
            u = state & match
            state = ((state + u) | (state - u)) & full
    return ref_len - state.bit_count()


class RougeRef:
    """Cached per-reference data: tokens, lazily built n-gram counts and LCS masks."""

    __slots__ = ("tokens", "_ngrams", "_masks", "_sentences", "_text", "_stem")

    def __init__(self, text: str, stem: bool, tokens: list[str] | None = None):
        # ``tokens``: the text's tokenisation when the caller already has it.
        self.tokens = tokenize_rouge(text, stem) if tokens is None else tokens
        self._ngrams: dict[int, Counter] = {}
        self._masks: dict[str, int] | None = None
        self._sentences: list[list[str]] | None = None
        self._text = text
        self._stem = stem

    def ngrams(self, n: int) -> Counter:
        """N-gram counts of the reference (built on first request)."""
        counts = self._ngrams.get(n)
        if counts is None:
            counts = self._ngrams[n] = ngram_counter(self.tokens, n)
        return counts

    @property
    def masks(self) -> dict[str, int]:
        """Bit masks for the bit-parallel LCS (built on first request)."""
        if self._masks is None:
            self._masks = lcs_masks(self.tokens)
        return self._masks

    @property
    def sentences(self) -> list[list[str]]:
        """Token lists of the reference's newline-separated sentences (for rougeLsum).

        Built on first request: only rougeLsum needs them.
        """
        if self._sentences is None:
            # rougeLsum treats each non-empty line as a sentence.
            self._sentences = [tokenize_rouge(s, self._stem) for s in self._text.split("\n") if s]
        return self._sentences


class RefCache:
    """Bounded cache of :class:`RougeRef` per (reference text, stem): ``cache(text, stem)``.

    Unlike ``functools.lru_cache`` it can say which references are missing
    (:meth:`get`), so that :func:`rouge_scores` tokenises and stems all the new texts of a
    call in one batch. When full it drops its older half (insertion order).
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: dict[tuple[str, bool], RougeRef] = {}

    def __call__(self, text: str, stem: bool) -> RougeRef:
        ref = self._data.get((text, stem))
        if ref is None:
            ref = self.put(text, stem, None)
        return ref

    def get(self, text: str, stem: bool) -> RougeRef | None:
        """The cached data of ``text``, or None."""
        return self._data.get((text, stem))

    def put(self, text: str, stem: bool, tokens: list[str] | None) -> RougeRef:
        """Build (from ``tokens`` if given), cache and return the data of ``text``."""
        data = self._data
        if len(data) >= self.maxsize:
            for key in list(data)[: len(data) // 2]:
                data.pop(key, None)  # another thread may have dropped it already
        ref = data[(text, stem)] = RougeRef(text, stem, tokens)
        return ref

    def cache_clear(self) -> None:
        """Drop every entry."""
        self._data.clear()


#: Cached :class:`RougeRef` of one reference string (read-only): ``rouge_ref(text, stem)``.
rouge_ref = RefCache(16384)


def _orders(variants: Sequence[str]) -> list[int]:
    """Per variant, the compiled loops' order: n for rougeN, 0 for rougeL."""
    return [0 if v == "rougeL" else int(v[5:]) for v in variants]


def compiled_loops() -> ModuleType | None:
    """The compiled loops :func:`rouge_scores` uses now for ROUGE-N and ROUGE-L, or None."""
    return _JIT.get()


def score_ngrams(hyp: Counter, ref: Counter, hyp_total: int, ref_total: int) -> float:
    """ROUGE-N F-measure from n-gram counts."""
    overlap = clipped_matches(hyp, ref)
    return fmeasure(overlap / max(hyp_total, 1), overlap / max(ref_total, 1))


def score_lcs(lcs: int, hyp_len: int, ref_len: int) -> float:
    """ROUGE-L F-measure from the LCS length; 0 when either side has no tokens."""
    if not hyp_len or not ref_len:
        return 0.0
    return fmeasure(lcs / hyp_len, lcs / ref_len)


def _lcs_indices(ref: list[str], hyp: list[str]) -> list[int]:
    """Indices into ``ref`` of one LCS, chosen with rouge-score's backtracking tie rule.

    The union-LCS of ROUGE-Lsum depends on *which* LCS is found, so the table and the
    backtracking order (prefer moving along ``hyp`` only when strictly better) must match.
    """
    rows, cols = len(ref), len(hyp)
    table = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        above, row, tok = table[i - 1], table[i], ref[i - 1]
        for j in range(1, cols + 1):
            if tok == hyp[j - 1]:
                row[j] = above[j - 1] + 1
            else:
                left, up = row[j - 1], above[j]
                row[j] = left if left > up else up
    picked: list[int] = []
    i, j = rows, cols
    while i > 0 and j > 0:
        if ref[i - 1] == hyp[j - 1]:
            picked.append(i - 1)
            i -= 1
            j -= 1
        elif table[i][j - 1] > table[i - 1][j]:
            j -= 1
        else:
            i -= 1
    picked.reverse()
    return picked


def score_lsum(ref_sents: list[list[str]], hyp_sents: list[list[str]]) -> float:
    """Summary-level ROUGE-Lsum F-measure (union LCS with per-token hit budgets)."""
    if not ref_sents or not hyp_sents:
        return 0.0
    ref_total = sum(map(len, ref_sents))
    hyp_total = sum(map(len, hyp_sents))
    if not ref_total or not hyp_total:
        return 0.0
    ref_budget: Counter = Counter()
    hyp_budget: Counter = Counter()
    for sent in ref_sents:
        ref_budget.update(sent)
    for sent in hyp_sents:
        hyp_budget.update(sent)
    hits = 0
    for ref in ref_sents:
        union: set[int] = set()
        for hyp in hyp_sents:
            union.update(_lcs_indices(ref, hyp))
        for idx in sorted(union):
            tok = ref[idx]
            # A token can only be credited as often as it occurs on both sides overall.
            if hyp_budget[tok] > 0 and ref_budget[tok] > 0:
                hits += 1
                hyp_budget[tok] -= 1
                ref_budget[tok] -= 1
    return fmeasure(hits / hyp_total, hits / ref_total)


def score_variant(
    variant: str, hyp_tokens: list[str], hyp_text: str, ref: RougeRef, stem: bool, cache: dict
) -> float:
    """F-measure of one variant against one reference; ``cache`` shares hyp-side work."""
    if variant == "rougeL":
        return score_lcs(
            lcs_length(ref.masks, len(ref.tokens), hyp_tokens), len(hyp_tokens), len(ref.tokens)
        )
    if variant == "rougeLsum":
        sents = cache.get("sents")
        if sents is None:
            sents = cache["sents"] = [tokenize_rouge(s, stem) for s in hyp_text.split("\n") if s]
        return score_lsum(ref.sentences, sents)
    n = int(variant[5:])
    counts = cache.get(n)
    if counts is None:
        counts = cache[n] = ngram_counter(hyp_tokens, n)
    return score_ngrams(
        counts, ref.ngrams(n), max(0, len(hyp_tokens) - n + 1), max(0, len(ref.tokens) - n + 1)
    )


def rouge_scores(
    hypothesis: str,
    references: Sequence[str],
    variants: Sequence[str] = ("rouge1", "rouge2", "rougeL"),
    stem: bool = True,
    flavor: str = "rouge-score",
) -> dict[str, float]:
    """Several ROUGE F-measures at once, sharing tokenisation of the hypothesis.

    Each variant is maximised over the references independently, like rouge-score's
    ``RougeScorer(variants, use_stemmer=stem).score_multi(references, hypothesis)``.

    Args:
        hypothesis: The system output.
        references: One or more reference strings.
        variants: ROUGE types among rouge1..rouge9, rougeL, rougeLsum.
        stem: Apply the Porter stemmer to tokens longer than 3 characters.
        flavor: ``"rouge-score"`` (above) or ``"rouge155"``: the official ROUGE-1.5.5 perl
            script's tokens, WordNet exceptions and stemmer, and its combination of several
            references (counts summed, ``-f A``); see :mod:`textgym.metrics.rouge155`.

    Returns:
        Mapping variant -> F-measure in [0, 1].

    Raises:
        TypeError: On a non-string hypothesis or malformed references.
        ValueError: On empty references or an unknown variant or flavor.
    """
    if flavor != "rouge-score":
        from .rouge155 import check_flavor, rouge155_scores

        check_flavor(flavor)
        return rouge155_scores(hypothesis, references, variants, stem)
    check_hypothesis(hypothesis)
    refs = check_references(references)
    if isinstance(variants, str):
        variants = (variants,)
    for variant in variants:
        check_variant(variant)
    need_tokens = any(v != "rougeLsum" for v in variants)
    if need_tokens and "rougeLsum" not in variants:
        loops = _JIT.get()
        if loops is not None:
            scores = _text_scores(loops, hypothesis, refs, variants, stem)
            if scores is not None:
                return scores
    ref_data = [rouge_ref.get(ref, stem) for ref in refs]
    new = [i for i, ref in enumerate(ref_data) if ref is None]
    if stem and new and need_tokens:
        # Tokenise the hypothesis and the new references together and stem all their new
        # words in one batch (one call of the compiled stemmer, when numba is in use).
        hyp_tokens, *ref_tokens = tokenize_rouge_many([hypothesis, *(refs[i] for i in new)], True)
        for i, tokens in zip(new, ref_tokens, strict=True):
            ref_data[i] = rouge_ref.put(refs[i], stem, tokens)
    else:
        for i in new:
            ref_data[i] = rouge_ref(refs[i], stem)
        hyp_tokens = tokenize_rouge(hypothesis, stem) if need_tokens else []
    ready = cast("list[RougeRef]", ref_data)  # every entry is filled now
    cache: dict = {}
    return {
        v: max(score_variant(v, hyp_tokens, hypothesis, r, stem, cache) for r in ready)
        for v in variants
    }


def _text_data(texts: Sequence[str], variants: Sequence[str], stem: bool) -> Any:
    """The ``data`` of ``rouge_text_scores`` for ``texts``, or ``None`` if a text holds the
    byte that separates them or there are more variants than a header byte counts."""
    import numpy as np

    joined = _BATCH_SEP.join(texts)
    if joined.count(_BATCH_SEP) != len(texts) - 1 or len(variants) > 255:  # header: one byte
        return None
    # rouge-score's tokens as _tokenize._rouge_words makes them, for all texts in one pass.
    data = joined.encode("ascii") if joined.isascii() else joined.lower().encode("ascii", "replace")
    header = bytes([int(stem), len(variants), *_orders(variants)])
    return np.frombuffer(header + data.translate(_ROUGE_BYTES_JOINED), dtype=np.uint8)


def stem_table(loops: ModuleType) -> tuple[Any, Any]:
    """The compiled route's stem table (made by ``loops`` at the first call); hold
    ``_STEM_TABLE_LOCK``."""
    global _STEM_TABLE
    if _STEM_TABLE is None:
        _STEM_TABLE = loops.new_stem_table()
    return _STEM_TABLE


def _text_scores(
    loops: ModuleType,
    hypothesis: str,
    refs: Sequence[str],
    variants: Sequence[str],
    stem: bool,
) -> dict[str, float] | None:
    """:func:`rouge_scores` of ROUGE-N and ROUGE-L variants by one compiled call that also
    tokenises, stems and numbers (``rouge_text_scores``), or ``None`` where it does not apply
    (a text holds the byte that separates them, or has more than ``TEXT_TOKENS``
    tokens).

    The references' cache (:data:`rouge_ref`) and the stem dict are not used: the call keeps
    its own table of word stems, and on sentence-length text tokenising and numbering every
    text again in compiled code costs less than the Python work of looking cached data up
    (measured on SciTLDR's TLDRs, 25 words, against the route through cached references and
    stems: 2.3x faster on new pairs, 1.2x on pairs seen before).
    """
    data = _text_data([hypothesis, *refs], variants, stem)
    if data is None:
        return None
    with _STEM_TABLE_LOCK:  # the loops release the GIL and write the table
        scores = loops.rouge_text_scores(data, TEXT_TOKENS, *stem_table(loops))
    if not len(scores):
        return None
    return dict(zip(variants, scores.tolist(), strict=True))


def score_text_many(
    loops: ModuleType,
    hypotheses: Sequence[str],
    refs_list: Sequence[Sequence[str]],
    variants: Sequence[str],
    stem: bool,
) -> Any:
    """:func:`rouge_scores` of many pairs by one compiled call (``rouge_text_scores_many``):
    a float64 ``(pairs, variants)`` array, NaN in the rows of pairs with a text over
    ``TEXT_TOKENS`` tokens; ``None`` if a text holds the byte that separates them."""
    import numpy as np

    texts: list[str] = []
    pairs = [0]
    for hyp, refs in zip(hypotheses, refs_list, strict=True):
        texts.append(hyp)
        texts += refs
        pairs.append(len(texts))
    data = _text_data(texts, variants, stem)
    if data is None:
        return None
    with _STEM_TABLE_LOCK:
        return loops.rouge_text_scores_many(
            data, np.array(pairs, dtype=np.int64), TEXT_TOKENS, *stem_table(loops)
        )


def rouge(
    hypothesis: str,
    references: Sequence[str],
    variant: str = "rougeL",
    stem: bool = True,
    flavor: str = "rouge-score",
) -> float:
    """One ROUGE F-measure, equal to rouge-score's ``score_multi(...)[variant].fmeasure``.

    Args:
        hypothesis: The system output.
        references: One or more reference strings; the best F-measure counts.
        variant: rouge1..rouge9, rougeL or rougeLsum (newline-separated sentences).
        stem: Apply the Porter stemmer to tokens longer than 3 characters.
        flavor: ``"rouge-score"`` or ``"rouge155"`` (the official perl script's numbers;
            references combined as its ``-f A``), see :func:`rouge_scores`.

    Returns:
        The F-measure in [0, 1].

    Raises:
        TypeError: On a non-string hypothesis or malformed references.
        ValueError: On empty references or an unknown variant or flavor.
    """
    return rouge_scores(hypothesis, references, (check_variant(variant),), stem, flavor)[variant]
