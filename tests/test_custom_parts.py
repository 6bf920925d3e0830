"""User-supplied data, rewards and tokenizers plug into the same MDP."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import textgym  # noqa: F401
from textgym.data import Sample
from textgym.tokenizers.embedded import WordTokenizer, detokenize, split_tokens

DATA = [
    {"source": "the cat sat on the mat.", "references": ["a cat was on the mat.", "cat on mat."]},
    {"id": "b", "source": "dogs bark at night, loudly!", "reference": "dogs bark."},
]


def length_ratio(text: str, references: list[str]) -> float:
    """A custom reward: how close the length is to the first reference's, in [0, 1]."""
    n, m = len(text.split()), len(references[0].split())
    return min(n, m) / max(n, m, 1)


def follow_reference(env: gym.Env) -> tuple[float, dict]:
    total, done, info = 0.0, False, {}
    while not done:
        _, r, done, _, info = env.step(env.unwrapped.reference_action())
        total += r
    return total, info


def test_list_of_dicts_with_fitted_tokenizer_reaches_the_ceiling() -> None:
    env = gym.make("TextTrans-v0", data=DATA, reward="chrf")
    for sample_id in range(2):
        env.reset(options={"sample_id": sample_id})
        total, info = follow_reference(env)
        assert total == pytest.approx(1.0, abs=1e-9)
    assert info["sample_id"] == "b"
    # Data given as dicts keeps the spec a full JSON config dump.
    assert '"reward": "chrf"' in env.spec.to_json()


def test_samples_and_module_function_reward() -> None:
    samples = [Sample("x", "one two three", ("one two",))]
    env = gym.make("TextSumm-v0", data=samples, reward="test_custom_parts:length_ratio")
    env.reset(seed=0)
    one = env.unwrapped.tokenizer.encode("one")[0]
    env.step(one)
    _, reward, terminated, _, info = env.step(env.unwrapped.tokenizer.eos_id)
    assert terminated and reward == 0.5
    assert info["metrics"]["score"] == 0.5
    assert {"rouge1", "rouge2", "rougeL"} <= set(info["metrics"])


def test_weighted_reward_is_the_weighted_sum_of_metrics() -> None:
    env = gym.make("TextDial-v0", reward={"bleu": 0.25, "f1": 0.75})
    env.reset(seed=4)
    env.action_space.seed(0)
    # Half the reference, then stop: partial credit on both metrics.
    target = env.unwrapped.tokenizer.encode(env.unwrapped.sample.references[0])
    for token in target[: len(target) // 2 + 1]:
        env.step(token)
    _, reward, _, _, info = env.step(env.unwrapped.tokenizer.eos_id)
    m = info["metrics"]
    assert 0 < reward < 1
    assert reward == pytest.approx(0.25 * m["bleu"] + 0.75 * m["f1"], abs=1e-12)


def test_prompt_truncation_keeps_the_configured_side() -> None:
    data = [{"source": "w1 w2 w3 w4 w5 w6", "reference": "w1"}]
    for side, kept in (("right", "summarize: w1 w2"), ("left", "summarize: w5 w6")):
        env = gym.make("TextSumm-v0", data=data, max_prompt_len=4, truncation_side=side)
        obs, info = env.reset(seed=0)
        assert info["prompt_truncated"] is True
        assert env.unwrapped.tokenizer.decode(obs["prompt_ids"].tolist()) == kept
        assert obs["prompt_mask"].tolist() == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="max_prompt_len: 2 leaves no room for the source"):
        gym.make("TextSumm-v0", data=data, max_prompt_len=2)


def test_defaults_fit_the_longest_prompt_and_reference() -> None:
    env = gym.make("TextTrans-v0", data=DATA)
    tok = env.unwrapped.tokenizer
    assert env.unwrapped.max_prompt_len == len(tok.encode("translate: " + DATA[1]["source"]))
    assert env.unwrapped.max_new_tokens == len(tok.encode(DATA[0]["references"][0])) + 1
    _, info = env.reset(options={"sample_id": 1})
    assert info["prompt_truncated"] is False


word = st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)
token = st.one_of(word, st.sampled_from(list(".,?!:;")))


@given(st.lists(token, max_size=30))
def test_detokenize_then_split_is_the_identity_on_token_lists(tokens: list[str]) -> None:
    # Adjacent words would merge ("ab" "c" -> "ab c" is fine, but punctuation-free runs are
    # separated by spaces), so the round trip holds for any token list.
    assert split_tokens(detokenize(tokens)) == tokens


@given(st.lists(token, min_size=1, max_size=30))
def test_word_tokenizer_round_trips_its_vocabulary(tokens: list[str]) -> None:
    tok = WordTokenizer(dict.fromkeys(tokens))
    text = detokenize(tokens)
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert tok.unk_id not in ids
    assert all(0 <= i < tok.vocab_size for i in ids)


@given(
    st.lists(token, min_size=1, max_size=12, unique=True),
    st.lists(st.lists(st.integers(0, 14), max_size=9), min_size=1, max_size=6),
    st.integers(0, 4),
)
def test_decode_rows_equals_decode_of_each_row(
    words: list[str], rows: list[list[int]], pad: int
) -> None:
    tok = WordTokenizer(words)
    rows = [[i % tok.vocab_size for i in row] for row in rows]
    width = max(map(len, rows)) + pad
    filler = [tok.pad_id, tok.eos_id]
    array = np.array(
        [row + [filler[k % 2] for k in range(width - len(row))] for row in rows], dtype=np.int32
    )
    # PAD and EOS decode to nothing, so padded rows decode like the rows themselves.
    assert tok.decode_rows(array) == [tok.decode(row) for row in rows]


def test_decode_rows_rejects_bad_input() -> None:
    tok = WordTokenizer(["a", "."])
    assert tok.decode_rows(np.array([[3, 4, 3], [0, 3, 1]])) == ["a. a", "a"]
    assert tok.decode_rows(np.zeros((2, 0), dtype=np.int64)) == ["", ""]
    with pytest.raises(ValueError, match=r"ids: expected a 2-D integer array, got shape \(3,\)"):
        tok.decode_rows(np.array([3, 4, 3]))
    with pytest.raises(ValueError, match="expected a 2-D integer array.*float64"):
        tok.decode_rows(np.array([[3.0]]))
    with pytest.raises(ValueError, match=r"ids: 7 is not a token id in \[0, 5\)"):
        tok.decode_rows(np.array([[3, 7]]))
    with pytest.raises(ValueError, match=r"ids: -2 is not a token id"):
        tok.decode_rows(np.array([[-2, 3]]))


def test_word_tokenizer_rejects_bad_vocabularies() -> None:
    with pytest.raises(ValueError, match=r"words: token 'a' appears more than once"):
        WordTokenizer(["a", "b", "a"])
    with pytest.raises(ValueError, match=r"words: 'two words' is not a single word"):
        WordTokenizer(["two words"])
    with pytest.raises(ValueError, match=r"words: token '<eos>' appears more than once"):
        WordTokenizer(["<eos>"])
    tok = WordTokenizer(["a"])
    assert tok.encode("a zebra") == [3, tok.unk_id]
    assert tok.decode([tok.pad_id, 3, tok.eos_id]) == "a"
    with pytest.raises(ValueError, match=r"ids: 9 is not a token id in \[0, 4\)"):
        tok.decode([9])
    with pytest.raises(ValueError, match=r"ids: -1 is not a token id"):
        tok.decode([3, -1])
    assert tok.decode(np.array([3, 3])) == "a a"
