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
