"""Content-word ROUGE-L and the content-gated rewards of the v1 ids."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from hypothesis import given, settings
from hypothesis import strategies as st

import textgym  # noqa: F401
from textgym import metrics
from textgym.metrics.content import (
    ENGLISH_FUNCTION_WORDS,
    content_rouge_l,
    content_tokens,
    lcs_length,
    normalise_template_words,
)
from textgym.rewards.content import ContentScorer, ProductScorer
from textgym.rewards.scorers import make_scorer

TEMPLATE = normalise_template_words(["your", "is", "called", "."])


def test_content_tokens_drop_template_words_and_punctuation() -> None:
    assert content_tokens("Your sister is called Bob.", TEMPLATE) == ["sister", "bob"]
    assert normalise_template_words(["don't", "Well-known"]) == {"don", "t", "well", "known"}


def test_content_rouge_l_by_hand() -> None:
    ref = ["your sister is called bob ."]
    assert content_rouge_l("your sister is called bob .", ref, TEMPLATE) == 1.0
    # Wrong name: LCS 1 of 2 content tokens on both sides.
    assert content_rouge_l("your sister is called tom .", ref, TEMPLATE) == 0.5
    # Right words, wrong order: LCS 1, P = R = 1/2.
    assert content_rouge_l("bob is called your sister", ref, TEMPLATE) == 0.5
    # Extra content lowers precision: LCS 2, P = 2/3, R = 1, F = 0.8.
    assert math.isclose(content_rouge_l("sister bob cat", ref, TEMPLATE), 0.8)
    assert content_rouge_l("", ref, TEMPLATE) == 0.0
    assert content_rouge_l("your is called", ref, TEMPLATE) == 0.0
    # A reference with no content imposes nothing.
    assert content_rouge_l("anything at all", ["your is called ."], TEMPLATE) == 1.0
    # Several references: the best one.
    assert content_rouge_l("tom", ["bob", "tom"], TEMPLATE) == 1.0


def test_content_rouge_l_rejects_bad_input() -> None:
    with pytest.raises(TypeError):
        content_rouge_l(3, ["a"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        content_rouge_l("a", [])


def test_english_function_words_keep_numbers_and_names() -> None:
    assert {"the", "is", "of", "and"} <= ENGLISH_FUNCTION_WORDS
    assert not {"0", "1", "2024", "paris", "bob"} & ENGLISH_FUNCTION_WORDS


words = st.lists(st.sampled_from(["a", "b", "c", "d", "your", "is", "e", "."]), max_size=12)


@settings(max_examples=200, deadline=None)
@given(words, words)
def test_lcs_length_properties(a: list[str], b: list[str]) -> None:
    n = lcs_length(a, b)
    assert n == lcs_length(b, a)
    assert 0 <= n <= min(len(a), len(b))
    assert lcs_length(a, a) == len(a)


def _table_lcs(a: list[str], b: list[str]) -> int:
    """The textbook dynamic programme: the oracle of the bit-parallel lcs_length."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = (
                table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
            )
    return table[-1][-1]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from("abcde"), max_size=80), st.lists(st.sampled_from("abcde"), max_size=80)
)
def test_lcs_length_equals_the_table(a: list[str], b: list[str]) -> None:
    assert lcs_length(a, b) == _table_lcs(a, b)


# A dense episode's texts: each one the last with a piece appended (a word, a word's
# continuation, a template word), or at times something else altogether.
edits = st.lists(
    st.one_of(
        st.tuples(
            st.just("append"), st.sampled_from([" bob", " sister", " is", " cat", "s", "ter", "."])
        ),
        st.tuples(st.just("replace"), st.sampled_from(["", "bob", "tom sister", "your is"])),
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(
    edits,
    st.lists(
        st.sampled_from(["bob sister cat", "your sister is called bob .", "", "cat cat bob"]),
        min_size=1,
        max_size=3,
    ),
)
def test_content_tracker_equals_the_metric_on_every_text(
    steps: list[tuple[str, str]], refs: list[str]
) -> None:
    tracker = ContentScorer(TEMPLATE).start(refs)
    text = ""
    assert tracker.update(text) == content_rouge_l(text, refs, TEMPLATE)
    for kind, piece in steps:
        text = text + piece if kind == "append" else piece
        assert tracker.update(text) == content_rouge_l(text, refs, TEMPLATE), text


@settings(max_examples=200, deadline=None)
@given(words, words)
def test_score_is_in_unit_interval_and_the_reference_is_best(h: list[str], r: list[str]) -> None:
    hyp, ref = " ".join(h), " ".join(r)
    value = content_rouge_l(hyp, [ref], TEMPLATE)
    assert 0.0 <= value <= 1.0
    assert content_rouge_l(ref, [ref], TEMPLATE) == 1.0


@settings(max_examples=100, deadline=None)
@given(words, words, st.sampled_from(["bleu", "rougeL", "chrf", "f1"]))
def test_product_tracker_equals_product_score_on_every_prefix(
    h: list[str], r: list[str], base: str
) -> None:
    ref = " ".join(r) or "x"
    scorer = make_scorer(f"{base}*content", template_words=TEMPLATE)
    assert isinstance(scorer, ProductScorer)
    tracker = scorer.start([ref])
    for k in range(len(h) + 1):
        text = " ".join(h[:k])
        expected = scorer.score(text, [ref])
        assert tracker.update(text) == expected
        assert expected == pytest.approx(
            make_scorer(base).score(text, [ref]) * ContentScorer(TEMPLATE).score(text, [ref]),
            abs=1e-12,
        )


def test_product_spec_errors_are_specific() -> None:
    with pytest.raises(ValueError, match="empty factor"):
        make_scorer("bleu*")
    with pytest.raises(ValueError, match="unknown metric 'blue'"):
        make_scorer("blue*content")
    assert make_scorer("bleu*content").name == "bleu*content"


@pytest.mark.parametrize("env_id", ["TextTrans-Easy-v1", "TextSumm-Easy-v1", "TextDial-Easy-v1"])
def test_v1_reward_is_the_product_reported_in_info(env_id: str) -> None:
    env = gym.make(env_id)
    base = env.unwrapped
    for sample_id in range(5):
        env.reset(seed=0, options={"sample_id": sample_id})
        done, total = False, 0.0
        rng = np.random.default_rng(sample_id)
        steps = 0
        while not done:
            # Half reference, then random tokens: a partly right text.
            if steps < 4:
                action = base.reference_action()
            else:
                action = int(rng.integers(base.action_space.n))
            _, reward, terminated, truncated, info = env.step(action)
            total += reward
            done = terminated or truncated
            steps += 1
        m = info["metrics"]
        first = base.scorer.name.split("*")[0]
        assert m["score"] == total
        assert m["score"] == m[first] * m["content"]
        assert m["score"] == base.scorer.score(info["generated"], info["references"])


@pytest.mark.parametrize("env_id", ["TextSumm-Easy-v1", "TextDial-v1"])
def test_v1_dense_rewards_sum_to_terminal_score(env_id: str) -> None:
    dense, terminal = gym.make(env_id, reward_mode="dense"), gym.make(env_id)
    for env in (dense, terminal):
        env.action_space.seed(1)
    for episode in range(6):
        totals = []
        for env in (dense, terminal):
            env.reset(seed=episode)
            env.action_space.seed(episode)
            done, total, steps = False, 0.0, 0
            while not done:
                a = env.unwrapped.reference_action() if steps < 5 else env.action_space.sample()
                _, r, term, trunc, info = env.step(a)
                total += r
                steps += 1
                done = term or trunc
            totals.append((total, info["metrics"]["score"]))
        assert totals[0][0] == pytest.approx(totals[1][1], abs=1e-9)
        assert totals[0][1] == pytest.approx(totals[1][1], abs=1e-9)


@pytest.mark.parametrize("mode", ["terminal", "dense"])
def test_native_vector_env_equals_sync_on_v1(mode: str) -> None:
    n = 4
    native = gym.make_vec("TextDial-Easy-v1", num_envs=n, reward_mode=mode)
    sync = gym.make_vec("TextDial-Easy-v1", num_envs=n, vectorization_mode="sync", reward_mode=mode)
    obs_a, info_a = native.reset(seed=3)
    obs_b, info_b = sync.reset(seed=3)
    assert data_equivalence(obs_a, obs_b, exact=True)
    rng = np.random.default_rng(0)
    for _ in range(40):
        actions = rng.integers(native.single_action_space.n, size=n)
        a = native.step(actions)
        b = sync.step(actions)
        assert data_equivalence(a[:4], b[:4], exact=True)
        assert data_equivalence(a[4], b[4], exact=True)


def test_loaded_data_uses_english_function_words() -> None:
    data = [{"source": "x", "references": ["The cat sat on the mat."]}]
    env = gym.make("TextSumm-v1", data=data)
    assert env.unwrapped.template_words == ENGLISH_FUNCTION_WORDS
    scorer = env.unwrapped.scorer
    assert scorer.score("The cat sat on the mat.", data[0]["references"]) == 1.0
    assert scorer.score("the on the of", data[0]["references"]) == 0.0
    assert metrics.rouge("the on the of", data[0]["references"], variant="rougeL") > 0


def _content_batch(env_id: str, rows: int = 8):  # type: ignore[no-untyped-def]
    from textgym.metrics.content_ids import ContentIdBatch

    base = gym.make(env_id).unwrapped
    batch = ContentIdBatch.from_tokenizer(base.tokenizer, base.template_words, rows, capacity=4)
    assert batch is not None
    return base, batch


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_content_id_kernel_equals_the_string_metric(data: st.DataObject) -> None:
    env_id = data.draw(st.sampled_from(["TextSumm-Easy-v1", "TextTrans-v1", "TextDial-Easy-v1"]))
    base, batch = _content_batch(env_id, rows=3)
    samples = [base.dataset[data.draw(st.integers(0, 200))] for _ in range(3)]
    for slot, sample in enumerate(samples):
        assert batch.store(slot, sample.references)
    rows = np.arange(3)
    batch.reset(rows, np.arange(3))
    vocab = base.action_space.n
    # Hypotheses made of reference words (so that matches happen) and random ids.
    ref_ids = [base.tokenizer.encode(s.references[0]) for s in samples]
    length = data.draw(st.integers(0, 25))
    hyps: list[list[int]] = [[] for _ in rows]
    for _ in range(length):
        ids = np.array(
            [
                data.draw(st.sampled_from(ref_ids[r] + [int(data.draw(st.integers(0, vocab - 1)))]))
                for r in rows
            ]
        )
        batch.append(rows, ids)
        for r in rows:
            hyps[r].append(int(ids[r]))
        got = batch.scores(rows)["content"]
        for r in rows:
            text = base.tokenizer.decode(hyps[r])
            expected = content_rouge_l(text, samples[r].references, base.template_words)
            assert got[r] == expected, (text, samples[r].references)
