"""Tests of textgym.bench.aggregate: IQM, bootstrap intervals, normalisation, tables, plots."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textgym.bench.aggregate import (
    Interval,
    Summary,
    aggregate_over_envs,
    bootstrap_ci,
    interquartile_mean,
    markdown_table,
    normalize,
    plot_comparison,
    summarize,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Bounded, well-scaled floats: the properties are about the statistics, not about overflow.
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
score_lists = st.lists(finite, min_size=1, max_size=30)


def _results(scores: dict[tuple[str, str], list[float]]) -> list[dict]:
    return [
        {"env_id": env_id, "algo": algo, "seed": seed, "score": score}
        for (env_id, algo), values in scores.items()
        for seed, score in enumerate(values)
    ]


def _tolerance(values: list[float]) -> float:
    # The mean of floats may round one ulp past the largest of them.
    return 1e-9 * max(1.0, max(abs(v) for v in values))


# --- interquartile_mean -------------------------------------------------------------------


def test_iqm_of_eight_numbers_is_the_mean_of_the_middle_four() -> None:
    # Sorted: 1 2 | 3 4 5 6 | 7 100; two cut from each end -> (3 + 4 + 5 + 6) / 4.
    assert interquartile_mean([100, 3, 1, 6, 2, 7, 5, 4]) == 4.5


def test_iqm_of_five_numbers_cuts_one_from_each_end() -> None:
    assert interquartile_mean([1, 2, 3, 4, 100]) == 3.0


@pytest.mark.parametrize("scores", [[7.0], [1.0, 2.0], [1.0, 2.0, 10.0]])
def test_iqm_of_fewer_than_four_scores_is_the_mean(scores: list[float]) -> None:
    assert interquartile_mean(scores) == pytest.approx(np.mean(scores))


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [float("inf"), 1.0], [[1.0, 2.0]]])
def test_iqm_rejects_empty_and_non_finite_scores(bad: list) -> None:
    with pytest.raises(ValueError):
        interquartile_mean(bad)


@given(score_lists)
def test_iqm_lies_between_min_and_max(scores: list[float]) -> None:
    iqm = interquartile_mean(scores)
    tolerance = _tolerance(scores)
    assert min(scores) - tolerance <= iqm <= max(scores) + tolerance


# --- bootstrap_ci -------------------------------------------------------------------------


def test_bootstrap_ci_of_two_scores_spans_them() -> None:
    # Resample means are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: both 2.5% tails sit at the
    # ends.
    assert bootstrap_ci([0.0, 1.0]) == Interval(0.0, 1.0)


def test_bootstrap_ci_of_one_score_is_that_score() -> None:
    assert bootstrap_ci([0.37]) == Interval(0.37, 0.37)


@pytest.mark.parametrize("statistic", [np.mean, interquartile_mean, np.median])
def test_bootstrap_ci_of_equal_scores_is_degenerate_without_warnings(statistic) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bootstrap_ci([0.25] * 6, statistic) == Interval(0.25, 0.25)


def test_degenerate_interval_is_of_the_statistic_not_of_the_score() -> None:
    assert bootstrap_ci([3.0, 3.0, 3.0], np.std) == Interval(0.0, 0.0)


def test_bootstrap_ci_of_iqm_matches_a_non_vectorised_statistic() -> None:
    # The IQM is evaluated vectorised; a plain callable goes through scipy's per-resample path.
    scores = [0.1, 0.5, 0.2, 0.9, 0.4, 0.3, 0.8]
    fast = bootstrap_ci(scores, interquartile_mean, n_resamples=500, seed=3)
    slow = bootstrap_ci(scores, lambda x: interquartile_mean(x), n_resamples=500, seed=3)
    assert fast.low == pytest.approx(slow.low) and fast.high == pytest.approx(slow.high)


def test_bootstrap_ci_depends_on_the_seed() -> None:
    scores = [0.1, 0.5, 0.2, 0.9, 0.4]
    intervals = {bootstrap_ci(scores, n_resamples=200, seed=seed) for seed in range(5)}
    assert len(intervals) > 1


def test_wider_confidence_gives_a_wider_interval() -> None:
    scores = [0.1, 0.5, 0.2, 0.9, 0.4, 0.7]
    narrow = bootstrap_ci(scores, confidence=0.5)
    wide = bootstrap_ci(scores, confidence=0.99)
    assert wide.low <= narrow.low <= narrow.high <= wide.high


@pytest.mark.parametrize(
    ("scores", "kwargs"),
    [
        ([], {}),
        ([1.0, float("nan")], {}),
        ([1.0, 2.0], {"confidence": 1.0}),
        ([1.0], {"n_resamples": 0}),
    ],
)
def test_bootstrap_ci_rejects_bad_input(scores: list[float], kwargs: dict) -> None:
    with pytest.raises(ValueError):
        bootstrap_ci(scores, **kwargs)


@settings(max_examples=40, deadline=None)
@given(score_lists, st.sampled_from([np.mean, interquartile_mean]), st.integers(0, 2**32 - 1))
def test_bootstrap_ci_is_ordered_within_the_data_and_deterministic(scores, statistic, seed) -> None:
    interval = bootstrap_ci(scores, statistic, n_resamples=200, seed=seed)
    tolerance = _tolerance(scores)
    assert interval.low <= interval.high
    assert min(scores) - tolerance <= interval.low
    assert interval.high <= max(scores) + tolerance
    assert bootstrap_ci(scores, statistic, n_resamples=200, seed=seed) == interval


def test_interval_rejects_reversed_ends() -> None:
    with pytest.raises(ValueError):
        Interval(1.0, 0.0)


# --- normalize ----------------------------------------------------------------------------


def test_normalize_hand_computed() -> None:
    assert normalize(0.55, 0.1, 1.0) == pytest.approx(0.5)
    assert normalize(-0.8, 0.1, 1.0) == pytest.approx(-1.0)  # worse than random is kept
    assert normalize(1.9, 0.1, 1.0) == pytest.approx(2.0)  # better than the reference too


@given(finite, st.floats(min_value=1e-3, max_value=1e6))
def test_normalize_maps_random_to_zero_and_reference_to_one(random: float, gap: float) -> None:
    reference = random + gap
    assert normalize(random, random, reference) == 0.0
    assert normalize(reference, random, reference) == 1.0


@pytest.mark.parametrize(("random", "reference"), [(0.5, 0.5), (0.9, 0.1)])
def test_normalize_needs_reference_above_random_and_names_the_env(random, reference) -> None:
    with pytest.raises(ValueError, match="TextSumm-v0"):
        normalize(0.3, random, reference, env_id="TextSumm-v0")


# --- summarize ----------------------------------------------------------------------------


def test_summarize_groups_sorts_and_keeps_seed_order() -> None:
    results = [
        {"env_id": "TextTrans-v0", "algo": "ppo", "seed": 2, "score": 1.5},
        {"env_id": "TextSumm-v0", "algo": "ppo", "seed": 0, "score": 0.2},
        {"env_id": "TextTrans-v0", "algo": "ppo", "seed": 0, "score": 0.5},
        {"env_id": "TextTrans-v0", "algo": "a2c", "seed": 0, "score": 0.0},
        {"env_id": "TextTrans-v0", "algo": "ppo", "seed": 1, "score": 1.0},
    ]
    baselines = {"TextTrans-v0": (0.0, 2.0), "TextSumm-v0": (0.0, 1.0), "unused-v0": (0.0, 1.0)}
    summaries = summarize(results, baselines)
    assert [(s.env_id, s.algo, s.n) for s in summaries] == [
        ("TextSumm-v0", "ppo", 1),
        ("TextTrans-v0", "a2c", 1),
        ("TextTrans-v0", "ppo", 3),
    ]
    trans = summaries[2]
    assert trans.raw == (0.5, 1.0, 1.5)
    assert trans.normalized_raw == (0.25, 0.5, 0.75)
    assert trans.mean == pytest.approx(1.0) and trans.iqm == pytest.approx(1.0)  # n < 4: the mean
    assert trans.normalized_mean == pytest.approx(0.5)
    assert trans.normalized_iqm == pytest.approx(0.5)
    assert trans.ci == bootstrap_ci(trans.raw, interquartile_mean)
    assert trans.normalized_ci.low == pytest.approx(trans.ci.low / 2)
    assert trans.normalized_ci.high == pytest.approx(trans.ci.high / 2)
    assert summaries[0].ci == Interval(0.2, 0.2)  # one seed: nothing to resample


def test_summarize_reads_the_named_metric() -> None:
    results = [{"env_id": "E-v0", "algo": "ppo", "seed": 0, "score": 9.0, "bleu": 30.0}]
    (summary,) = summarize(results, {"E-v0": (10.0, 50.0)}, metric="bleu")
    assert summary.raw == (30.0,) and summary.normalized_mean == pytest.approx(0.5)


def test_summarize_of_nothing_is_empty() -> None:
    assert summarize([], {}) == []


def test_summary_is_json_serialisable() -> None:
    (summary,) = summarize(_results({("E-v0", "ppo"): [0.1, 0.4, 0.3]}), {"E-v0": (0.0, 1.0)})
    round_trip = json.loads(json.dumps(summary.to_dict()))
    assert round_trip["raw"] == [0.1, 0.4, 0.3]
    assert round_trip["ci"] == [summary.ci.low, summary.ci.high]


def test_summarize_missing_baseline_names_the_env() -> None:
    results = _results({("TextDial-v0", "ppo"): [0.1], ("TextSumm-v0", "ppo"): [0.2]})
    with pytest.raises(ValueError, match="TextDial-v0"):
        summarize(results, {"TextSumm-v0": (0.0, 1.0)})


def test_summarize_bad_baseline_names_the_env() -> None:
    with pytest.raises(ValueError, match="TextSumm-v0"):
        summarize(_results({("TextSumm-v0", "ppo"): [0.2]}), {"TextSumm-v0": (0.5, 0.5)})


def test_summarize_rejects_duplicate_runs() -> None:
    results = _results({("E-v0", "ppo"): [0.1, 0.2]})
    results.append(dict(results[0], score=0.9))
    with pytest.raises(ValueError, match="duplicate"):
        summarize(results, {"E-v0": (0.0, 1.0)})


def test_summarize_rejects_seeds_that_cannot_be_ordered() -> None:
    results = [
        {"env_id": "E-v0", "algo": "ppo", "seed": 0, "score": 0.1},
        {"env_id": "E-v0", "algo": "ppo", "seed": "0", "score": 0.2},
    ]
    with pytest.raises(ValueError, match="not comparable"):
        summarize(results, {"E-v0": (0.0, 1.0)})


def test_summarize_rejects_missing_keys_and_non_finite_scores() -> None:
    with pytest.raises(ValueError, match="seed"):
        summarize([{"env_id": "E-v0", "algo": "ppo", "score": 0.1}], {"E-v0": (0.0, 1.0)})
    for bad in (float("nan"), "n/a", None):
        with pytest.raises(ValueError, match="non-finite"):
            summarize(
                [{"env_id": "E-v0", "algo": "ppo", "seed": 0, "score": bad}], {"E-v0": (0, 1)}
            )


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(min_value=-100, max_value=100), min_size=1, max_size=8),
    st.floats(min_value=-100, max_value=100),
    st.floats(min_value=1.0, max_value=100),
    st.floats(min_value=1e-3, max_value=1e3),
    st.floats(min_value=-1e3, max_value=1e3),
)
def test_normalized_summary_is_invariant_under_affine_rescaling(
    scores: list[float], random: float, gap: float, scale: float, shift: float
) -> None:
    def rescaled(x: float) -> float:
        return scale * x + shift

    original = summarize(_results({("E-v0", "ppo"): scores}), {"E-v0": (random, random + gap)})[0]
    changed = summarize(
        _results({("E-v0", "ppo"): [rescaled(x) for x in scores]}),
        {"E-v0": (rescaled(random), rescaled(random + gap))},
    )[0]
    close = {"abs": 1e-6, "rel": 1e-6}
    assert changed.normalized_mean == pytest.approx(original.normalized_mean, **close)
    assert changed.normalized_iqm == pytest.approx(original.normalized_iqm, **close)
    assert changed.normalized_ci.low == pytest.approx(original.normalized_ci.low, **close)
    assert changed.normalized_ci.high == pytest.approx(original.normalized_ci.high, **close)
    assert changed.normalized_raw == pytest.approx(original.normalized_raw, **close)


# --- aggregate_over_envs ------------------------------------------------------------------


def test_stratified_bootstrap_never_mixes_envs() -> None:
    # Normalised scores: env A all 0, env B all 1. Every stratified resample is again four 0s
    # and four 1s, whose IQM is 0.5; a pooled (unstratified) bootstrap would vary.
    results = _results({("A-v0", "ppo"): [0.0] * 4, ("B-v0", "ppo"): [1.0] * 4})
    summaries = summarize(results, {"A-v0": (0.0, 1.0), "B-v0": (0.0, 1.0)})
    (overall,) = aggregate_over_envs(summaries)
    assert overall.env_id == "all" and overall.algo == "ppo" and overall.n == 8
    assert overall.iqm == 0.5 and overall.normalized_iqm == 0.5
    assert overall.ci == Interval(0.5, 0.5) == overall.normalized_ci
    pooled = bootstrap_ci(overall.raw, interquartile_mean)
    assert pooled.low < 0.5 < pooled.high


def test_stratification_keeps_each_envs_number_of_runs() -> None:
    # Three 0s from A and one 1 from B: the IQM of every resample is mean(0, 0) = 0.
    results = _results({("A-v0", "ppo"): [0.0] * 3, ("B-v0", "ppo"): [1.0]})
    (overall,) = aggregate_over_envs(summarize(results, {"A-v0": (0, 1), "B-v0": (0, 1)}))
    assert overall.ci == Interval(0.0, 0.0)


def test_aggregate_pools_normalised_scores_per_algo() -> None:
    results = _results(
        {
            ("A-v0", "ppo"): [0.5, 1.0, 1.5],
            ("B-v0", "ppo"): [10.0, 20.0],
            ("A-v0", "a2c"): [0.0, 2.0],
        }
    )
    summaries = summarize(results, {"A-v0": (0.0, 2.0), "B-v0": (0.0, 20.0)})
    overall = aggregate_over_envs(summaries, seed=1)
    assert [s.algo for s in overall] == ["a2c", "ppo"]
    ppo = overall[1]
    assert ppo.raw == ppo.normalized_raw == (0.25, 0.5, 0.75, 0.5, 1.0)
    assert ppo.n == 5
    assert ppo.mean == pytest.approx(0.6)
    assert ppo.iqm == pytest.approx(interquartile_mean([0.25, 0.5, 0.75, 0.5, 1.0]))
    assert ppo.ci.low <= ppo.iqm <= ppo.ci.high
    assert ppo.ci.low >= 0.25 and ppo.ci.high <= 1.0
    assert aggregate_over_envs(summaries, seed=1) == overall  # deterministic


def test_aggregate_rejects_aggregates_and_duplicates() -> None:
    summaries = summarize(_results({("A-v0", "ppo"): [0.1, 0.2]}), {"A-v0": (0.0, 1.0)})
    with pytest.raises(ValueError, match="already an aggregate"):
        aggregate_over_envs(aggregate_over_envs(summaries))
    with pytest.raises(ValueError, match="duplicate"):
        aggregate_over_envs(summaries * 2)


# --- markdown_table -----------------------------------------------------------------------


def _summaries() -> list[Summary]:
    results = _results(
        {
            ("TextSumm-v0", "maskable-ppo"): [0.51, 0.25, 0.40],
            ("TextSumm-v0", "ppo"): [0.02, 0.05, 0.03],
            ("TextTrans-v0", "ppo"): [0.10, 0.12, 0.15, 0.11],
        }
    )
    summaries = summarize(results, {"TextSumm-v0": (0.01, 0.9), "TextTrans-v0": (0.05, 1.0)})
    return summaries + aggregate_over_envs(summaries)


def _cells(line: str) -> list[str]:
    assert line.startswith("| ") and line.endswith(" |")
    return [cell.strip() for cell in line[2:-2].split(" | ")]


def test_markdown_table_shape_and_cells() -> None:
    summaries = _summaries()
    text = markdown_table(summaries)
    lines = text.splitlines()
    assert text.endswith("\n")
    assert len(lines) == 2 + len(summaries)
    assert _cells(lines[0]) == [
        "env",
        "algo",
        "seeds",
        "mean",
        "IQM",
        "95% CI",
        "normalized mean",
        "normalized IQM",
        "normalized 95% CI",
    ]
    separator = _cells(lines[1])
    assert all(set(cell) == {"-"} for cell in separator[:2])
    assert all(cell.endswith(":") and set(cell[:-1]) == {"-"} for cell in separator[2:])
    assert len({len(line) for line in lines}) == 1  # padded: the raw text lines up

    first = summaries[0]
    row = _cells(lines[2])
    assert row[:3] == ["TextSumm-v0", "maskable-ppo", "3"]
    assert row[3] == f"{first.mean:.3f}" == "0.387"
    assert row[5] == f"[{first.ci.low:.3f}, {first.ci.high:.3f}]"
    assert row[8] == f"[{first.normalized_ci.low:.3f}, {first.normalized_ci.high:.3f}]"
    assert [_cells(line)[0] for line in lines[2:]][-2:] == ["all", "all"]


def test_markdown_table_is_deterministic_and_honours_digits() -> None:
    summaries = _summaries()
    assert markdown_table(summaries) == markdown_table(_summaries())
    row = _cells(markdown_table(summaries, digits=1).splitlines()[2])
    assert row[3] == "0.4"


def test_markdown_table_prints_no_negative_zero_and_escapes_pipes() -> None:
    tiny = Interval(-1e-9, 0.0)
    summary = Summary(
        "a|b", "ppo", 2, -1e-9, -1e-9, tiny, -1e-9, -1e-9, tiny, (0.0, 0.0), (0.0, 0.0)
    )
    row = markdown_table([summary]).splitlines()[2]
    assert "-0.000" not in row
    assert row.startswith("| a\\|b ")


def test_markdown_table_of_nothing_is_the_header() -> None:
    assert len(markdown_table([]).splitlines()) == 2


# --- plot_comparison ----------------------------------------------------------------------


def test_plot_comparison_writes_a_png(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "plots" / "comparison.png"
    plot_comparison(_summaries(), path)
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert [p.name for p in path.parent.iterdir()] == ["comparison.png"]  # no temp file left


def test_plot_comparison_needs_summaries(tmp_path) -> None:
    with pytest.raises(ValueError):
        plot_comparison([], tmp_path / "empty.png")


# --- import cost --------------------------------------------------------------------------


def test_import_loads_no_heavy_module() -> None:
    code = (
        "import sys, textgym; before = set(sys.modules); import textgym.bench.aggregate; "
        "new = set(sys.modules) - before; "
        "print(sorted(m for m in new if m.split('.')[0] in ('scipy', 'matplotlib', 'torch')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
