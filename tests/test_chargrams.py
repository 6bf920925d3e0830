"""chrF's character n-gram arrays: the compiled loops equal the numpy code exactly."""

from __future__ import annotations

import numpy as np
import pytest
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st

from textgym import metrics
from textgym.metrics import _chargrams

pytest.importorskip("numba")


def both(text: str) -> tuple[_chargrams.GramCounts, _chargrams.GramCounts]:
    _chargrams.use_jit(False)
    try:
        slow = _chargrams.gram_counts(text)
    finally:
        _chargrams.use_jit(True)
    fast = _chargrams.gram_counts(text)
    assert slow is not None and fast is not None
    return slow, fast


# Few distinct characters make repeated n-grams (counts above 1) and shared ones common.
TEXT = st.text(alphabet="abcé€𝔸", max_size=40)


@settings(max_examples=300, deadline=None)
@given(hyp=TEXT, ref=TEXT)
def test_compiled_arrays_and_matches_equal_the_numpy_code(hyp: str, ref: str) -> None:
    (h_slow, h_fast), (r_slow, r_fast) = both(hyp), both(ref)
    for name in ("ids", "counts", "starts"):
        np.testing.assert_array_equal(getattr(h_fast, name), getattr(h_slow, name), err_msg=name)
    assert h_fast.n_distinct == h_slow.n_distinct
    assert h_fast.matches(r_fast) == h_slow.matches(r_slow)
    assert r_fast.matches(h_fast) == r_slow.matches(h_slow)


@pytest.mark.parametrize("jit", [True, False])
def test_sentence_chrf_equals_sacrebleu_on_either_path(jit: bool) -> None:
    _chargrams.use_jit(jit)
    try:
        metrics.clear_caches()
        hyp = "The cat sat on the mat, and the dog lay by the door of the old house."
        refs = ["A cat was sitting on the mat while a dog lay near the door.", "The cat sat."]
        for word_order in (0, 2):
            ours = metrics.sentence_chrf(hyp, refs, word_order=word_order)
            theirs = sacrebleu.sentence_chrf(hyp, refs, word_order=word_order).score
            assert ours == theirs
    finally:
        _chargrams.use_jit(None)
        metrics.clear_caches()


# Whitespace of several kinds too: chrF removes it before counting.
SPACED = st.text(alphabet="abcé€𝔸 \t\n", max_size=50)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(SPACED, st.integers(0, 2)), max_size=8),
    st.lists(st.lists(SPACED, min_size=1, max_size=3), min_size=3, max_size=3),
)
def test_compiled_chrf_batch_equals_each_pair_and_sacrebleu(
    pairs: list[tuple[str, int]], sets: list[list[str]]
) -> None:
    """sentence_chrf_batch's compiled route (every pair in one call, a reference set shared by
    several pairs counted once) equals sentence_chrf per pair to the last bit, and sacrebleu."""
    hyps = [hyp for hyp, _ in pairs]
    refs = [sets[k] for _, k in pairs]
    metrics.clear_caches()
    got = metrics.sentence_chrf_batch(hyps, refs).tolist()
    assert got == [metrics.sentence_chrf(h, r) for h, r in zip(hyps, refs, strict=True)]
    expected = [sacrebleu.sentence_chrf(h, r).score for h, r in zip(hyps, refs, strict=True)]
    assert got == pytest.approx(expected, abs=1e-9)


def test_compiled_chrf_batch_is_the_route_taken_and_falls_back(monkeypatch) -> None:
    hyps = ["the cat sat on the mat.", "", "a dog ran"]
    refs = [["the cat is on the mat.", "a cat sat"], ["a"], ["the dog ran away", "dog"]]
    expected = [metrics.sentence_chrf(h, r) for h, r in zip(hyps, refs, strict=True)]
    calls: list[int] = []
    real = _chargrams.chrf_matches_many

    def counted(*args):  # noqa: ANN002, ANN202
        calls.append(1)
        return real(*args)

    monkeypatch.setattr("textgym.metrics.batch.chrf_matches_many", counted)
    assert metrics.sentence_chrf_batch(hyps, refs).tolist() == expected
    assert calls == [1]
    # chrF++ counts word n-grams: the per-pair route.
    plus = metrics.sentence_chrf_batch(hyps, refs, word_order=2).tolist()
    assert calls == [1]
    assert plus == [metrics.sentence_chrf(h, r, 2) for h, r in zip(hyps, refs, strict=True)]
    # No compiled loops, or a text the character ids cannot encode: the per-pair route.
    _chargrams.use_jit(False)
    try:
        assert real(["ab"], ["ab"], [[0]]) is None
        assert metrics.sentence_chrf_batch(hyps, refs).tolist() == expected
    finally:
        _chargrams.use_jit(None)
    monkeypatch.setattr(_chargrams, "encode", lambda chars: None)
    assert real(["ab"], ["ab"], [[0]]) is None
    assert metrics.sentence_chrf_batch(hyps, refs).tolist() == expected
