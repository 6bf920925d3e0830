"""The reward adapters: reference-library values rescaled to [0, 1], trackers equal to scores."""

from __future__ import annotations

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from textgym.rewards.scorers import METRIC_NAMES, MetricScorer, WeightedScorer, make_scorer

HYP = "the quick brown foxes were jumping over two lazy dogs in the park."
REFS = [
    "the quick brown fox jumped over the lazy dog in the park.",
    "a fast brown fox leaps over lazy dogs.",
]


def oracle(name: str, hyp: str, refs: list[str]) -> float:
    if name == "bleu":
        return sacrebleu.sentence_bleu(hyp, refs).score / 100
    if name in ("chrf", "chrf++"):
        return (
            sacrebleu.sentence_chrf(hyp, refs, word_order=2 if name == "chrf++" else 0).score / 100
        )
    if name.startswith("rouge"):
        scorer = rouge_scorer.RougeScorer([name], use_stemmer=True)
        return scorer.score_multi(refs, hyp)[name].fmeasure
    raise KeyError(name)


@pytest.mark.parametrize("name", [n for n in METRIC_NAMES if n != "f1"])
def test_metric_scorers_equal_the_reference_libraries(name: str) -> None:
    scorer = MetricScorer(name)
    assert scorer.score(HYP, REFS) == pytest.approx(oracle(name, HYP, REFS), abs=1e-9)
    assert 0 < scorer.score(HYP, REFS) < 1


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_trackers_follow_a_growing_text_with_the_same_values(name: str) -> None:
    scorer = MetricScorer(name)
    tracker = scorer.start(REFS)
    words = HYP.split(" ")
    for i in range(len(words) + 1):
        prefix = " ".join(words[:i])
        assert tracker.update(prefix) == pytest.approx(scorer.score(prefix, REFS), abs=1e-9)


def test_weighted_and_callable_scorers() -> None:
    mix = make_scorer({"bleu": 0.5, "f1": 0.5})
    assert isinstance(mix, WeightedScorer)
    expected = 0.5 * MetricScorer("bleu").score(HYP, REFS) + 0.5 * MetricScorer("f1").score(
        HYP, REFS
    )
    assert mix.score(HYP, REFS) == pytest.approx(expected, abs=1e-12)
    tracker = mix.start(REFS)
    assert tracker.update(HYP) == pytest.approx(expected, abs=1e-9)

    calls = []
    custom = make_scorer(lambda text, refs: calls.append(text) or 0.25)
    tracker = custom.start(REFS)
    assert tracker.update("a") == tracker.update("a") == 0.25
    assert calls == ["a"]  # unchanged text is not rescored
    with pytest.raises(TypeError, match="reward: expected a metric name"):
        make_scorer(3)
