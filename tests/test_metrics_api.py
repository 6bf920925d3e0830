"""Input validation, batched entry points, vectorised chrF path, import cost."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sacrebleu
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textgym import metrics
from textgym.metrics import _chargrams, chrf

TOL = 1e-9
HYPS = [
    "The council approved the new bike lanes on Tuesday night.",
    "Rescue teams used boats to reach villages cut off by flood water.",
    "",
    "Shares jumped 8.5% after revenue of $4.2 billion beat forecasts.",
]
REFS = [
    ["On Tuesday night the council approved a network of new bike lanes."],
    ["Rescuers reached cut-off villages by boat.", "Boats were used to reach flooded villages."],
    ["Nothing was said."],
    ["The stock rose 8.5 percent as revenue of $4.2bn topped forecasts."],
]

SINGLE = {
    "bleu": metrics.sentence_bleu,
    "chrf": metrics.sentence_chrf,
    "chrf++": lambda h, r: metrics.sentence_chrf(h, r, word_order=2),
    "ter": metrics.sentence_ter,
    "token_f1": metrics.token_f1,
    "rouge1": lambda h, r: metrics.rouge(h, r, "rouge1"),
    "rouge2": lambda h, r: metrics.rouge(h, r, "rouge2"),
    "rougeL": lambda h, r: metrics.rouge(h, r, "rougeL"),
    "rougeLsum": lambda h, r: metrics.rouge(h, r, "rougeLsum"),
}

# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

PLAIN_FUNCTIONS = [
    metrics.sentence_bleu, metrics.sentence_chrf, metrics.sentence_ter, metrics.token_f1,
    metrics.rouge, metrics.rouge_scores,
]
SCORERS = [metrics.IncrementalBLEU, metrics.IncrementalChrF, metrics.IncrementalTokenF1,
           metrics.IncrementalRouge]


@pytest.mark.parametrize("fn", PLAIN_FUNCTIONS + SCORERS)
def test_bare_string_references_rejected(fn) -> None:
    args = ("the cat", "the cat") if fn not in SCORERS else ("the cat",)
    with pytest.raises(TypeError, match=r"`references` must be a sequence of str.*bare str"):
        fn(*args)


@pytest.mark.parametrize("fn", PLAIN_FUNCTIONS + SCORERS)
def test_empty_references_rejected(fn) -> None:
    args = ("the cat", []) if fn not in SCORERS else ([],)
    with pytest.raises(ValueError, match="`references` must contain at least one"):
        fn(*args)


@pytest.mark.parametrize("fn", PLAIN_FUNCTIONS + SCORERS)
@pytest.mark.parametrize("bad", [[None], ["ok", 3], [b"bytes"]])
def test_non_string_reference_rejected(fn, bad) -> None:
    args = ("the cat", bad) if fn not in SCORERS else (bad,)
    with pytest.raises(TypeError, match=r"`references\[\d\]` must be a str"):
        fn(*args)


@pytest.mark.parametrize("fn", PLAIN_FUNCTIONS)
def test_non_string_hypothesis_rejected(fn) -> None:
    with pytest.raises(TypeError, match="`hypothesis` must be a str"):
        fn(["the", "cat"], ["the cat"])


@pytest.mark.parametrize("fn", PLAIN_FUNCTIONS[:4])
def test_references_not_a_sequence_rejected(fn) -> None:
    with pytest.raises(TypeError, match="`references` must be a sequence of str"):
        fn("the cat", 42)
    with pytest.raises(TypeError, match="`references` must be a sequence of str"):
        fn("the cat", {"the cat": 1})


def test_tuples_and_generators_accepted() -> None:
    expected = metrics.sentence_bleu(HYPS[0], REFS[0])
    assert metrics.sentence_bleu(HYPS[0], tuple(REFS[0])) == expected
    assert metrics.sentence_bleu(HYPS[0], (r for r in REFS[0])) == expected


def test_unknown_rouge_variant_lists_valid_ones() -> None:
    for call in (
        lambda: metrics.rouge("a", ["a"], "rougeX"),
        lambda: metrics.rouge("a", ["a"], "rouge0"),
        lambda: metrics.rouge_scores("a", ["a"], ("rouge1", "bleu")),
        lambda: metrics.IncrementalRouge(["a"], "rougeW"),
        lambda: metrics.rouge_batch(["a"], [["a"]], "rougel"),
    ):
        with pytest.raises(ValueError, match=r"valid variants: rouge1\.\.rouge9, rougeL, rouge"):
            call()


def test_chrf_word_order_validated() -> None:
    with pytest.raises(ValueError, match="word_order"):
        metrics.sentence_chrf("a", ["a"], word_order=-1)


def test_corpus_bleu_validation() -> None:
    with pytest.raises(ValueError, match="one reference per hypothesis"):
        metrics.corpus_bleu(["a", "b"], [["a"]])
    with pytest.raises(TypeError, match="reference_streams"):
        metrics.corpus_bleu(["a"], "a")
    with pytest.raises(ValueError, match="at least one reference stream"):
        metrics.corpus_bleu(["a"], [])
    with pytest.raises(ValueError, match="at least one hypothesis"):
        metrics.corpus_bleu([], [[]])
    with pytest.raises(TypeError, match=r"reference_streams\[0\]\[1\]"):
        metrics.corpus_bleu(["a", "b"], [["a", None]])


def test_batch_validation() -> None:
    with pytest.raises(ValueError, match="one sequence of references per hypothesis"):
        metrics.sentence_bleu_batch(["a", "b"], [["a"]])
    with pytest.raises(TypeError, match=r"`references_list\[0\]` must be a sequence of str"):
        metrics.sentence_bleu_batch(["a"], ["a"])
    with pytest.raises(TypeError, match="`hypotheses` must be a sequence of str"):
        metrics.token_f1_batch("abc", [["a"]] * 3)
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.score_batch("meteor", ["a"], [["a"]])


# ---------------------------------------------------------------------------------------------
# Batched entry points
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_score_batch_equals_single_calls(name: str) -> None:
    out = metrics.score_batch(name, HYPS, REFS)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == (len(HYPS),)
    expected = [SINGLE[name](h, r) for h, r in zip(HYPS, REFS, strict=False)]
    np.testing.assert_allclose(out, expected, rtol=0, atol=TOL)
    assert np.any(out != out[0])  # not a constant


def test_named_batch_functions() -> None:
    np.testing.assert_allclose(
        metrics.sentence_bleu_batch(HYPS, REFS),
        [sacrebleu.sentence_bleu(h, r).score for h, r in zip(HYPS, REFS, strict=False)], atol=TOL)
    np.testing.assert_allclose(
        metrics.sentence_chrf_batch(HYPS, REFS, word_order=2),
        [sacrebleu.sentence_chrf(h, r, word_order=2).score
         for h, r in zip(HYPS, REFS, strict=True)],
        atol=TOL)
    np.testing.assert_allclose(
        metrics.sentence_ter_batch(HYPS, REFS),
        [sacrebleu.sentence_ter(h, r).score for h, r in zip(HYPS, REFS, strict=False)], atol=TOL)
    np.testing.assert_allclose(
        metrics.rouge_batch(HYPS, REFS, "rouge2", stem=False),
        [metrics.rouge(h, r, "rouge2", stem=False) for h, r in zip(HYPS, REFS, strict=True)],
        atol=TOL)
    assert metrics.token_f1_batch([], []).shape == (0,)


def test_batch_results_do_not_depend_on_cache_state() -> None:
    first = metrics.score_batch("rougeL", HYPS, REFS)
    metrics.clear_caches()
    np.testing.assert_array_equal(metrics.score_batch("rougeL", HYPS, REFS), first)


# ---------------------------------------------------------------------------------------------
# Vectorised chrF path (long texts) and its pure-Python fallback
# ---------------------------------------------------------------------------------------------

TEXT = st.text(
    alphabet=st.sampled_from(list("abcde .,-'\"\n\t1990") + ["é", "日", "本", "😀", "Σ"]),
    max_size=120,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, st.lists(TEXT, min_size=1, max_size=3), st.sampled_from([0, 2]))
def test_vectorised_chrf_matches_sacrebleu(hyp: str, refs: list[str], word_order: int) -> None:
    expected = sacrebleu.sentence_chrf(hyp, refs, word_order=word_order).score
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(chrf, "VECTORISE_MIN_CHARS", 0)
        chrf.chrf_ref.cache_clear()
        vectorised = metrics.sentence_chrf(hyp, refs, word_order)
    chrf.chrf_ref.cache_clear()
    assert vectorised == pytest.approx(expected, abs=TOL)


def test_chrf_falls_back_when_character_ids_run_out() -> None:
    hyp = "Ꙩ Ꙫ ꙮ strange glyphs in a long enough sentence to vectorise " * 2
    refs = ["ꙮ glyphs in a sentence that is also long enough to vectorise ok"]
    expected = sacrebleu.sentence_chrf(hyp, refs).score
    metrics.clear_caches()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_chargrams, "_CAPACITY", len(_chargrams._ids))
        assert _chargrams.gram_counts(hyp) is None
        assert metrics.sentence_chrf(hyp, refs) == pytest.approx(expected, abs=TOL)
    metrics.clear_caches()


# ---------------------------------------------------------------------------------------------
# Import cost
# ---------------------------------------------------------------------------------------------


def _fresh_python(code: str) -> list[str]:
    """The output lines of ``code`` run by a new interpreter that imports this checkout."""
    root = Path(metrics.__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(root), "PATH": ""},
    ).stdout.split("\n")


def test_import_is_light() -> None:
    # Measured relative to the parent package, whose own imports are not ours to police.
    code = (
        "import sys, textgym\n"
        "before = set(sys.modules)\n"
        "import textgym.metrics as m\n"
        "roots = {k.split('.')[0] for k in set(sys.modules) - before}\n"
        "heavy = roots & {'nltk', 'sacrebleu', 'rouge_score', 'numpy', 'torch'}\n"
        "print(','.join(sorted(heavy)))\n"
        "m.rouge('running fast', ['he runs'], 'rouge1')\n"
        "print('nltk' in sys.modules, 'numba' in sys.modules)\n"
        "import importlib, importlib.util\n"
        "if importlib.util.find_spec('numba'):\n"
        "    import numba\n"
        "    r = importlib.import_module('textgym.metrics.rouge')\n"
        "    m.rouge('running fast', ['he runs'], 'rouge1')\n"
        "    print(r._JIT.get() is not None)\n"
    )
    out = _fresh_python(code)
    assert out[0] == ""  # nothing heavy at import time
    # Stemming is textgym's own (equal to NLTK's stemmer, tests/test_porter.py): a stemmed
    # call does not import nltk either, nor numba for the compiled routes (a few calls do not
    # pay for its import) ...
    assert out[1] == "False False"
    # ... which a call uses once numba is in the process anyway.
    if importlib.util.find_spec("numba") is not None:
        assert out[2] == "True"


def test_compiled_routes_wait_until_their_import_pays() -> None:
    # In the default mode a string-path metric's compiled loops are imported only once numba
    # is in the process anyway or enough work has run in Python (tested here without numba
    # loaded: a fresh interpreter); forcing either way decides at once.
    pytest.importorskip("numba")
    code = (
        "import sys\n"
        "from textgym.metrics._jit import AutoJit\n"
        "auto = AutoJit('_text_jit', 'test', after=5)\n"
        "got = [auto.get(2) is None for _ in range(3)]\n"  # 2, 4 units in Python; 6 > 5
        "print(got, 'numba' in sys.modules)\n"
        "forced = AutoJit('_text_jit', 'test', after=10**9)\n"
        "forced.use(False)\n"
        "print(forced.get() is None)\n"
    )
    out = _fresh_python(code)
    assert out[0] == "[True, True, False] True"
    assert out[1] == "True"


def test_rouge_reference_cache_stays_bounded() -> None:
    rouge_module = importlib.import_module("textgym.metrics.rouge")
    cache = rouge_module.RefCache(4)
    refs = [cache(f"reference number {i}", True) for i in range(9)]
    assert len(cache._data) <= 4
    # The newest entry survives eviction; an evicted one is rebuilt equal.
    assert cache.get("reference number 8", True) is refs[-1]
    assert cache("reference number 0", True).tokens == refs[0].tokens
