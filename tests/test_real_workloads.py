"""Real workloads end to end: a BERT2BERT built from an encoder checkpoint, trained and evaluated
by the run harness on a corpus in its release format (Multi30k), as a new user would run it.

The corpus files and the tiny BERT checkpoint are written by the tests in the real formats
(gzipped line-aligned captions; a ``BertModel`` folder with a WordPiece ``vocab.txt``)."""

from __future__ import annotations

import csv
import filecmp
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from textgym.algos import SupervisedConfig, SupervisedTrainer, reference_batch  # noqa: E402
from textgym.bench.config import resolve  # noqa: E402
from textgym.bench.runs import RunFolder  # noqa: E402
from textgym.bench.train import train  # noqa: E402
from textgym.cli import main  # noqa: E402
from textgym.policies.lm import LMActorCritic, make_envs, tiny_seq2seq_config  # noqa: E402

# (German, English) captions in the style of Multi30k; the test writes them as its release does.
PAIRS = [
    ("Ein Mann fährt Fahrrad.", "A man rides a bike."),
    ("Ein Hund läuft im Park.", "A dog runs in the park."),
    ("Zwei Kinder spielen im Wasser.", "Two children play in the water."),
    ("Eine Frau liest ein Buch.", "A woman reads a book."),
    ("Ein Mann spielt Gitarre.", "A man plays guitar."),
    ("Ein Hund spielt im Wasser.", "A dog plays in the water."),
]
WORDS = sorted(
    {w for pair in PAIRS for text in pair for w in text.lower().replace(".", " .").split()}
)


class Interrupt(Exception):
    pass


def interrupt_after(step: int):
    """A ``log`` hook that stops training once the evaluation at ``step`` is recorded, as a kill
    would (the checkpoint of that step is on disk)."""

    def log(line: str) -> None:
        if int(line.split()[1]) >= step:
            raise Interrupt

    return log


@pytest.fixture(scope="module")
def multi30k(tmp_path_factory) -> Path:
    """A Multi30k checkout: ``data/task1/raw/<split>.<lang>.gz``."""
    root = tmp_path_factory.mktemp("multi30k")
    raw = root / "data" / "task1" / "raw"
    raw.mkdir(parents=True)
    splits = {"train": PAIRS, "val": PAIRS[:3], "test_2016_flickr": PAIRS[3:]}
    for split, pairs in splits.items():
        for k, lang in enumerate(("de", "en")):
            with gzip.open(raw / f"{split}.{lang}.gz", "wt", encoding="utf-8") as handle:
                handle.write("".join(pair[k] + "\n" for pair in pairs))
    return root


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    """A tiny uncased BERT checkpoint (no LM head) with its WordPiece tokenizer."""
    folder = tmp_path_factory.mktemp("bert")
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    (folder / "vocab.txt").write_text("\n".join([*special, *WORDS]) + "\n", encoding="utf-8")
    # from_pretrained reads vocab.txt in every transformers version (5.x ignores the
    # vocab_file= keyword and would build a vocabulary of the special tokens alone).
    tokenizer = transformers.BertTokenizerFast.from_pretrained(str(folder))
    assert tokenizer("a man .")["input_ids"][1:-1] != [tokenizer.unk_token_id] * 2
    tokenizer.save_pretrained(str(folder))
    config = transformers.BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(str(folder))
    return folder


def run_config(multi30k: Path, bert_dir: Path, **extra) -> dict:
    overrides = {
        "algo": "ppo-lm", "env_id": "TextTrans-v0", "steps": 4, "n_envs": 4, "eval_envs": 3,
        "eval": {"every": 2, "episodes": 3},
        "env": {
            "data": {"corpus": "multi30k:de-en", "path": str(multi30k), "lowercase": True},
            "tokenizer": str(bert_dir), "max_prompt_len": 16, "max_new_tokens": 8,
            "reward": "chrf",  # smoother than BLEU for a model this small
        },
        "model": {"name": str(bert_dir), "init": "bert2bert"},
        "warm_start": {"steps": 30, "batch_size": 6, "learning_rate": 5e-3, "padding": "longest"},
        "hparams": {"minibatch_size": 2, "epochs": 1},
    }  # fmt: skip
    return resolve(overrides, extra)


def test_ppo_lm_on_a_release_format_corpus_resumes_exactly_and_evaluates_on_test(
    multi30k: Path, bert_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = run_config(multi30k, bert_dir)
    first = train(config, tmp_path / "a")
    with pytest.raises(Interrupt):
        train(config, tmp_path / "b", log=interrupt_after(2))
    resumed = train(None, tmp_path / "b", resume=True)
    assert resumed.resumed_from == 2
    assert filecmp.cmp(first.path / "metrics.csv", resumed.path / "metrics.csv", shallow=False)
    with open(first.path / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [0, 2, 4]
    assert len({r["eval/score"] for r in rows} | {r["train/episode_return"] for r in rows}) > 2

    # The evaluation a user runs next: the corpus's real test split, predictions as text.
    assert main(["eval", str(first.path), "--split", "test"]) == 0
    assert "predictions_test.jsonl" in capsys.readouterr().out
    rows = [json.loads(line) for line in (first.path / "predictions_test.jsonl").open()]
    assert [r["sample_id"] for r in rows] == ["test_2016_flickr/0", "test_2016_flickr/1",
                                              "test_2016_flickr/2"]  # fmt: skip
    assert [r["source"] for r in rows] == [de.lower() for de, _ in PAIRS[3:]]
    assert [r["references"] for r in rows] == [[en.lower()] for _, en in PAIRS[3:]]
    for row in rows:  # decoded WordPiece text: words of the vocabulary, no ids or [SEP]
        assert isinstance(row["prediction"], str) and "[" not in row["prediction"]
        assert set(row["prediction"].replace(".", " ").split()) <= set(WORDS)
    stored = json.loads((first.path / "eval_test.json").read_text())
    assert stored["eval/num_samples"] == 3
    assert stored["eval/score"] == pytest.approx(np.mean([r["metrics"]["score"] for r in rows]))
    assert RunFolder(first.path).summary()["step"] == 4


def test_bert2bert_random_init_is_the_same_architecture_with_other_weights(
    multi30k: Path, bert_dir: Path
) -> None:
    from textgym.bench.lm_driver import LMDriver

    models = {}
    for init in ("bert2bert", "bert2bert-random"):
        config = run_config(multi30k, bert_dir, model={"init": init}, seed=3)
        driver = LMDriver(config)
        models[init] = driver.policy.model
        driver.close()
    pretrained, random = models["bert2bert"], models["bert2bert-random"]
    assert type(pretrained) is type(random) is transformers.EncoderDecoderModel
    assert pretrained.config.decoder.is_decoder and random.config.decoder.is_decoder
    a, b = pretrained.state_dict(), random.state_dict()
    assert a.keys() == b.keys() and all(a[k].shape == b[k].shape for k in a)
    key = "encoder.encoder.layer.0.attention.self.query.weight"
    checkpoint = transformers.BertModel.from_pretrained(str(bert_dir)).state_dict()
    assert torch.equal(a[key], checkpoint[key[len("encoder.") :]])  # the encoder's weights
    assert not torch.equal(b[key], a[key])
    for model in (pretrained, random):  # dropout off in both, whatever the checkpoint says
        assert {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)} == {0.0}


def test_longest_padding_cuts_batches_and_keeps_the_loss() -> None:
    envs = make_envs("TextSumm-Easy-v1", 2, max_new_tokens=24)  # room beyond the targets
    task = envs.unwrapped.task
    tok = task.tokenizer
    batches = {
        padding: reference_batch(
            task, np.arange(6), np.random.default_rng(0), torch.device("cpu"), padding
        )
        for padding in ("max_length", "longest")
    }
    full, cut = batches["max_length"], batches["longest"]
    width, horizon = int(full[1].sum(1).max()), int(full[3].sum(1).max())
    assert cut[0].shape == (6, width) and cut[2].shape == (6, horizon)
    assert width < task.max_prompt_len and horizon < task.max_new_tokens
    for a, b in zip(full, cut, strict=True):
        assert torch.equal(a[:, : b.shape[1]], b)
    # Only padding was cut: pad ids and zero masks.
    assert (full[0][:, width:] == tok.pad_id).all() and (full[2][:, horizon:] == tok.pad_id).all()
    assert not full[1][:, width:].any() and not full[3][:, horizon:].any()

    losses = {}
    for padding in ("max_length", "longest"):
        torch.manual_seed(0)
        config = tiny_seq2seq_config(tok.vocab_size, d_model=32, num_layers=1, num_heads=2)
        policy = LMActorCritic(config, vocab_size=tok.vocab_size, reference=None)
        trainer = SupervisedTrainer(
            policy, envs, SupervisedConfig(steps=2, batch_size=8, padding=padding)
        )
        losses[padding] = [trainer.step()["train/sft_loss"] for _ in range(2)]
    assert losses["longest"] == pytest.approx(losses["max_length"], rel=1e-5)
    with pytest.raises(ValueError, match="padding: expected 'max_length' or 'longest'"):
        SupervisedConfig(padding="shortest")
