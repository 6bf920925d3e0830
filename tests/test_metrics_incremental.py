"""Incremental scorers must return exactly the plain function's score for ANY text sequence."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textgym import metrics
from textgym.metrics._stream import TokenStream
from textgym.metrics._tokenize import SAFE_CUT_13A, tokenize_13a, tokenize_13a_chunk

TOL = 1e-9

PIECES = [
    "the", " the", " cat", "cat", "s", " sat", "ran", " running", "a", " an", "ca", "t",
    ".", ",", "...", " .", ", ", "-", " -", "'", "'s", "\"", "(", ")", "&", ";", "!",
    "1", ",000", ".5", "3", "-", " 2", "&quot", ";", "&amp;", "&lt;", "<", "skipped", ">",
    "<skipped>", "-\n", "\n", "\t", " ", "  ", "\u00a0", "日本", "語", "é", "e", "\u0301",
    "Σ", "ΑΣ", "😀", "İ", "\x1c",
]

REFS = [
    "The cat sat on the mat, 1,000.5 times.",
    "A cat was sitting on a mat - &quot;running&quot; (fast) since 2021.",
    "日本語 texts and naïve cafés.\nSecond line of the cat.",
]

PLAIN = {
    "bleu": lambda h, r: metrics.sentence_bleu(h, r),
    "chrf": lambda h, r: metrics.sentence_chrf(h, r),
    "chrf++": lambda h, r: metrics.sentence_chrf(h, r, word_order=2),
    "token_f1": lambda h, r: metrics.token_f1(h, r),
    "rouge1": lambda h, r: metrics.rouge(h, r, "rouge1"),
    "rouge2": lambda h, r: metrics.rouge(h, r, "rouge2"),
    "rougeL": lambda h, r: metrics.rouge(h, r, "rougeL"),
    "rougeLsum": lambda h, r: metrics.rouge(h, r, "rougeLsum"),
}

# Edits applied to the running text: mostly appends (the dense-reward case), plus truncation,
# in-place edits and complete replacement to exercise the rollback paths.
EDIT = st.one_of(
    st.tuples(st.just("append"), st.sampled_from(PIECES)),
    st.tuples(st.just("append"), st.sampled_from(PIECES)),
    st.tuples(st.just("append"), st.text(alphabet=string.printable, max_size=3)),
    st.tuples(st.just("truncate"), st.integers(0, 8)),
    st.tuples(st.just("edit"), st.text(max_size=3)),
    st.tuples(st.just("replace"), st.text(max_size=12)),
)


def apply_edit(text: str, edit: tuple) -> str:
    kind, arg = edit
    if kind == "append":
        return text + arg
    if kind == "truncate":
        return text[: max(0, len(text) - arg)]
    if kind == "edit":
        cut = len(text) // 2
        return text[:cut] + arg + text[cut + 1 :]
    return arg


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(PLAIN)),
    st.lists(st.sampled_from(REFS), min_size=1, max_size=3),
    st.lists(EDIT, max_size=40),
)
def test_incremental_equals_plain_on_any_sequence(name: str, refs: list[str], edits) -> None:
    scorer = metrics.incremental(name, refs)
    assert scorer.score == pytest.approx(PLAIN[name]("", refs), abs=TOL)
    text = ""
    for edit in edits:
        text = apply_edit(text, edit)
        assert scorer.update(text) == pytest.approx(PLAIN[name](text, refs), abs=TOL), repr(text)
    assert scorer.score == pytest.approx(PLAIN[name](text, refs), abs=TOL)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_13a_stream_tokens_equal_full_tokenisation(pieces: list[str]) -> None:
    # The safe-cut rule is what makes incremental BLEU exact: tokens before a cut never change.
    stream = TokenStream(SAFE_CUT_13A, tokenize_13a_chunk, tokenize_13a)
    tokens: list[str] = []
    text = ""
    for piece in pieces:
        text += piece
        keep, suffix = stream.update(text)
        tokens = tokens[:keep] + suffix
        assert tokens == tokenize_13a(text)


NEWS_HYP = (
    "The central bank raised its benchmark interest rate by 0.25 percentage points on "
    "Wednesday, citing persistent inflation in housing and services; officials said further "
    "increases were \"not off the table\" if prices kept rising in 2024."
)
NEWS_REFS = [
    "On Wednesday the central bank lifted its key rate by a quarter of a percentage point, "
    "pointing to stubborn inflation in services and housing.",
    "The central bank increased its main interest rate by 0.25 points on Wednesday because "
    "inflation in housing and services has not eased.",
]


def word_pieces(text: str) -> list[str]:
    """Split text like a subword tokenizer would: words with their leading space, some halved."""
    pieces = []
    for i, word in enumerate(text.split(" ")):
        word = word if i == 0 else " " + word
        if len(word) > 6:
            pieces += [word[:4], word[4:]]
        else:
            pieces.append(word)
    return pieces


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_dense_episode_on_real_text(name: str) -> None:
    scorer = metrics.incremental(name, NEWS_REFS)
    text = ""
    rewards = []
    for piece in word_pieces(NEWS_HYP):
        text += piece
        rewards.append(scorer.update(text))
        assert rewards[-1] == pytest.approx(PLAIN[name](text, NEWS_REFS), abs=TOL)
    assert text == NEWS_HYP
    assert max(rewards) > 0  # the episode actually earned something


@pytest.mark.parametrize(
    "texts",
    [
        # Truncating exactly at a committed cut must drop that cut: "x -\n " ends the segment
        # now, so its "-\n" is stripped as trailing whitespace instead of joining lines.
        ["x -\n b", "x -\n "],
        ["a. b", "a. ", "a. .5", "a.", "a. b"],
        ["the <skipped>cat ", "the <skipped>", "the <skipped>.x"],
        ["5 -\n3 ", "5 -", "5 -\n3 4"],
    ],
)
def test_bleu_rollback_regressions(texts: list[str]) -> None:
    refs = ["x - b", "a . .5 b", "the cat . x", "5 - 3 4"]
    scorer = metrics.IncrementalBLEU(refs)
    for text in texts:
        assert scorer.update(text) == pytest.approx(metrics.sentence_bleu(text, refs), abs=TOL)


def test_reset_and_reuse() -> None:
    scorer = metrics.IncrementalBLEU(NEWS_REFS)
    first = [scorer.update(NEWS_HYP[:k]) for k in range(0, len(NEWS_HYP), 7)]
    scorer.reset()
    assert scorer.score == 0.0
    second = [scorer.update(NEWS_HYP[:k]) for k in range(0, len(NEWS_HYP), 7)]
    assert first == second


def test_classes_and_factory_agree() -> None:
    pairs = [
        (metrics.IncrementalChrF(NEWS_REFS, word_order=2),
         metrics.incremental("chrf++", NEWS_REFS)),
        (metrics.IncrementalRouge(NEWS_REFS, "rouge2", stem=False),
         metrics.incremental("rouge2", NEWS_REFS, stem=False)),
        (metrics.IncrementalTokenF1(NEWS_REFS), metrics.incremental("f1", NEWS_REFS)),
    ]
    for a, b in pairs:
        assert a.update(NEWS_HYP) == b.update(NEWS_HYP)
    assert metrics.IncrementalRouge(NEWS_REFS, "rouge2", stem=False).update(NEWS_HYP) == (
        pytest.approx(metrics.rouge(NEWS_HYP, NEWS_REFS, "rouge2", stem=False), abs=TOL))


def test_ter_factory_rescores_exactly() -> None:
    scorer = metrics.incremental("ter", NEWS_REFS)
    assert scorer.score == metrics.sentence_ter("", NEWS_REFS)
    text = ""
    for piece in word_pieces(NEWS_HYP)[:12]:
        text += piece
        assert scorer.update(text) == pytest.approx(metrics.sentence_ter(text, NEWS_REFS), abs=TOL)


def test_factory_rejects_unknown_metric() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.incremental("meteor", NEWS_REFS)
    with pytest.raises(ValueError, match="rougeLsum"):
        metrics.incremental("rougeX", NEWS_REFS)


def test_update_rejects_non_string() -> None:
    scorer = metrics.IncrementalBLEU(NEWS_REFS)
    with pytest.raises(TypeError, match="text"):
        scorer.update(["not", "a", "string"])  # type: ignore[arg-type]
