"""Batched entry points: score many (hypothesis, references) pairs in one call.

Results equal calling the single-pair function on each pair. The batch versions validate once,
share the per-reference caches, and process each distinct reference set once (vector envs
typically score several candidates against the same references).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ._chargrams import chrf_matches_many
from ._tokenize import tokenize_13a_many, tokenize_rouge_many
from ._validate import check_hypotheses, check_references_list
from .bleu import SENTENCE_REFERENCES, bleu_from_stats
from .chrf import best_of_stats, char_totals_of, sentence_chrf
from .f1 import token_f1
from .rouge import (
    check_variant,
    compiled_loops,
    rouge_ref,
    rouge_scores,
    score_text_many,
    score_variant,
)
from .rouge155 import check_flavor
from .ter import sentence_ter

if TYPE_CHECKING:
    import numpy as np


def _empty(n: int) -> np.ndarray:
    # numpy is imported on first batch call only, keeping `import textgym.metrics` light.
    import numpy

    return numpy.empty(n, dtype=numpy.float64)


def _collect(values, n: int) -> np.ndarray:
    import numpy

    return numpy.fromiter(values, dtype=numpy.float64, count=n)


def _prepare(hypotheses: Sequence[str], references_list: Sequence[Sequence[str]]):
    hyps = check_hypotheses(hypotheses)
    return hyps, check_references_list(references_list, len(hyps))


def sentence_bleu_batch(
    hypotheses: Sequence[str], references_list: Sequence[Sequence[str]]
) -> np.ndarray:
    """Sentence BLEU of each hypothesis against its own references.

    Args:
        hypotheses: N hypothesis strings.
        references_list: N sequences of reference strings, one per hypothesis.

    Returns:
        float64 array of N BLEU scores (0-100), equal to :func:`sentence_bleu` per pair.

    Raises:
        TypeError: On non-string hypotheses or malformed references.
        ValueError: If the two lengths differ or a reference set is empty.
    """
    hyps, refs_list = _prepare(hypotheses, references_list)
    out = _empty(len(hyps))
    # Every new reference set's tokens in one pass, their matches in one compiled call.
    all_stats = SENTENCE_REFERENCES.stats_many(tokenize_13a_many(hyps), refs_list)
    for i, stats in enumerate(all_stats):
        out[i] = bleu_from_stats(stats[2:6], stats[6:10], stats[0], stats[1])
    return out


def sentence_chrf_batch(
    hypotheses: Sequence[str], references_list: Sequence[Sequence[str]], word_order: int = 0
) -> np.ndarray:
    """chrF / chrF++ per pair (see :func:`sentence_chrf`); returns a float64 array."""
    hyps, refs_list = _prepare(hypotheses, references_list)
    if isinstance(word_order, int) and word_order == 0 and hyps:
        # chrF with compiled loops: every pair's character matches in one call, each distinct
        # reference's n-grams counted once (chrF++'s word n-grams take the per-pair route).
        known: dict[str, int] = {}
        pair_refs = [[known.setdefault(ref, len(known)) for ref in refs] for refs in refs_list]
        hyp_chars = ["".join(h.split()) for h in hyps]
        ref_chars = ["".join(r.split()) for r in known]
        matches = chrf_matches_many(hyp_chars, ref_chars, pair_refs)
        if matches is not None:
            ref_totals = [char_totals_of(len(chars)) for chars in ref_chars]
            rows = iter(matches.tolist())  # one row per (hypothesis, reference), in order
            best = []
            for chars, refs in zip(hyp_chars, pair_refs, strict=True):
                stats = [(ref_totals[k], next(rows)) for k in refs]
                best.append(best_of_stats(char_totals_of(len(chars)), stats))
            return _collect(best, len(hyps))
    scores = (sentence_chrf(h, r, word_order) for h, r in zip(hyps, refs_list, strict=True))
    return _collect(scores, len(hyps))


def sentence_ter_batch(
    hypotheses: Sequence[str], references_list: Sequence[Sequence[str]]
) -> np.ndarray:
    """TER per pair (see :func:`sentence_ter`); returns a float64 array."""
    hyps, refs_list = _prepare(hypotheses, references_list)
    return _collect((sentence_ter(h, r) for h, r in zip(hyps, refs_list, strict=False)), len(hyps))


def rouge_batch(
    hypotheses: Sequence[str],
    references_list: Sequence[Sequence[str]],
    variant: str = "rougeL",
    stem: bool = True,
    flavor: str = "rouge-score",
) -> np.ndarray:
    """ROUGE F-measure per pair (see :func:`rouge`, also for ``flavor``); returns a float64
    array."""
    check_variant(variant)
    return rouge_scores_batch(hypotheses, references_list, (variant,), stem, flavor)[variant]


def rouge_scores_batch(
    hypotheses: Sequence[str],
    references_list: Sequence[Sequence[str]],
    variants: Sequence[str] = ("rouge1", "rouge2", "rougeL"),
    stem: bool = True,
    flavor: str = "rouge-score",
) -> dict[str, np.ndarray]:
    """Several ROUGE F-measures per pair at once (see :func:`rouge_scores`): variant -> a
    float64 array, equal to :func:`rouge_scores` of each pair.

    Each text is tokenised once for all variants; with the compiled route (numba) every pair
    of short texts is scored for every variant by one compiled call.

    Raises:
        TypeError: On non-string hypotheses or malformed references.
        ValueError: If the two lengths differ, a reference set is empty, or a variant or the
            flavor is unknown.
    """
    if isinstance(variants, str):
        variants = (variants,)
    variants = tuple(dict.fromkeys(check_variant(v) for v in variants))
    hyps, refs_list = _prepare(hypotheses, references_list)
    n = len(hyps)
    out = {v: _empty(n) for v in variants}
    if check_flavor(flavor) != "rouge-score":
        for i, (hyp, refs) in enumerate(zip(hyps, refs_list, strict=True)):
            for v, value in rouge_scores(hyp, refs, variants, stem, flavor).items():
                out[v][i] = value
        return out
    import numpy

    token_variants = tuple(v for v in variants if v != "rougeLsum")
    done = numpy.zeros(n, dtype=numpy.bool_)
    loops = compiled_loops() if token_variants else None
    if loops is not None and n:
        # numba: every pair in one compiled call that tokenises and stems too
        # (textgym.metrics._text_jit.rouge_text_scores_many); NaN rows: a text too long.
        scores = score_text_many(loops, hyps, refs_list, token_variants, stem)
        if scores is not None:
            done = ~numpy.isnan(scores[:, 0])
            for k, v in enumerate(token_variants):
                out[v][done] = scores[done, k]
    # rougeLsum tokenises each hypothesis sentence itself (score_variant).
    rest = numpy.flatnonzero(~done).tolist() if token_variants else []
    token_lists: list[list[str]] = [[] for _ in hyps]
    if rest:
        for i, tokens in zip(rest, tokenize_rouge_many([hyps[i] for i in rest], stem), strict=True):
            token_lists[i] = tokens
    for i, (hyp, refs, tokens) in enumerate(zip(hyps, refs_list, token_lists, strict=True)):
        todo = [v for v in variants if v == "rougeLsum" or not done[i]]
        if not todo:
            continue
        cache: dict = {}
        ref_data = [rouge_ref(ref, stem) for ref in refs]
        for v in todo:
            out[v][i] = max(score_variant(v, tokens, hyp, r, stem, cache) for r in ref_data)
    return out


def token_f1_batch(
    hypotheses: Sequence[str], references_list: Sequence[Sequence[str]]
) -> np.ndarray:
    """SQuAD token F1 per pair (see :func:`token_f1`); returns a float64 array."""
    hyps, refs_list = _prepare(hypotheses, references_list)
    return _collect((token_f1(h, r) for h, r in zip(hyps, refs_list, strict=False)), len(hyps))


_BATCH: dict[str, Callable[..., np.ndarray]] = {
    "bleu": sentence_bleu_batch,
    "chrf": sentence_chrf_batch,
    "chrf++": lambda h, r: sentence_chrf_batch(h, r, word_order=2),
    "ter": sentence_ter_batch,
    "token_f1": token_f1_batch,
    "f1": token_f1_batch,
}


def score_batch(
    metric_name: str,
    hypotheses: Sequence[str],
    references_list: Sequence[Sequence[str]],
    **kwargs,
) -> np.ndarray:
    """Score N pairs with a metric chosen by name.

    Args:
        metric_name: "bleu", "chrf", "chrf++", "ter", "token_f1" (alias "f1") or a ROUGE
            variant ("rouge1".."rouge9", "rougeL", "rougeLsum").
        hypotheses: N hypothesis strings.
        references_list: N sequences of reference strings.
        **kwargs: Metric options (``word_order`` for chrF, ``stem`` and ``flavor`` for
            ROUGE).

    Returns:
        float64 array of N scores on the metric's own scale.

    Raises:
        ValueError: On an unknown metric name (and the per-metric argument errors).
    """
    fn = _BATCH.get(metric_name)
    if fn is not None:
        return fn(hypotheses, references_list, **kwargs)
    if isinstance(metric_name, str) and metric_name.startswith("rouge"):
        return rouge_batch(hypotheses, references_list, variant=metric_name, **kwargs)
    raise ValueError(
        f"unknown metric {metric_name!r}; valid: {sorted(_BATCH)} or a ROUGE variant "
        "(rouge1..rouge9, rougeL, rougeLsum)"
    )


__all__ = [
    "rouge_batch",
    "score_batch",
    "sentence_bleu_batch",
    "sentence_chrf_batch",
    "sentence_ter_batch",
    "token_f1_batch",
]
