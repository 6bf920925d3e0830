"""Signatures and paired significance tests against sacrebleu 2.6.0 (and rouge-score) on real
text: German message catalogs (translation) and standard-library docstrings (summaries)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from real_corpora import german_messages, stdlib_docstrings

from textgym import metrics
from textgym.cli import main
from textgym.metrics.significance import PairedResult

sacrebleu_metrics = pytest.importorskip("sacrebleu.metrics")
significance = pytest.importorskip("sacrebleu.significance")

FACTORIES = {
    "bleu": lambda: sacrebleu_metrics.BLEU(),
    "chrf": lambda: sacrebleu_metrics.CHRF(),
    "chrf++": lambda: sacrebleu_metrics.CHRF(word_order=2),
    "ter": lambda: sacrebleu_metrics.TER(),
}


def _drop(words: list[str], k: int) -> list[str]:
    k %= len(words)
    return words[:k] + words[k + 1 :] if len(words) > 1 else words


@pytest.fixture(scope="module")
def translation() -> tuple[list[str], list[str], list[list[str]]]:
    """Two degraded copies of real German translations (close systems, so that the p-values
    are not all at their floor), and three references per sample: the translation, the
    translation without its last word, and it lowercased (different lengths: TER's average
    reference length is then fractional)."""
    pairs = german_messages(120)
    refs = [de for _, de in pairs]
    sys_a = [" ".join(_drop(r.split(), -1)) if i % 3 == 0 else r for i, r in enumerate(refs)]
    sys_b = [" ".join(_drop(r.split(), 0)) if i % 3 == 1 else r for i, r in enumerate(refs)]
    refs_list = [[r, " ".join(r.split()[:-1]) or r, r.lower()] for r in refs]
    return sys_a, sys_b, refs_list


def _sacrebleu(
    test: str, name: str, sys_a, sys_b, refs_list, n: int, conf: int = -1
) -> tuple[str, object, object]:
    streams = [list(stream) for stream in zip(*refs_list, strict=True)]
    paired = significance.PairedTest(
        [("a", sys_a), ("b", sys_b)], {"m": FACTORIES[name]()}, streams,
        test_type=test, n_samples=n, n_ar_confidence=conf,
    )  # fmt: skip
    signatures, scores = paired()
    (key,) = [k for k in scores if k != "System"]
    baseline, system = scores[key]
    return signatures[key].format(), baseline, system


def _assert_same(ours: PairedResult, signature: str, baseline, system) -> None:
    # Exact: the same statistics, indices and float32 sums give the same bits.
    assert ours.baseline.score == baseline.score
    assert ours.system.score == system.score
    assert ours.p_value == system.p_value
    assert ours.signature == signature
    if baseline.mean is not None:
        assert (ours.baseline.mean, ours.baseline.ci) == (baseline.mean, baseline.ci)
    if system.mean is not None:
        assert (ours.system.mean, ours.system.ci) == (system.mean, system.ci)


@pytest.mark.parametrize("seed", [12345, 7])
@pytest.mark.parametrize("name", list(FACTORIES))
def test_paired_bootstrap_equals_sacrebleu(translation, monkeypatch, name: str, seed: int) -> None:
    sys_a, sys_b, refs_list = translation
    # sacrebleu draws the baseline's resamples with SACREBLEU_SEED and the test with it too.
    monkeypatch.setenv("SACREBLEU_SEED", str(seed))
    for refs in (refs_list, [r[:1] for r in refs_list]):  # three references, then one
        expected = _sacrebleu("bs", name, sys_a, sys_b, refs, 300)
        ours = metrics.paired_bootstrap(name, sys_a, sys_b, refs, resamples=300, seed=seed)
        _assert_same(ours, *expected)
        low, high = ours.difference_ci
        assert low <= ours.system.mean - ours.baseline.mean + 1e-4 and low <= high


@pytest.mark.parametrize("name", list(FACTORIES))
def test_paired_randomization_equals_sacrebleu(translation, monkeypatch, name: str) -> None:
    sys_a, sys_b, refs_list = translation
    monkeypatch.setenv("SACREBLEU_SEED", "2024")
    expected = _sacrebleu("ar", name, sys_a, sys_b, refs_list, 1000, conf=200)
    ours = metrics.paired_randomization(
        name, sys_a, sys_b, refs_list, trials=1000, confidence_resamples=200, seed=2024
    )
    _assert_same(ours, *expected)
    sig, baseline, system = _sacrebleu("ar", name, sys_a, sys_b, refs_list, 1000)
    plain = metrics.paired_randomization(name, sys_a, sys_b, refs_list, trials=1000, seed=2024)
    _assert_same(plain, sig, baseline, system)
    assert plain.system.mean is None and plain.difference_ci is None


def test_the_defaults_are_sacrebleus(translation) -> None:
    """1000 resamples, 10000 trials and seed 12345 when nothing is given, as its CLI."""
    sys_a, sys_b, refs_list = translation
    refs = [r[:1] for r in refs_list]
    for test, ours in (
        ("bs", metrics.paired_bootstrap("bleu", sys_a, sys_b, refs)),
        ("ar", metrics.paired_randomization("bleu", sys_a, sys_b, refs)),
    ):
        n = 1000 if test == "bs" else 10000
        _assert_same(ours, *_sacrebleu(test, "bleu", sys_a, sys_b, refs, n))
        assert ours.resamples == n and ours.seed == 12345
    assert 0.0001 < ours.p_value < 1  # close systems: a p-value above the floor


@pytest.mark.parametrize("variant", ["rouge1", "rouge2", "rougeL", "rougeLsum"])
def test_rouge_statistic_is_rouge_scores_mean_resampled_alike(variant: str) -> None:
    from rouge_score import rouge_scorer

    pairs = stdlib_docstrings(80)
    refs_list = [[summary] for _, summary in pairs]
    sys_a = [" ".join(body.split()[:12]) for body, _ in pairs]
    sys_b = [body.split(". ")[0] for body, _ in pairs]
    scorer = rouge_scorer.RougeScorer([variant], use_stemmer=True)
    f_a = np.array(
        [scorer.score_multi(r, h)[variant].fmeasure for h, r in zip(sys_a, refs_list, strict=True)]
    )
    f_b = np.array(
        [scorer.score_multi(r, h)[variant].fmeasure for h, r in zip(sys_b, refs_list, strict=True)]
    )
    ours = metrics.paired_bootstrap(variant, sys_a, sys_b, refs_list, resamples=400, seed=3)
    assert ours.baseline.score == pytest.approx(f_a.mean(), abs=1e-12)
    assert ours.system.score == pytest.approx(f_b.mean(), abs=1e-12)
    # The same resamples as the sacrebleu metrics, of the mean F.
    idx = np.random.default_rng(3).choice(len(pairs), size=(400, len(pairs)))
    means_b = np.sort(f_b[idx].mean(axis=1))
    assert ours.system.mean == pytest.approx(means_b.mean(), abs=1e-12)
    assert ours.system.ci == pytest.approx(0.5 * (means_b[-11] - means_b[10]), abs=1e-12)
    diffs = np.abs(f_b[idx].mean(axis=1) - f_a[idx].mean(axis=1))
    observed = abs(f_b.mean() - f_a.mean())
    count = int(np.sum(diffs - diffs.mean() > observed + 1e-12))
    assert ours.p_value == pytest.approx((count + 1) / 401, abs=1 / 401)
    assert "impl:rouge-score" in ours.signature and f"variants:{variant}" in ours.signature
    trials = metrics.paired_randomization(variant, sys_a, sys_b, refs_list, trials=500)
    assert trials.baseline.score == ours.baseline.score and 0 < trials.p_value <= 1


SIGNATURE_CASES = [
    ("bleu", {}),
    ("bleu", {"effective_order": True}),
    ("bleu", {"lowercase": True, "tokenize": "intl", "smooth_method": "floor"}),
    ("bleu", {"tokenize": "none", "smooth_method": "add-k", "smooth_value": 2}),
    ("bleu", {"tokenize": "char", "smooth_method": "none"}),
    ("bleu", {"tokenize": "zh", "smooth_method": "floor", "smooth_value": 0.25}),
    ("chrf", {}),
    ("chrf", {"word_order": 2}),
    ("chrf", {"char_order": 4, "lowercase": True, "whitespace": True, "eps_smoothing": True}),
    ("ter", {}),
    ("ter", {"normalized": True, "no_punct": True, "asian_support": True}),
    ("ter", {"case_sensitive": True}),
]


@pytest.mark.parametrize(("name", "options"), SIGNATURE_CASES)
@pytest.mark.parametrize("nrefs", [1, 3])
def test_signature_equals_sacrebleus(name: str, options: dict, nrefs: int) -> None:
    cls = {"bleu": sacrebleu_metrics.BLEU, "chrf": sacrebleu_metrics.CHRF}.get(
        name, sacrebleu_metrics.TER
    )
    metric = cls(**options)
    metric.corpus_score(["ein Test ."], [["ein Test ."]] * nrefs)
    for short in (False, True):
        expected = metric.get_signature().format(short=short)
        assert metrics.signature(name, nrefs=nrefs, short=short, **options) == expected


def test_chrf_plus_plus_and_variable_references() -> None:
    assert metrics.signature("chrf++") == metrics.signature("chrf", word_order=2)
    metric = sacrebleu_metrics.BLEU()
    metric.corpus_score(["a b", "c d"], [["a b", "c d"], ["a b", None]])
    assert metrics.signature("bleu", nrefs="var") == metric.get_signature().format()


def test_rouge_and_textgym_signatures() -> None:
    assert metrics.signature("rouge", variants=["rouge1", "rougeL"], stem=False) == (
        "nrefs:1|impl:rouge-score|variants:rouge1,rougeL|stem:no|tok:rouge-score|measure:f|"
        "multi:max|agg:mean|version:0.1.2"
    )
    assert "split:newline" in metrics.signature("rougeLsum")
    assert metrics.signature("rougeL", nrefs=2, seed=1, n_bootstrap=10).startswith(
        "nrefs:2|bs:10|seed:1|impl:rouge-score|variants:rougeL|stem:porter"
    )
    assert "reward:bleu*content" in metrics.signature("score", definition="bleu*content")
    assert metrics.signature("f1").startswith("nrefs:1|impl:textgym|metric:token-f1")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: metrics.signature("blue"), "metric: expected one of"),
        (lambda: metrics.signature("bleu", tokenise="13a"), "unknown option 'tokenise'"),
        (lambda: metrics.signature("bleu", tokenize="ja-mecab"), "tokenize: expected"),
        (lambda: metrics.signature("bleu", smooth_method="exp2"), "smooth_method: expected"),
        (lambda: metrics.signature("chrf", word_order=-1), "word_order: expected"),
        (lambda: metrics.signature("ter", nrefs=0), "nrefs: expected"),
        (lambda: metrics.signature("rouge", variants=["rougeX"]), "variants: expected"),
        (lambda: metrics.signature("bleu", lowercase="yes"), "lowercase: expected"),
        (lambda: metrics.signature("bleu", n_bootstrap=0), "n_bootstrap: expected"),
    ],
)
def test_signature_bad_input_names_the_argument(call, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "blue"}, "metric: expected one of"),
        ({"system": ["x"]}, "system: has 1 outputs but baseline has 2"),
        ({"references_list": [["r"]]}, "references_list` has 1 entries"),
        ({"references_list": None}, "references_list: 'bleu' needs"),
        ({"references_list": ["ref one", "ref two"]}, "got a bare str"),
        ({"baseline": "ab"}, "`baseline` must be a sequence of str"),
        ({"resamples": 0}, "resamples: expected an integer >= 1"),
        ({"seed": -1}, "seed: expected an integer >= 0"),
        (
            {
                "metric": "mean",
                "references_list": None,
                "baseline": [0.5, float("nan")],
                "system": [0.1, 0.2],
            },
            r"baseline\[1\]: expected a finite number",
        ),
        ({"baseline": [], "system": [], "references_list": []}, "at least one sample"),
    ],
)
def test_paired_bad_input_names_the_argument(kwargs: dict, match: str) -> None:
    args = {
        "metric": "bleu", "baseline": ["a b c", "d e"], "system": ["a b", "d e f"],
        "references_list": [["a b c"], ["d e f"]], **kwargs,
    }  # fmt: skip
    with pytest.raises((ValueError, TypeError), match=match):
        metrics.paired_bootstrap(**args)
    with pytest.raises((ValueError, TypeError), match=match.replace("resamples", "trials")):
        if "resamples" in args:
            args["trials"] = args.pop("resamples")
        metrics.paired_randomization(**args)


words = st.sampled_from(["Haus", "haus", "das", "Das", "ist", ".", ",", "'s", "grün", "3.5", "x-y"])
sentence = st.lists(words, max_size=8).map(" ".join)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 3), st.data())
def test_equals_sacrebleu_on_adversarial_text(nrefs: int, data: st.DataObject) -> None:
    """Empty outputs, punctuation, case variants and repeats: every metric, both tests."""
    n = data.draw(st.integers(1, 6))
    sys_a, sys_b = (data.draw(st.lists(sentence, min_size=n, max_size=n)) for _ in "ab")
    refs_list = [data.draw(st.lists(sentence, min_size=nrefs, max_size=nrefs)) for _ in range(n)]
    name = data.draw(st.sampled_from(list(FACTORIES)))
    expected = _sacrebleu("bs", name, sys_a, sys_b, refs_list, 30)
    _assert_same(metrics.paired_bootstrap(name, sys_a, sys_b, refs_list, resamples=30), *expected)
    expected = _sacrebleu("ar", name, sys_a, sys_b, refs_list, 40, conf=20)
    ours = metrics.paired_randomization(
        name, sys_a, sys_b, refs_list, trials=40, confidence_resamples=20
    )
    _assert_same(ours, *expected)


values = st.lists(st.floats(0, 1, allow_nan=False), min_size=2, max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values, st.integers(0, 2**31), st.data())
def test_mean_test_properties(a: list[float], seed: int, data: st.DataObject) -> None:
    b = data.draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=len(a), max_size=len(a)))
    forward = metrics.paired_bootstrap("mean", a, b, resamples=80, seed=seed)
    backward = metrics.paired_bootstrap("mean", b, a, resamples=80, seed=seed)
    assert forward.difference == pytest.approx(sum(b) / len(b) - sum(a) / len(a), abs=1e-12)
    assert backward.difference == -forward.difference
    assert backward.p_value == forward.p_value  # a two-sided test
    assert backward.difference_ci == (-forward.difference_ci[1], -forward.difference_ci[0])
    assert 0 < forward.p_value <= 1 and forward.system.ci >= 0
    shuffled = metrics.paired_randomization("mean", a, b, trials=80, seed=seed)
    swapped = metrics.paired_randomization("mean", b, a, trials=80, seed=seed)
    assert math.isclose(shuffled.p_value, swapped.p_value)
    # sacrebleu's definition: identical systems get its smallest p-value, 1 / (n + 1).
    assert metrics.paired_bootstrap("mean", a, a, resamples=80).p_value == 1 / 81


def _write(path: Path, hyps: list[str], refs_list: list[list[str]], ids=None) -> Path:
    rows = [
        {"index": i, "sample_id": (ids or range(len(hyps)))[i], "prediction": h,
         "references": r, "metrics": {"score": float(len(h) % 7) / 7}}
        for i, (h, r) in enumerate(zip(hyps, refs_list, strict=True))
    ]  # fmt: skip
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_cli_compare(tmp_path: Path, translation, capsys: pytest.CaptureFixture[str]) -> None:
    sys_a, sys_b, refs_list = translation
    refs = [r[:1] for r in refs_list]
    run_a, run_b = tmp_path / "a", tmp_path / "b"
    run_a.mkdir(), run_b.mkdir()
    _write(run_a / "predictions_test.jsonl", sys_a, refs)
    _write(run_b / "predictions_test.jsonl", sys_b, refs)
    args = ["compare", str(run_a), str(run_b), "--metric", "bleu,chrf,score", "--resamples", "200"]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = metrics.paired_bootstrap("bleu", sys_a, sys_b, refs, resamples=200)
    assert out["results"][0] == json.loads(json.dumps(expected.to_dict()))
    assert [r["metric"] for r in out["results"]] == ["bleu", "chrf", "score"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "signatures:" in text and "nrefs:1|bs:200|seed:12345|case:mixed|eff:no" in text
    assert f"{expected.difference:+.4g}" in text and f"{expected.p_value:.4f}" in text
    assert main(["compare", str(run_a), str(run_b), "--test", "randomization",
                 "--resamples", "300", "--metric", "ter"]) == 0  # fmt: skip
    assert "approximate randomization, 300 trials" in capsys.readouterr().out


def test_cli_compare_refuses_runs_on_other_samples(
    tmp_path: Path, translation, capsys: pytest.CaptureFixture[str]
) -> None:
    sys_a, sys_b, refs_list = translation
    refs = [r[:1] for r in refs_list]
    a = _write(tmp_path / "a.jsonl", sys_a, refs)
    b = _write(tmp_path / "b.jsonl", sys_b[:-1], refs[:-1])
    c = _write(tmp_path / "c.jsonl", sys_b, refs, ids=[9, *range(1, 120)])
    d = _write(tmp_path / "d.jsonl", sys_b, refs[::-1])
    cases = [
        (b, f"{a} has 120 predictions, {b} has 119"),
        (c, f"row 0 is sample 0 in {a} and 9 in {c}"),
        (d, f"sample 0 (row 0) has different references in {a} and {d}"),
    ]
    for other, message in cases:
        assert main(["compare", str(a), str(other), "--metric", "bleu"]) == 2
        err = capsys.readouterr().err
        assert f"textgym: error: not the same samples: {message}" in err
    assert main(["compare", str(tmp_path), str(a)]) == 2
    assert "no predictions_test.jsonl (run `textgym eval" in capsys.readouterr().err
    assert main(["compare", str(a), str(a), "--metric", "bleux"]) == 2
    assert "--metric: 'bleux' is neither" in capsys.readouterr().err


def test_run_signatures_of_predictions_rows() -> None:
    from textgym.bench.compare import run_signatures

    rows = [
        {"references": ["a", "b"], "metrics": {"score": 1.0, "bleu": 1.0, "rougeL": 1.0}},
        {"references": ["c", "d"], "metrics": {"score": 1.0, "bleu": 1.0, "rougeL": 1.0}},
    ]
    signatures = run_signatures(rows, "bleu*content", keys=["eval/corpus_bleu"])
    assert signatures["eval/bleu"] == "nrefs:2|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0"
    assert signatures["eval/corpus_bleu"].startswith("nrefs:2|case:mixed|eff:no|")
    assert signatures["eval/rougeL"].startswith("nrefs:2|impl:rouge-score|variants:rougeL|")
    assert "reward:bleu*content" in signatures["eval/score"]
