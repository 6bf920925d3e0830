"""Paired significance tests between two systems' outputs on the same samples.

:func:`paired_bootstrap` (paired bootstrap resampling, as Koehn 2004 and Moses'
``bootstrap-hypothesis-difference-significance.pl``) and :func:`paired_randomization`
(approximate randomisation, as MultEval) give the results of sacrebleu 2.6.0's ``--paired-bs``
and ``--paired-ar`` for BLEU, chrF (chrF++) and TER with the same seed, number by number:

* per-sample sufficient statistics (sacrebleu's: BLEU lengths and n-gram counts, chrF
  per-order counts of the best reference, TER edits and average reference length), computed
  with textgym's own metric code;
* the resample indices from ``numpy.random.default_rng(seed)`` drawn in sacrebleu's order and
  shapes, resampled statistics summed as float32 (as sacrebleu does, so the resampled scores
  are bit-identical);
* sacrebleu's definitions: the mean and the 95% half-width of the system's resampled scores
  (from the 2.5th and 97.5th percentile ranks, ``n // 40`` from either end of the sorted
  scores), and ``p = (c + 1) / (n + 1)`` where ``c`` counts resamples whose centred absolute
  difference (bootstrap) or whose shuffled absolute difference (randomisation) exceeds the
  observed absolute difference.

ROUGE and token F1 use the same procedures with the mean of per-sample F-measures as the
statistic (rouge-score's aggregate), on a 0-1 scale; ``"mean"`` does so for any per-sample
values (e.g. an env's reward). numpy is imported on use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ._validate import check_hypotheses, check_references_list
from .signatures import ROUGE_VARIANTS

#: Metrics the tests accept: sacrebleu's corpus metrics, per-sample means, and ``"mean"``.
TEST_METRICS: tuple[str, ...] = (
    "bleu", "chrf", "chrf++", "ter", *ROUGE_VARIANTS, "f1", "mean",
)  # fmt: skip
#: sacrebleu's defaults: bootstrap resamples, randomisation trials, and ``SACREBLEU_SEED``.
DEFAULT_BOOTSTRAP = 1000
DEFAULT_RANDOMIZATION = 10000
DEFAULT_SEED = 12345


@dataclass(frozen=True)
class SystemScore:
    """One system's score on the samples and, when resampled, its bootstrap estimate.

    Attributes:
        score: The metric on all samples (corpus BLEU/chrF/TER; the mean for ROUGE, F1).
        mean: Mean of the bootstrap resamples' scores (sacrebleu's ``μ``), or None.
        ci: Half-width of their 95% interval (sacrebleu's ``± CI``), or None.
    """

    score: float
    mean: float | None = None
    ci: float | None = None


@dataclass(frozen=True)
class PairedResult:
    """The outcome of a paired test of ``system`` against ``baseline``.

    Attributes:
        metric: The metric name.
        test: ``"bootstrap"`` or ``"randomization"``.
        baseline: The baseline's score (and bootstrap estimate).
        system: The system's score (and bootstrap estimate).
        difference: ``system.score - baseline.score``.
        difference_ci: 95% interval ``(low, high)`` of the paired resampled differences
            (same percentile ranks as ``ci``), or None without bootstrap resamples.
        p_value: sacrebleu's p-value of the null hypothesis "no difference".
        resamples: Bootstrap resamples, or randomisation trials.
        confidence_resamples: Randomisation only: bootstrap resamples behind the intervals.
        seed: The RNG seed (None: fresh OS entropy).
        samples: Number of samples.
        signature: The metric's signature with the test's ``bs``/``ar``/``seed`` fields.
    """

    metric: str
    test: str
    baseline: SystemScore
    system: SystemScore
    difference: float
    difference_ci: tuple[float, float] | None
    p_value: float
    resamples: int
    confidence_resamples: int | None
    seed: int | None
    samples: int
    signature: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable fields."""
        out = asdict(self)
        if self.difference_ci is not None:
            out["difference_ci"] = list(self.difference_ci)
        return out


# -- per-sample sufficient statistics ---------------------------------------------------------


def _bleu_rows(hyps: list[str], refs: list[tuple[str, ...]]) -> list[list[int]]:
    from ._tokenize import tokenize_13a
    from .bleu import bleu_ref_stats, segment_stats

    return [
        segment_stats(tokenize_13a(h), bleu_ref_stats(r)) for h, r in zip(hyps, refs, strict=True)
    ]


def _chrf_row(hypothesis: str, references: tuple[str, ...], word_order: int) -> list[int]:
    """``[hyp, ref, match]`` per order against the best-scoring reference (first on ties)."""
    from .bleu import clipped_matches
    from .chrf import (
        CHAR_ORDER,
        char_ngram_counts,
        chrf_from_stats,
        chrf_ref,
        chrf_words,
        word_ngram_counts,
    )

    chars = "".join(hypothesis.split())
    hyp_counts = char_ngram_counts(chars)
    hyp_totals = [max(0, len(chars) - n) for n in range(CHAR_ORDER)]
    if word_order:
        words = chrf_words(hypothesis)
        hyp_counts += word_ngram_counts(words, word_order)
        hyp_totals += [max(0, len(words) - n) for n in range(word_order)]
    best: list[int] = []
    best_score = -1.0
    for ref in (chrf_ref(r, word_order) for r in references):
        # An order the reference has no n-grams of counts no hypothesis n-grams either.
        n_hyp = [h if r else 0 for h, r in zip(hyp_totals, ref.totals, strict=True)]
        n_match = [clipped_matches(h, r) for h, r in zip(hyp_counts, ref.counts, strict=True)]
        score = chrf_from_stats(n_hyp, ref.totals, n_match)
        if score > best_score:
            best_score = score
            best = [x for triple in zip(n_hyp, ref.totals, n_match, strict=True) for x in triple]
    return best


def _ter_rows(hyps: list[str], refs: list[tuple[str, ...]]) -> list[list[float]]:
    from .ter import edit_count, ter_words

    rows: list[list[float]] = []
    for hyp, references in zip(hyps, refs, strict=True):
        words = ter_words(hyp)
        ref_words = [ter_words(r) for r in references]
        edits = min(edit_count(words, r) for r in ref_words)
        rows.append([edits, sum(len(r) for r in ref_words) / len(ref_words)])
    return rows


def _mean_rows(metric: str, hyps: list[str], refs: list[tuple[str, ...]]) -> list[list[float]]:
    if metric == "f1":
        from .f1 import token_f1

        return [[float(token_f1(h, r))] for h, r in zip(hyps, refs, strict=True)]
    from .rouge import rouge

    return [[float(rouge(h, r, metric))] for h, r in zip(hyps, refs, strict=True)]


def segment_statistics(
    metric: str, hypotheses: Sequence[str], references_list: Sequence[Sequence[str]]
) -> list[list[float]]:
    """Per-sample sufficient statistics, as sacrebleu's ``_extract_corpus_statistics``.

    Args:
        metric: ``bleu``, ``chrf``, ``chrf++``, ``ter``, a ROUGE variant or ``f1``.
        hypotheses: One output per sample.
        references_list: One sequence of references per sample.

    Returns:
        One row per sample. BLEU: ``[hyp_len, ref_len, correct1..4, total1..4]``; chrF:
        ``[hyp, ref, match]`` per character order then word order; TER: ``[edits,
        average reference length]``; ROUGE and F1: ``[F-measure]``.

    Raises:
        ValueError: For an unknown metric or mismatched lengths.
        TypeError: For non-string hypotheses or references.
    """
    metric = _check_metric(metric, allow_mean=False)
    hyps = check_hypotheses(hypotheses)
    refs = check_references_list(references_list, len(hyps))
    if metric == "bleu":
        return _bleu_rows(hyps, refs)  # type: ignore[return-value]
    if metric in ("chrf", "chrf++"):
        order = 2 if metric == "chrf++" else 0
        return [_chrf_row(h, r, order) for h, r in zip(hyps, refs, strict=True)]  # type: ignore[misc]
    if metric == "ter":
        return _ter_rows(hyps, refs)
    return _mean_rows(metric, hyps, refs)


# -- scores from summed statistics -------------------------------------------------------------


def _bleu_score(row: Any) -> float:
    from .bleu import bleu_from_stats

    # sacrebleu casts the lengths to int and keeps the counts' own type (float32 when
    # resampled): the same expressions on the same types give the same bits.
    return bleu_from_stats(row[2:6], row[6:10], int(row[0]), int(row[1]), effective_order=False)


def _chrf_score(row: Any) -> float:
    from .chrf import chrf_from_stats

    return chrf_from_stats(row[0::3], row[1::3], row[2::3])


def _ter_score(row: Any) -> float:
    edits, ref_length = row[0], row[1]
    if ref_length > 0:
        score = edits / ref_length
    elif edits > 0:
        score = 1.0  # empty references, non-empty hypothesis (Tercom's convention)
    else:
        score = 0.0
    return 100 * score


def _scorer(metric: str, samples: int) -> Callable[[Any], float]:
    if metric == "bleu":
        return _bleu_score
    if metric in ("chrf", "chrf++"):
        return _chrf_score
    if metric == "ter":
        return _ter_score
    return lambda row: row[0] / samples


def _sum_rows(rows: list[list[float]]) -> list[float]:
    """Column sums in row order with Python numbers (sacrebleu's ``sum_of_lists``)."""
    totals: list[float] = [0] * len(rows[0])
    for row in rows:
        for k, value in enumerate(row):
            totals[k] += value
    return totals


def _estimate(scores: Any) -> tuple[float, float, float, float]:
    """Mean, half-width, low and high of the 95% interval of resampled scores (sacrebleu's
    ``estimate_ci``: the mean is taken over the sorted scores, which fixes its rounding)."""
    import numpy as np

    ordered = np.sort(scores)
    lower = len(ordered) // 40
    low, high = ordered[lower], ordered[len(ordered) - lower - 1]
    return float(ordered.mean()), float(0.5 * (high - low)), float(low), float(high)


def _interval(differences: Any) -> tuple[float, float]:
    _, _, low, high = _estimate(differences)
    return low, high


def _p_value(statistics: Any, observed: float) -> float:
    import numpy as np

    # Strictly greater: a system compared with itself must not reach significance by chance;
    # the +1 keeps the false-rejection rate at most the level (MultEval's convention).
    count = int(np.sum(statistics > observed))
    return (count + 1) / (len(statistics) + 1)


def _resampled(stats: Any, indices: Any, score: Callable[[Any], float]) -> Any:
    import numpy as np

    # One resample at a time: the same sums as indexing all at once, without an
    # (n_resamples, n_samples, n_stats) array in memory.
    return np.array([score(stats[row].sum(0)) for row in indices])


# -- the tests ---------------------------------------------------------------------------------


def _check_metric(metric: Any, *, allow_mean: bool = True) -> str:
    names = TEST_METRICS if allow_mean else TEST_METRICS[:-1]
    if metric not in names:
        raise ValueError(f"metric: expected one of {', '.join(names)}, got {metric!r}")
    return metric


def _check_positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return value


def _check_seed(seed: Any) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed: expected an integer >= 0 or None, got {seed!r}")
    return seed


def _prepare(
    metric: str,
    baseline: Sequence[Any],
    system: Sequence[Any],
    references_list: Sequence[Sequence[str]] | None,
) -> tuple[list[list[float]], list[list[float]], int | str]:
    """Both systems' statistics, and ``nrefs`` for the signature."""
    from .signatures import count_refs

    if metric == "mean":
        if references_list is not None:
            raise ValueError("references_list: 'mean' takes per-sample values, not references")
        rows = []
        for name, values in (("baseline", baseline), ("system", system)):
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise TypeError(f"{name}: expected a sequence of numbers for 'mean'")
            for i, value in enumerate(values):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise TypeError(f"{name}[{i}]: expected a number, got {value!r}")
                if not math.isfinite(value):
                    raise ValueError(f"{name}[{i}]: expected a finite number, got {value!r}")
            rows.append([[float(v)] for v in values])
        bl_rows, sys_rows = rows
        nrefs: int | str = 1
    else:
        if references_list is None:
            raise ValueError(
                f"references_list: {metric!r} needs one sequence of references per sample"
            )
        bl_hyps = check_hypotheses(baseline, "baseline")
        sys_hyps = check_hypotheses(system, "system")
        refs = check_references_list(references_list, len(bl_hyps))
        if len(sys_hyps) != len(bl_hyps):
            raise ValueError(
                f"system: has {len(sys_hyps)} outputs but baseline has {len(bl_hyps)}; a paired "
                "test needs both systems' outputs on the same samples"
            )
        bl_rows = segment_statistics(metric, bl_hyps, refs)
        sys_rows = segment_statistics(metric, sys_hyps, refs)
        nrefs = count_refs(refs)
    if len(bl_rows) != len(sys_rows):
        raise ValueError(
            f"system: has {len(sys_rows)} values but baseline has {len(bl_rows)}; a paired "
            "test needs both systems on the same samples"
        )
    if not bl_rows:
        raise ValueError("baseline: a paired test needs at least one sample, got none")
    return bl_rows, sys_rows, nrefs


def _signature(metric: str, nrefs: int | str, **fields: Any) -> str:
    from .signatures import signature

    # sacrebleu prints an unseeded test as seed:none.
    fields["seed"] = "none" if fields["seed"] is None else fields["seed"]
    if metric == "mean":
        return signature("score", nrefs=nrefs, **fields)
    return signature(metric, nrefs=nrefs, **fields)


def _stat_array(metric: str, rows: list[list[float]]) -> Any:
    import numpy as np

    # sacrebleu resamples its statistics as float32; the per-sample means keep float64.
    return np.array(rows, dtype=np.float64 if _is_mean(metric) else np.float32)


def _is_mean(metric: str) -> bool:
    return metric not in ("bleu", "chrf", "chrf++", "ter")


def paired_bootstrap(
    metric: str,
    baseline: Sequence[Any],
    system: Sequence[Any],
    references_list: Sequence[Sequence[str]] | None = None,
    *,
    resamples: int = DEFAULT_BOOTSTRAP,
    seed: int | None = DEFAULT_SEED,
) -> PairedResult:
    """Paired bootstrap resampling of ``system`` against ``baseline`` (sacrebleu ``--paired-bs``).

    Both systems are scored on the same ``resamples`` resamples (with replacement) of the
    samples. The p-value is sacrebleu's: the share (with +1 smoothing) of resamples whose
    absolute difference, centred on the mean absolute difference, exceeds the observed one.
    ``baseline.mean``/``ci`` equal sacrebleu's baseline row when ``seed`` is its
    ``SACREBLEU_SEED`` (it draws the baseline's resamples from that), as by default.

    Args:
        metric: ``bleu``, ``chrf``, ``chrf++``, ``ter`` (sacrebleu's corpus scores, 0-100),
            a ROUGE variant or ``f1`` (mean per-sample F, 0-1), or ``mean`` (the mean of
            per-sample numbers given as ``baseline``/``system``, no references).
        baseline: The baseline's output per sample (numbers for ``mean``).
        system: The compared system's output per sample, same samples and order.
        references_list: One sequence of references per sample (None for ``mean``).
        resamples: Bootstrap resamples (sacrebleu's default 1000).
        seed: Seed of ``numpy.random.default_rng`` (sacrebleu's default 12345); None for OS
            entropy. sacrebleu itself reads 0 as "no seed"; here 0 is a seed.

    Returns:
        A :class:`PairedResult` with both systems' bootstrap mean and 95% half-width, the
        difference with its 95% paired interval, and the p-value.

    Raises:
        ValueError: Unknown metric, no samples, systems of different lengths, a bad
            ``resamples`` or ``seed`` (the message names the argument).
        TypeError: Hypotheses or references that are not strings (numbers for ``mean``).
    """
    import numpy as np

    metric = _check_metric(metric)
    resamples = _check_positive("resamples", resamples)
    seed = _check_seed(seed)
    bl_rows, sys_rows, nrefs = _prepare(metric, baseline, system, references_list)
    n = len(bl_rows)
    score = _scorer(metric, n)
    bl_score, sys_score = score(_sum_rows(bl_rows)), score(_sum_rows(sys_rows))
    indices = np.random.default_rng(seed).choice(n, size=(resamples, n), replace=True)
    bl_scores = _resampled(_stat_array(metric, bl_rows), indices, score)
    sys_scores = _resampled(_stat_array(metric, sys_rows), indices, score)
    bl_mean, bl_ci, _, _ = _estimate(bl_scores)
    sys_mean, sys_ci, _, _ = _estimate(sys_scores)
    differences = np.abs(sys_scores - bl_scores)
    p_value = _p_value(differences - differences.mean(), abs(bl_score - sys_score))
    return PairedResult(
        metric=metric,
        test="bootstrap",
        baseline=SystemScore(float(bl_score), bl_mean, bl_ci),
        system=SystemScore(float(sys_score), sys_mean, sys_ci),
        difference=float(sys_score - bl_score),
        difference_ci=_interval(sys_scores - bl_scores),
        p_value=p_value,
        resamples=resamples,
        confidence_resamples=None,
        seed=seed,
        samples=n,
        signature=_signature(metric, nrefs, seed=seed, n_bootstrap=resamples),
    )


def paired_randomization(
    metric: str,
    baseline: Sequence[Any],
    system: Sequence[Any],
    references_list: Sequence[Sequence[str]] | None = None,
    *,
    trials: int = DEFAULT_RANDOMIZATION,
    confidence_resamples: int | None = None,
    seed: int | None = DEFAULT_SEED,
) -> PairedResult:
    """Paired approximate randomisation of ``system`` against ``baseline`` (sacrebleu
    ``--paired-ar``).

    Each trial swaps the two systems' outputs on a random half of the samples (a fair coin
    per sample); the p-value is the share (with +1 smoothing) of trials whose absolute
    difference exceeds the observed one. With ``confidence_resamples`` both systems also get
    a bootstrap mean and 95% half-width as sacrebleu's ``PairedTest(n_ar_confidence=...)``:
    the system's resamples are drawn after the trials from the same generator, the
    baseline's from a fresh generator with ``seed``; the difference's interval uses the
    system's resamples for both.

    Args:
        metric: As for :func:`paired_bootstrap`.
        baseline: The baseline's output per sample (numbers for ``mean``).
        system: The compared system's output per sample, same samples and order.
        references_list: One sequence of references per sample (None for ``mean``).
        trials: Randomisation trials (sacrebleu's default 10000).
        confidence_resamples: Bootstrap resamples for the intervals; None (sacrebleu's
            command-line default) computes none.
        seed: Seed of ``numpy.random.default_rng`` (default 12345); None for OS entropy.

    Returns:
        A :class:`PairedResult`; ``mean``, ``ci`` and ``difference_ci`` are None without
        ``confidence_resamples``.

    Raises:
        ValueError: As for :func:`paired_bootstrap`, or a bad ``trials`` or
            ``confidence_resamples``.
        TypeError: Hypotheses or references that are not strings (numbers for ``mean``).
    """
    import numpy as np

    metric = _check_metric(metric)
    trials = _check_positive("trials", trials)
    if confidence_resamples is not None:
        confidence_resamples = _check_positive("confidence_resamples", confidence_resamples)
    seed = _check_seed(seed)
    bl_rows, sys_rows, nrefs = _prepare(metric, baseline, system, references_list)
    n = len(bl_rows)
    score = _scorer(metric, n)
    bl_score, sys_score = score(_sum_rows(bl_rows)), score(_sum_rows(sys_rows))
    rng = np.random.default_rng(seed)
    take_baseline = rng.integers(2, size=(trials, n), dtype=bool)
    take_system = ~take_baseline
    bs_indices = None
    if confidence_resamples is not None:
        bs_indices = rng.choice(n, size=(confidence_resamples, n), replace=True)
    # Statistics as numpy infers them from the rows (int64 counts, float64 for TER), the
    # dtype sacrebleu's matrix products see; the pseudo-systems' sums are then identical.
    bl_stats, sys_stats = np.array(bl_rows), np.array(sys_rows)
    shuffled_a = take_baseline @ bl_stats + take_system @ sys_stats
    shuffled_b = take_system @ bl_stats + take_baseline @ sys_stats
    scores_a = np.array([score(row) for row in shuffled_a])
    scores_b = np.array([score(row) for row in shuffled_b])
    p_value = _p_value(np.abs(scores_a - scores_b), abs(bl_score - sys_score))
    baseline_result = SystemScore(float(bl_score))
    system_result = SystemScore(float(sys_score))
    difference_ci = None
    if confidence_resamples is not None and bs_indices is not None:  # set together above
        sys_array, bl_array = _stat_array(metric, sys_rows), _stat_array(metric, bl_rows)
        sys_scores = _resampled(sys_array, bs_indices, score)
        mean, ci, _, _ = _estimate(sys_scores)
        system_result = SystemScore(float(sys_score), mean, ci)
        fresh = np.random.default_rng(seed).choice(n, size=(confidence_resamples, n))
        mean, ci, _, _ = _estimate(_resampled(bl_array, fresh, score))
        baseline_result = SystemScore(float(bl_score), mean, ci)
        difference_ci = _interval(sys_scores - _resampled(bl_array, bs_indices, score))
    return PairedResult(
        metric=metric,
        test="randomization",
        baseline=baseline_result,
        system=system_result,
        difference=float(sys_score - bl_score),
        difference_ci=difference_ci,
        p_value=p_value,
        resamples=trials,
        confidence_resamples=confidence_resamples,
        seed=seed,
        samples=n,
        signature=_signature(
            metric, nrefs, seed=seed, n_randomization=trials, n_bootstrap=confidence_resamples
        ),
    )
