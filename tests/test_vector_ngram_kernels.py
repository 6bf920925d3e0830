"""The vector env's BLEU, chrF, token-F1 and content kernels equal SyncVectorEnv exactly.

Every family, v0 and v1, terminal and dense rewards, each kernel forced on (compiled loops and
numpy) and off, on long runs of the embedded data; and on loaded data covering what the
embedded data does not: several references, token-less and out-of-vocabulary references,
references too long for a kernel (scored from text, env by env), other rewards, and slot
reuse in the sample cache.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from test_vector_kernel import N, run_parity

import textgym  # noqa: F401
from textgym.vector import env as vector_env
from textgym.vector.id_metrics import IdMetrics

JIT = pytest.mark.parametrize("jit", [False, True], ids=["numpy", "numba"])
MODES = pytest.mark.parametrize("reward_mode", ["terminal", "dense"])
FAMILIES = ("TextTrans", "TextDial", "TextSumm")
# (Words with several [a-z0-9] runs, such as "naïve", would take the content kernel off: it
# needs at most one content token per id. tests/test_metrics_ngram_ids.py covers them.)
LEXICON = [
    "the", "a", "an", "train", "trains", "leaves", "left", "at", "5", "30", "2024", "on",
    "monday", "my", "name", "is", "anna", "what", "cost", "dollars", "café", "ΣΑΣ", ".", ",",
    "!", "?", ":", "-", "(", ")", "&", ";",
]  # fmt: skip


def records(count: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)

    def text(low: int, high: int) -> str:
        return " ".join(rng.choice(LEXICON, int(rng.integers(low, high))).tolist())

    out = []
    for i in range(count):
        refs = [text(1, 12) for _ in range(int(rng.integers(1, 4)))]
        if i % 7 == 3:
            refs.append(text(300, 320))  # too long for every kernel: scored from text
        if i % 5 == 1:
            refs.append(", .")  # no F1 or content tokens at all
        if i % 9 == 2:
            refs.append("zebras unseen Words")  # nothing the tokenizer can produce
        if i % 4 == 0:
            # Spacing that decoding does not reproduce: the kernels tokenise the text itself
            # (the other references they take from the tokenizer's ids).
            refs.append(f"  {text(1, 6)}  {text(1, 6)} ")
        out.append({"source": text(5, 30), "references": refs})
    return out


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("family", FAMILIES)
@MODES
@JIT
def test_embedded_long_runs_with_kernels(family: str, version: int, reward_mode: str, jit: bool):
    env_id = f"{family}-v{version}"
    native = gym.make_vec(env_id, N, reward_mode=reward_mode, id_metrics=True, jit=jit)
    assert isinstance(native._kernel, IdMetrics)
    report = [s.name for s in native.task.report]
    assert set(native._kernel.names) == {*report, native.task.scorer.name}
    run_parity(
        {"reward_mode": reward_mode},
        AutoresetMode.NEXT_STEP,
        steps=300,
        seed=7,
        paths={True},
        jit=jit,
        env_id=env_id,
    )


@pytest.mark.parametrize("env_id", ["TextTrans-v0", "TextDial-v0"])
@MODES
def test_embedded_v0_without_kernels_still_equals_sync(env_id: str, reward_mode: str) -> None:
    # (v1 without kernels: tests/test_vector.py, id_metrics=False.)
    from gymnasium.utils.env_checker import data_equivalence

    kwargs = {"reward_mode": reward_mode}
    sync = gym.make_vec(env_id, N, vectorization_mode="sync", **kwargs)
    native = gym.make_vec(env_id, N, id_metrics=False, **kwargs)
    assert native._kernel is None
    assert data_equivalence(sync.reset(seed=2), native.reset(seed=2), exact=True)
    rng = np.random.default_rng(2)
    vocab = native.single_action_space.n
    for step in range(120):
        actions = rng.integers(0, vocab, N)
        actions[rng.random(N) < 0.1] = native.task.tokenizer.eos_id
        assert data_equivalence(sync.step(actions), native.step(actions), exact=True), step


@pytest.mark.parametrize("env_id", ["TextTrans-v0", "TextTrans-v1", "TextDial-v0", "TextDial-v1"])
@MODES
@pytest.mark.parametrize(
    "autoreset", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]
)
@JIT
def test_kernel_parity_on_loaded_data(
    env_id: str, reward_mode: str, autoreset: AutoresetMode, jit: bool
) -> None:
    kwargs = {"data": records(40), "reward_mode": reward_mode, "max_new_tokens": 14}
    run_parity(kwargs, autoreset, jit=jit, env_id=env_id)


@pytest.mark.parametrize(
    "reward",
    [
        {"bleu": 0.25, "f1": 0.75},
        {"chrf": 0.5, "rougeL": 0.5},
        "chrf*content",
        "bleu*f1*content",
        "f1",
        "chrf",
        "content",
    ],
    ids=["bleu+f1", "chrf+rougeL", "chrf*content", "bleu*f1*content", "f1", "chrf", "content"],
)
@MODES
def test_kernel_parity_with_other_rewards(reward, reward_mode: str) -> None:
    kwargs = {"data": records(30, seed=1), "reward": reward, "reward_mode": reward_mode}
    kwargs["max_new_tokens"] = 12
    run_parity(kwargs, AutoresetMode.NEXT_STEP, steps=120, seed=1, env_id="TextDial-v1")


@pytest.mark.parametrize(
    ("reward", "data"),
    [
        ("chrf++", None),  # word n-grams: no kernel
        ({"bleu": 0.5, "rougeLsum": 0.5}, None),  # rougeLsum: sentence breaks, no kernel
        ("bleu", [{"source": "x", "references": ["don't go"]}]),  # "##'" glues to a word
    ],
    ids=["chrf++", "rougeLsum", "glued-pieces"],
)
def test_rewards_or_tokenizers_without_kernels_score_from_text(reward, data) -> None:
    kwargs = {"reward": reward} if data is None else {"reward": reward, "data": data}
    assert gym.make_vec("TextTrans-v0", N, id_metrics=True, **kwargs)._kernel is None


@JIT
def test_kernel_parity_with_slot_reuse(monkeypatch, jit: bool) -> None:
    # Fewer cache slots than samples: slots are overwritten while envs still play the sample
    # stored there before (every kernel keeps its own copy of a row's references).
    monkeypatch.setattr(vector_env, "_SLOTS_MAX", N + 2)
    kwargs = {"data": records(25, seed=2), "reward_mode": "dense", "max_new_tokens": 14}
    for env_id in ("TextTrans-v1", "TextDial-v0"):
        run_parity(
            kwargs, AutoresetMode.SAME_STEP, infos="final", steps=200, seed=2, jit=jit,
            env_id=env_id,
        )  # fmt: skip
        native = gym.make_vec(env_id, N, id_metrics=True, **kwargs)
        assert len(native._slot_prompt) == N + 2 < len(native.task.dataset)


def _kernel_arrays(metrics: IdMetrics) -> list[dict[str, np.ndarray]]:
    return [
        {k: v for k, v in vars(kernel).items() if isinstance(v, np.ndarray)}
        for kernel in metrics._kernels
    ]


@pytest.mark.parametrize(
    ("env_id", "reward"),
    [
        ("TextTrans-v1", None),  # BLEU, chrF, content
        ("TextDial-v1", None),  # BLEU, F1, content
        ("TextSumm-v1", None),  # ROUGE, content
        ("TextSumm-v1", "rouge155-L"),  # the ROUGE-1.5.5 kernel
        ("TextDial-v1", {"chrf": 0.5, "rougeL": 0.5}),
    ],
    ids=["trans", "dial", "summ", "rouge155", "chrf+rougeL"],
)
@pytest.mark.parametrize("seed", [0, 3])
def test_storing_many_samples_at_once_equals_storing_each(env_id, reward, seed: int) -> None:
    # Loaded data: several references, too long ones (refused), inexact spacing (tokenised
    # from text), references no kernel can match. The arrays, grown axes included, must be
    # what storing the samples one by one leaves, and the refusals the same.
    data = records(60, seed=seed)
    kwargs = {"data": data} if reward is None else {"data": data, "reward": reward}
    one = gym.make_vec(env_id, N, id_metrics=True, **kwargs)._kernel
    many = gym.make_vec(env_id, N, id_metrics=True, **kwargs)._kernel
    assert isinstance(one, IdMetrics) and isinstance(many, IdMetrics)
    references = [record["references"] for record in data]
    # Two batches, the second overwriting some slots of the first (as slot reuse does).
    first = [one.store(slot, refs) for slot, refs in enumerate(references[:40])]
    second = [one.store(s, refs) for s, refs in zip(range(20, 40), references[40:], strict=True)]
    got = many.store_many(np.arange(40), references[:40]).tolist()
    got += many.store_many(np.arange(20, 40), references[40:]).tolist()
    assert got == first + second
    assert 0 < sum(got) < len(got)  # both outcomes occur
    for expected, actual in zip(_kernel_arrays(one), _kernel_arrays(many), strict=True):
        assert expected.keys() == actual.keys()
        for name, array in expected.items():
            np.testing.assert_array_equal(actual[name], array, err_msg=name)


@pytest.mark.parametrize("env_id", ["TextTrans-v1", "TextSumm-v1", "TextDial-v0"])
@pytest.mark.parametrize("loaded", [False, True], ids=["embedded", "loaded"])
def test_full_infos_text_is_the_decoded_generation_at_every_step(env_id, loaded) -> None:
    # With full infos the texts grow by one piece per step instead of being decoded again:
    # at every step each env's "generated" info must be the decoding of its generated ids,
    # for any token (PAD, <unk>, punctuation glued to the previous word) and across resets.
    kwargs: dict = {"data": records(20, seed=4), "max_new_tokens": 10} if loaded else {}
    envs = gym.make_vec(env_id, N, infos="full", **kwargs)
    assert envs._incremental
    tokenizer = envs.task.tokenizer
    rng = np.random.default_rng(4)
    obs, _ = envs.reset(seed=4)
    for _ in range(120):
        actions = rng.integers(0, envs.single_action_space.n, N)
        actions[rng.random(N) < 0.1] = tokenizer.pad_id
        obs, *_, infos = envs.step(actions)
        for i in range(N):
            ids = obs["generated_ids"][i][obs["generated_mask"][i].astype(bool)]
            assert infos["generated"][i] == tokenizer.decode(ids.tolist())
