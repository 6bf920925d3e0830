"""Aggregate benchmark scores over seeds and envs: IQM, bootstrap intervals, tables and plots.

The statistics follow Agarwal et al. (2021), "Deep Reinforcement Learning at the Edge of the
Statistical Precipice" (the ``rliable`` library), re-implemented on ``scipy.stats`` so that
the bench needs no extra package:

- the point estimate we put first is the interquartile mean (IQM), robust to one lucky or
  unlucky seed yet less noisy than the median;
- every estimate comes with a 95% percentile-bootstrap confidence interval, because with a few
  seeds a bare mean hides how much it would move with other seeds (see the seed-variance note
  in DESIGN.md);
- scores are normalised per env, ``0`` = random policy and ``1`` = reference policy, so that
  envs with different metrics and ceilings can be pooled;
- the aggregate over envs uses a *stratified* bootstrap: seeds are resampled within each env,
  so every resample still holds every env with its own number of runs.

Typical use by the suite runner::

    summaries = summarize(results, baselines)          # one Summary per (env, algo)
    overall = aggregate_over_envs(summaries)           # one Summary per algo, env_id "all"
    text = markdown_table(summaries + overall)
    plot_comparison(summaries + overall, "bench/comparison.png")

Importing this module is cheap: scipy and matplotlib are imported inside the functions that
need them.
"""

from __future__ import annotations

import inspect
import io
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from textgym._io import atomic_write_bytes

#: ``env_id`` of the summaries made by :func:`aggregate_over_envs`.
ALL_ENVS = "all"

#: Fraction cut from each end of the sorted scores by the interquartile mean.
_IQM_CUT = 0.25

#: Upper bound on the floats held at once by the stratified bootstrap (about 16 MB).
_STRATIFIED_BATCH_FLOATS = 2_000_000


@dataclass(frozen=True)
class Interval:
    """A closed confidence interval ``[low, high]``.

    Attributes:
        low: Lower end.
        high: Upper end (``>= low``).
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.low <= self.high:  # also rejects NaN ends
            raise ValueError(f"Interval needs low <= high, got [{self.low}, {self.high}]")


@dataclass(frozen=True)
class Summary:
    """Scores of one algorithm on one env over seeds (or over all envs, ``env_id == "all"``).

    The interval ``ci`` is the 95% percentile-bootstrap confidence interval of the **IQM** (the
    statistic plotted by :func:`plot_comparison`, so a point and its interval always go
    together). With fewer than four seeds the IQM is the mean, so for the usual 3 seeds it is
    the interval of the mean.

    Attributes:
        env_id: Registered env id, or ``"all"`` for an aggregate over envs.
        algo: Algorithm name.
        n: Number of runs (seeds; for ``"all"``, (env, seed) pairs).
        mean: Mean raw score.
        iqm: Interquartile mean of the raw scores.
        ci: 95% bootstrap confidence interval of the raw IQM.
        normalized_mean: Mean normalised score (0 = random policy, 1 = reference policy).
        normalized_iqm: IQM of the normalised scores.
        normalized_ci: 95% bootstrap confidence interval of the normalised IQM.
        raw: Per-run raw scores in seed order (for ``"all"``: the pooled normalised scores,
            env by env in the order of ``env_id``, seeds in order within an env).
        normalized_raw: The per-run normalised scores, in the order of ``raw``; kept so that
            :func:`aggregate_over_envs` can pool runs without the baselines.
    """

    env_id: str
    algo: str
    n: int
    mean: float
    iqm: float
    ci: Interval
    normalized_mean: float
    normalized_iqm: float
    normalized_ci: Interval
    raw: tuple[float, ...]
    normalized_raw: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (intervals as ``[low, high]`` lists)."""
        return {
            "env_id": self.env_id,
            "algo": self.algo,
            "n": self.n,
            "mean": self.mean,
            "iqm": self.iqm,
            "ci": [self.ci.low, self.ci.high],
            "normalized_mean": self.normalized_mean,
            "normalized_iqm": self.normalized_iqm,
            "normalized_ci": [self.normalized_ci.low, self.normalized_ci.high],
            "raw": list(self.raw),
            "normalized_raw": list(self.normalized_raw),
        }


def _as_scores(scores: Sequence[float] | np.ndarray, what: str = "scores") -> np.ndarray:
    """1-D float array of finite scores; a clear error instead of a NaN summary later."""
    array = np.asarray(scores, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{what} is empty: at least one score is needed")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} must be finite, got {array.tolist()}")
    return array


def _trimmed_mean(array: np.ndarray, axis: int = -1) -> np.ndarray:
    """Vectorised IQM along ``axis`` (what scipy's bootstrap calls with a batch of resamples)."""
    from scipy.stats import trim_mean

    return trim_mean(array, _IQM_CUT, axis=axis)


def interquartile_mean(scores: Sequence[float]) -> float:
    """Interquartile mean: the mean of the middle 50% of the scores (Agarwal et al., 2021).

    Computed as ``scipy.stats.trim_mean(scores, 0.25)``, exactly as ``rliable`` does: after
    sorting, ``floor(n / 4)`` scores are cut from each end and the rest averaged. So for
    ``n < 4`` nothing is cut and the IQM is the plain **mean**; for ``n == 4`` or ``5`` it is
    the mean without the lowest and highest score.

    Args:
        scores: One or more finite scores.

    Returns:
        The interquartile mean.

    Raises:
        ValueError: If ``scores`` is empty or holds a NaN or infinity.
    """
    return float(_trimmed_mean(_as_scores(scores)))


@lru_cache(maxsize=1)
def _scipy_rng_keyword() -> str:
    """scipy >= 1.15 takes ``rng``; older versions only ``random_state`` (same Generator use)."""
    from scipy.stats import bootstrap

    return "rng" if "rng" in inspect.signature(bootstrap).parameters else "random_state"


def bootstrap_ci(
    scores: Sequence[float] | np.ndarray,
    statistic: Callable[..., Any] = np.mean,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> Interval:
    """Percentile-bootstrap confidence interval of ``statistic`` over ``scores``.

    Uses ``scipy.stats.bootstrap(method="percentile")`` with a ``numpy`` Generator seeded by
    ``seed``, so the same inputs give the same interval. The percentile method (rather than
    scipy's default BCa) is the one ``rliable`` reports, and it never leaves the range of the
    bootstrap distribution, so for the mean or IQM both ends lie within ``[min, max]`` of the
    data (up to floating-point rounding of the mean).

    When every resample is the sample itself (one score, or all scores equal) the bootstrap
    distribution is a single point and the interval is returned directly as
    ``Interval(s, s)`` with ``s = statistic(scores)``: no resampling, no warning, no NaN.

    Args:
        scores: One or more finite scores (one per seed).
        statistic: Function of a 1-D array returning a number; ``np.mean`` (default) and
            :func:`interquartile_mean` are evaluated vectorised over all resamples, any other
            function is vectorised by scipy when it takes an ``axis`` keyword.
        confidence: Confidence level in ``(0, 1)``.
        n_resamples: Number of bootstrap resamples.
        seed: Seed of the resampling.

    Returns:
        The interval.

    Raises:
        ValueError: On empty or non-finite scores, or a confidence outside ``(0, 1)``.
    """
    array = _as_scores(scores)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be positive, got {n_resamples}")
    if statistic is interquartile_mean:
        statistic = _trimmed_mean  # same numbers, one call for all resamples
    if np.all(array == array[0]):
        value = float(np.asarray(statistic(array)))
        return Interval(value, value)

    from scipy.stats import bootstrap

    result = bootstrap(
        (array,),
        statistic,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        **{_scipy_rng_keyword(): np.random.default_rng(seed)},
    )
    low, high = result.confidence_interval
    return Interval(float(low), float(high))


def normalize(score: float, random: float, reference: float, *, env_id: str | None = None) -> float:
    """Normalised score: ``0`` at the random policy's score, ``1`` at the reference policy's.

    ``(score - random) / (reference - random)``; values below 0 or above 1 are kept (worse than
    random, better than the reference).

    Args:
        score: Raw score.
        random: Score of the random policy on this env.
        reference: Score of the reference policy on this env.
        env_id: Env the baselines belong to, named in the error message.

    Returns:
        The normalised score.

    Raises:
        ValueError: If ``reference <= random`` (no scale to normalise by).
    """
    if not reference > random:
        where = f" for env {env_id!r}" if env_id is not None else ""
        raise ValueError(
            f"baseline{where} needs reference > random to normalise, got "
            f"random={random!r}, reference={reference!r}"
        )
    return (score - random) / (reference - random)


def _summary(
    env_id: str,
    algo: str,
    raw: np.ndarray,
    normalized: np.ndarray,
    ci: Interval,
    normalized_ci: Interval,
) -> Summary:
    return Summary(
        env_id=env_id,
        algo=algo,
        n=int(raw.size),
        mean=float(np.mean(raw)),
        iqm=float(_trimmed_mean(raw)),
        ci=ci,
        normalized_mean=float(np.mean(normalized)),
        normalized_iqm=float(_trimmed_mean(normalized)),
        normalized_ci=normalized_ci,
        raw=tuple(float(x) for x in raw),
        normalized_raw=tuple(float(x) for x in normalized),
    )


def summarize(
    results: Iterable[Mapping[str, Any]],
    baselines: Mapping[str, tuple[float, float]],
    *,
    metric: str = "score",
    seed: int = 0,
) -> list[Summary]:
    """One :class:`Summary` per (env, algo) from per-run results.

    Every group is bootstrapped with the same ``seed``, so a group's interval does not depend
    on which other groups are in ``results`` or on their order. The normalised interval is the
    raw one mapped through :func:`normalize`: normalising is increasing and affine, and IQM and
    percentiles commute with such a map, so it equals the interval of the normalised scores
    from the same resamples at half the cost.

    Args:
        results: One mapping per run with keys ``"env_id"``, ``"algo"``, ``"seed"`` and
            ``metric``, e.g. ``{"env_id": "TextTrans-Easy-v0", "algo": "maskable-ppo",
            "seed": 0, "score": 0.25}``.
        baselines: ``env_id -> (random_score, reference_score)`` for every env in ``results``.
        metric: Key of the score to summarise.
        seed: Seed of the bootstrap.

    Returns:
        Summaries sorted by env id, then algorithm name; ``raw`` in seed order.

    Raises:
        ValueError: On a result without a needed key or with a non-finite score, a duplicate
            (env, algo, seed), an env without a baseline, or a baseline with
            ``reference <= random``.
    """
    groups: dict[tuple[str, str], dict[Any, float]] = {}
    for index, result in enumerate(results):
        missing = [key for key in ("env_id", "algo", "seed", metric) if key not in result]
        if missing:
            raise ValueError(f"result #{index} lacks the key(s) {missing}: {dict(result)!r}")
        env_id, algo, run_seed = str(result["env_id"]), str(result["algo"]), result["seed"]
        try:
            value = float(result[metric])
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            raise ValueError(
                f"result for env {env_id!r}, algo {algo!r}, seed {run_seed!r} has a "
                f"non-finite {metric!r}: {result[metric]!r}"
            )
        runs = groups.setdefault((env_id, algo), {})
        if run_seed in runs:
            raise ValueError(
                f"duplicate result for env {env_id!r}, algo {algo!r}, seed {run_seed!r}"
            )
        runs[run_seed] = value

    envs = sorted({env_id for env_id, _ in groups})
    missing_envs = [env_id for env_id in envs if env_id not in baselines]
    if missing_envs:
        raise ValueError(
            f"no baseline (random_score, reference_score) for env(s) {missing_envs}; "
            "roll out the random and reference policies on them first"
        )
    for env_id in envs:
        random, reference = baselines[env_id]
        normalize(0.0, random, reference, env_id=env_id)  # validates before any bootstrap

    summaries = []
    for env_id, algo in sorted(groups):
        runs = groups[env_id, algo]
        try:
            seed_order = sorted(runs)
        except TypeError as exc:  # e.g. 0 and "0": two runs that look alike to a reader
            raise ValueError(
                f"seeds of env {env_id!r}, algo {algo!r} are not comparable: {list(runs)!r}"
            ) from exc
        raw = np.array([runs[run_seed] for run_seed in seed_order], dtype=float)
        random, reference = (float(x) for x in baselines[env_id])
        scale = reference - random
        ci = bootstrap_ci(raw, interquartile_mean, seed=seed)
        normalized_ci = Interval((ci.low - random) / scale, (ci.high - random) / scale)
        summaries.append(_summary(env_id, algo, raw, (raw - random) / scale, ci, normalized_ci))
    return summaries


def _stratified_bootstrap_iqm(
    strata: Sequence[np.ndarray], *, confidence: float, n_resamples: int, seed: int
) -> Interval:
    """Percentile interval of the pooled IQM, resampling runs within each stratum (env).

    Written with numpy rather than ``scipy.stats.bootstrap(paired=False)`` because scipy
    refuses samples of one observation, and an env run with one seed is a valid stratum: it
    simply contributes the same score to every resample.
    """
    rng = np.random.default_rng(seed)
    pooled_size = sum(stratum.size for stratum in strata)
    batch = max(1, _STRATIFIED_BATCH_FLOATS // pooled_size)
    statistics = []
    for start in range(0, n_resamples, batch):
        rows = min(batch, n_resamples - start)
        resample = np.concatenate(
            [
                stratum[rng.integers(0, stratum.size, size=(rows, stratum.size))]
                for stratum in strata
            ],
            axis=1,
        )
        statistics.append(_trimmed_mean(resample, axis=1))
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(np.concatenate(statistics), [tail, 100.0 - tail])
    return Interval(float(low), float(max(low, high)))  # max(): guard against rounding only


def aggregate_over_envs(
    summaries: Sequence[Summary],
    *,
    seed: int = 0,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
) -> list[Summary]:
    """One summary per algorithm over all envs, from the normalised scores (as ``rliable``).

    The normalised scores of all (env, seed) runs of an algorithm are pooled; the point
    estimates are their mean and IQM, and the interval is a stratified percentile bootstrap of
    the IQM: each resample redraws the seeds *within* each env (same number of runs per env),
    so no resample over-represents an env, and an env whose runs all agree adds no spread.

    Args:
        summaries: Per-env summaries from :func:`summarize` (aggregates are rejected).
        seed: Seed of the bootstrap.
        confidence: Confidence level in ``(0, 1)``.
        n_resamples: Number of bootstrap resamples.

    Returns:
        Summaries with ``env_id == "all"``, sorted by algorithm; raw and normalised fields are
        equal, since the pooled scores already are normalised; ``raw`` holds the pooled scores,
        env by env (sorted by env id), seeds in order.

    Raises:
        ValueError: On an input aggregate, a duplicate (env, algo) summary, or a confidence
            outside ``(0, 1)``.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    by_algo: dict[str, dict[str, Summary]] = {}
    for summary in summaries:
        if summary.env_id == ALL_ENVS:
            raise ValueError(f"summary of algo {summary.algo!r} is already an aggregate over envs")
        per_env = by_algo.setdefault(summary.algo, {})
        if summary.env_id in per_env:
            raise ValueError(f"duplicate summary for env {summary.env_id!r}, algo {summary.algo!r}")
        per_env[summary.env_id] = summary

    aggregates = []
    for algo in sorted(by_algo):
        per_env = by_algo[algo]
        strata = [_as_scores(per_env[env_id].normalized_raw, env_id) for env_id in sorted(per_env)]
        pooled = np.concatenate(strata)
        ci = _stratified_bootstrap_iqm(
            strata, confidence=confidence, n_resamples=n_resamples, seed=seed
        )
        aggregates.append(_summary(ALL_ENVS, algo, pooled, pooled, ci, ci))
    return aggregates


_TABLE_HEADER = (
    "env",
    "algo",
    "seeds",
    "mean",
    "IQM",
    "95% CI",
    "normalized mean",
    "normalized IQM",
    "normalized 95% CI",
)


def _number(value: float, digits: int) -> str:
    # "+ 0.0" turns a rounded -0.0 into 0.0, so that tiny negatives do not print as "-0.000".
    return f"{round(value, digits) + 0.0:.{digits}f}"


def _cell(text: str) -> str:
    # A "|" inside an env or algo name would split the cell in GitHub markdown.
    return text.replace("|", "\\|")


def markdown_table(summaries: Sequence[Summary], *, digits: int = 3) -> str:
    """A GitHub-flavoured markdown table with one row per summary, in the given order.

    Columns: env | algo | seeds | mean | IQM | 95% CI | normalized mean | normalized IQM |
    normalized 95% CI. Intervals (of the IQM) print as ``[low, high]``; numbers are rounded to
    ``digits`` decimals and right-aligned; columns are padded so that the raw text lines up.
    The same summaries always give the same text.

    Args:
        summaries: Rows, e.g. ``summarize(...) + aggregate_over_envs(...)``.
        digits: Decimals shown.

    Returns:
        The table, ending with a newline.
    """
    rows = [
        (
            _cell(s.env_id),
            _cell(s.algo),
            str(s.n),
            _number(s.mean, digits),
            _number(s.iqm, digits),
            f"[{_number(s.ci.low, digits)}, {_number(s.ci.high, digits)}]",
            _number(s.normalized_mean, digits),
            _number(s.normalized_iqm, digits),
            f"[{_number(s.normalized_ci.low, digits)}, {_number(s.normalized_ci.high, digits)}]",
        )
        for s in summaries
    ]
    widths = [max(len(row[i]) for row in [_TABLE_HEADER, *rows]) for i in range(len(_TABLE_HEADER))]
    widths = [max(width, 3) for width in widths]  # a separator cell needs at least "---"
    text_columns = 2  # env and algo are left-aligned; numbers right-aligned

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(width) if i < text_columns else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    separator = [
        "-" * width if i < text_columns else "-" * (width - 1) + ":"
        for i, width in enumerate(widths)
    ]
    return "\n".join([line(_TABLE_HEADER), line(separator), *(line(row) for row in rows)]) + "\n"


def plot_comparison(summaries: Sequence[Summary], path: str | os.PathLike[str]) -> None:
    """Write a PNG comparing algorithms: normalised IQM per env with its 95% interval.

    One horizontal band per env (top to bottom in the given order, an ``"all"`` aggregate
    included), one point per algorithm within the band, with the interval as error bar.
    Dashed lines mark the random (0) and reference (1) policies. matplotlib is imported here,
    through its Agg canvas and without ``pyplot``, so the global backend of a notebook or of
    the caller is left alone; the file is written atomically.

    Args:
        summaries: Summaries to draw (at least one).
        path: Where to write the PNG; parent folders are created.

    Raises:
        ValueError: If ``summaries`` is empty.
        ImportError: If matplotlib is not installed (``pip install "textgym[bench]"``).
    """
    if not summaries:
        raise ValueError("plot_comparison needs at least one summary")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            'plot_comparison needs matplotlib; install it with: pip install "textgym[bench]"'
        ) from exc

    envs = list(dict.fromkeys(s.env_id for s in summaries))
    algos = list(dict.fromkeys(s.algo for s in summaries))
    band = 0.8  # height of an env's band; the rest is the gap between envs
    step = band / len(algos)

    figure = Figure(figsize=(8.0, 1.0 + 0.35 * len(envs) * max(len(algos), 2)), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colors = [f"C{i % 10}" for i in range(len(algos))]
    for i, algo in enumerate(algos):
        rows = [s for s in summaries if s.algo == algo]
        # Env 0 at the top: bands count down, algos within a band top to bottom.
        ys = [-envs.index(s.env_id) + band / 2 - step * (i + 0.5) for s in rows]
        xs = [s.normalized_iqm for s in rows]
        errors = [
            [s.normalized_iqm - s.normalized_ci.low for s in rows],
            [s.normalized_ci.high - s.normalized_iqm for s in rows],
        ]
        # The interval comes from the bootstrap, the IQM from the sample: clip the rare rounding
        # difference so that matplotlib never sees a negative error bar.
        errors = [[max(e, 0.0) for e in side] for side in errors]
        axes.errorbar(xs, ys, xerr=errors, fmt="o", color=colors[i], capsize=3, label=algo)
    for x in (0.0, 1.0):
        axes.axvline(x, color="0.6", linestyle="--", linewidth=0.8, zorder=0)
    axes.set_yticks([-k for k in range(len(envs))], envs)
    axes.set_ylim(-len(envs) + 0.5, 0.5)
    axes.set_xlabel("normalized IQM (0 = random, 1 = reference), 95% bootstrap CI")
    axes.grid(axis="x", alpha=0.3)
    # Outside the axes: a legend inside would hide whichever points happen to sit under it.
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small", frameon=False)
    figure.tight_layout()

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())
