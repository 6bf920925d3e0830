"""The token-id ROUGE kernel must equal the exact string path (and rouge-score) bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from textgym import metrics
from textgym.metrics.rouge_ids import (
    MAX_REFERENCE_TOKENS,
    RougeIdBatch,
    RougeTokenMap,
    rouge_ids_batch,
)
from textgym.tokenizers.embedded import WordTokenizer

VARIANTS = ("rouge1", "rouge2", "rouge3", "rougeL")

# Words that stress the per-id shortcut: stems, digits, non-ASCII letters that lowercase or
# split into several rouge tokens ("naïve" -> "na", "ve"), or into none ("éé"), Turkish
# dotted capitals (lowercase to "i" + a combining mark), closing and other punctuation.
WORDS = [
    "the", "cat", "cats", "running", "runs", "ran", "summary", "summaries", "report",
    "reported", "a", "an", "of", "in", "on", "2024", "42", "x9", "Flood", "FLOODS",
    "naïve", "café", "straße", "İstanbul", "éé", "ΣΑΣ", "über", "coöperate", "generously",
    ".", ",", "?", "!", ":", ";", "-", "(", ")", "'", "\"", "%", "$",
]  # fmt: skip
TOKENIZER = WordTokenizer(WORDS)
TOKEN_MAP = RougeTokenMap.from_tokenizer(TOKENIZER)
EXTRA_WORDS = ["zebra", "unseen", "Running", "x", "Café", "10", "naive"]  # not in the vocab

# Both implementations of the kernel: numpy calls and the compiled (numba) loops.
JIT = pytest.mark.parametrize("jit", [False, True], ids=["numpy", "numba"])

ids_strategy = st.lists(st.integers(0, TOKENIZER.vocab_size - 1), max_size=30)
reference_strategy = st.lists(st.sampled_from(WORDS + EXTRA_WORDS), max_size=25).map(
    lambda words: " ".join(words)
)
references_strategy = st.lists(reference_strategy, min_size=1, max_size=3)


def exact(ids: list[int], references: list[str], variants=VARIANTS) -> dict[str, float]:
    return metrics.rouge_scores(TOKENIZER.decode(ids), references, variants)


def test_token_map_applies_to_the_embedded_tokenizer_only() -> None:
    assert TOKEN_MAP is not None
    assert RougeTokenMap.from_tokenizer(object()) is None
    with pytest.raises(ValueError, match="starts with a letter or digit"):
        RougeTokenMap(["", "a", "b"])  # pieces without separators would fuse
    # "naïve" yields two rouge tokens, punctuation none.
    naive = TOKENIZER.token_to_id("naïve")
    assert TOKEN_MAP.id_counts[naive] == 2
    assert TOKEN_MAP.id_counts[TOKENIZER.token_to_id(".")] == 0


@JIT
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(ids_strategy, references_strategy), min_size=1, max_size=8))
def test_batch_equals_string_path(jit: bool, pairs: list[tuple[list[int], list[str]]]) -> None:
    hyps = [ids for ids, _ in pairs]
    refs = [r for _, r in pairs]
    got = rouge_ids_batch(TOKEN_MAP, hyps, refs, VARIANTS, jit=jit)
    for b, (ids, references) in enumerate(pairs):
        expected = exact(ids, references)
        for variant in VARIANTS:
            assert got[variant][b] == expected[variant], (variant, ids, references)


@settings(max_examples=60, deadline=None)
@given(ids_strategy, references_strategy)
def test_batch_equals_rouge_score(ids: list[int], references: list[str]) -> None:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    expected = scorer.score_multi(references, TOKENIZER.decode(ids))
    got = rouge_ids_batch(TOKEN_MAP, [ids], [references], ("rouge1", "rouge2", "rougeL"))
    for variant in ("rouge1", "rouge2", "rougeL"):
        assert got[variant][0] == pytest.approx(expected[variant].fmeasure, abs=1e-12)


@JIT
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(references_strategy, min_size=2, max_size=6),
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, TOKENIZER.vocab_size - 1), st.booleans()),
        max_size=80,
    ),
)
def test_incremental_state_equals_string_path(
    jit: bool, reference_sets: list[list[str]], ops: list[tuple[int, int, bool]]
) -> None:
    """Appends and resets interleaved over 4 rows; every prefix scores like its text."""
    rows = 4
    batch = RougeIdBatch(TOKEN_MAP, rows, 40, VARIANTS, capacity=len(reference_sets), jit=jit)
    assert batch.jit is jit
    for slot, references in enumerate(reference_sets):
        assert batch.store(slot, references)
    current = [slot % len(reference_sets) for slot in range(rows)]
    batch.reset(np.arange(rows), np.array(current))
    hyps: list[list[int]] = [[] for _ in range(rows)]
    for step, (row, token, restart) in enumerate(ops):
        if restart or len(hyps[row]) == 40:
            current[row] = (current[row] + step + 1) % len(reference_sets)
            batch.reset(np.array([row]), np.array([current[row]]))
            hyps[row] = []
        else:
            batch.append(np.array([row]), np.array([token]))
            hyps[row].append(token)
        got = batch.scores(np.arange(rows))
        for r in range(rows):
            expected = exact(hyps[r], reference_sets[current[r]])
            for variant in VARIANTS:
                assert got[variant][r] == expected[variant], (variant, hyps[r])


def test_references_beyond_the_lcs_word_are_refused() -> None:
    batch = RougeIdBatch(TOKEN_MAP, 1, 4, ("rougeL",), capacity=1)
    assert batch.store(0, ["cat " * MAX_REFERENCE_TOKENS])
    assert not batch.store(0, ["cat " * (MAX_REFERENCE_TOKENS + 1)])
    with pytest.raises(ValueError, match="longer than 64"):
        rouge_ids_batch(TOKEN_MAP, [[4]], [["cat " * 65]])


@JIT
def test_long_hypotheses_use_the_pairwise_rank(jit: bool) -> None:
    """Over 64 hypothesis tokens the rank falls back from bit masks to boolean arrays."""
    rng = np.random.default_rng(0)
    refs = [" ".join(rng.choice(WORDS[:20], 40).tolist())]
    ids = rng.integers(3, 23, 90).tolist()
    got = rouge_ids_batch(TOKEN_MAP, [ids], [refs], VARIANTS, jit=jit)
    expected = exact(ids, refs)
    assert {v: got[v][0] for v in VARIANTS} == expected


def test_jit_without_numba_names_the_extra(monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "numba", None)  # "import numba" now fails
    monkeypatch.delitem(sys.modules, "textgym.metrics._rouge_ids_jit", raising=False)
    monkeypatch.delattr(metrics, "_rouge_ids_jit", raising=False)  # from . import reads it
    with pytest.raises(ImportError, match=r'pip install "textgym\[fast\]"'):
        RougeIdBatch(TOKEN_MAP, 1, 4, ("rougeL",), jit=True)
    # The default falls back to the numpy code, with the same results.
    batch = RougeIdBatch(TOKEN_MAP, 1, 4, ("rougeL",))
    assert not batch.jit
    got = rouge_ids_batch(TOKEN_MAP, [[4, 5]], [["the cat"]], ("rougeL",))
    assert got["rougeL"][0] == exact([4, 5], ["the cat"], ("rougeL",))["rougeL"]
