"""The vector env's token-id ROUGE kernel (``id_metrics=True``) equals SyncVectorEnv exactly.

(The BLEU, chrF, F1 and content kernels: ``tests/test_vector_ngram_kernels.py``, which reuses
:func:`run_parity`.)

Covers what the embedded summarization data does not: several references per sample,
token-less and out-of-vocabulary references, references over 64 tokens (scored from text, env
by env), n-gram rewards, reset masks with autoreset disabled, and slot reuse in the sample cache.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode

import textgym  # noqa: F401
from textgym.metrics.rouge_ids import jit_available
from textgym.vector import env as vector_env

N = 6
LEXICON = [
    "the", "storm", "storms", "hit", "hitting", "coast", "Coast", "town", "towns", "on",
    "monday", "2024", "42", "people", "were", "evacuated", "naïve", "café", "straße",
    "reported", "reports", "a", "of", ".", ",", "!", "-",
]  # fmt: skip


def records(count: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)

    def text(low: int, high: int) -> str:
        return " ".join(rng.choice(LEXICON, int(rng.integers(low, high))).tolist())

    out = []
    for i in range(count):
        refs = [text(1, 12) for _ in range(int(rng.integers(1, 4)))]
        if i % 7 == 3:
            refs.append(text(70, 90))  # longer than the 64-bit LCS row: string path
        if i % 5 == 1:
            refs.append(", .")  # no rouge tokens at all
        if i % 9 == 2:
            refs.append("zebras unseen Words")  # nothing the tokenizer can produce
        out.append({"source": text(5, 30), "references": refs})
    return out


def run_parity(
    kwargs: dict,
    autoreset: AutoresetMode,
    infos: str = "full",
    steps: int = 150,
    seed: int = 0,
    paths: frozenset[bool] | set[bool] = frozenset({True, False}),
    jit: bool | None = None,
    env_id: str = "TextSumm-v0",
    prefill: bool = False,
) -> None:
    sync = gym.make_vec(
        env_id,
        N,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": autoreset},
        **kwargs,
    )
    native = gym.make_vec(
        env_id,
        N,
        autoreset_mode=autoreset,
        infos=infos,
        id_metrics=True,
        jit=jit,
        prefill=prefill,
        **kwargs,
    )
    assert native._kernel is not None
    stored = native._slots_used
    assert stored == (min(len(native.task.dataset), len(native._slot_prompt)) if prefill else 0)
    assert native._kernel.jit is (jit is not False)  # numba is installed with the dev extra
    expected_reset = sync.reset(seed=seed)
    got_reset = native.reset(seed=seed)
    assert data_equivalence(expected_reset[0], got_reset[0], exact=True)
    if infos == "full":
        assert data_equivalence(expected_reset[1], got_reset[1], exact=True)
    rng = np.random.default_rng(seed)
    eos = native.task.tokenizer.eos_id
    vocab = native.single_action_space.n
    ended = np.zeros(N, dtype=np.bool_)
    fast_and_slow = set()
    for step in range(steps):
        if autoreset == AutoresetMode.DISABLED and ended.any():
            expected_reset = sync.reset(options={"reset_mask": ended.copy()})
            got_reset = native.reset(options={"reset_mask": ended.copy()})
            assert data_equivalence(expected_reset[0], got_reset[0], exact=True)
            if infos == "full":
                assert data_equivalence(expected_reset[1], got_reset[1], exact=True)
        reference_like = [
            env.unwrapped.reference_action()
            if env.unwrapped.sample is not None and not env.unwrapped._done
            else eos
            for env in sync.envs
        ]
        actions = np.where(rng.random(N) < 0.6, reference_like, rng.integers(0, vocab, N))
        actions[rng.random(N) < 0.06] = eos
        expected = sync.step(actions)
        got = native.step(actions)
        fast_and_slow.update(native._fast.tolist())
        assert data_equivalence(expected[:4], got[:4], exact=True), f"step {step}"
        if infos == "full":
            assert data_equivalence(expected[4], got[4], exact=True), f"step {step} infos"
        else:
            ends = np.flatnonzero(expected[2])
            if len(ends):
                # With same-step autoreset the ended episodes' infos are the final infos.
                same_step = autoreset == AutoresetMode.SAME_STEP
                want = expected[4]["final_info"] if same_step else expected[4]
                have = got[4]["final_info"] if same_step else got[4]
                for key in ("sample_id", "generated"):
                    assert [have[key][i] for i in ends] == [want[key][i] for i in ends]
                for name, values in have["metrics"].items():
                    if not name.startswith("_"):
                        assert (values[ends] == want["metrics"][name][ends]).all()
        ended = expected[2] | expected[3]
    assert fast_and_slow == paths  # which scoring paths (kernel, text) were exercised
    if prefill and stored == len(native.task.dataset):
        assert native._slots_used == stored  # every reset found its sample stored


@pytest.mark.parametrize("jit", [False, True], ids=["numpy", "numba"])
@pytest.mark.parametrize("reward_mode", ["terminal", "dense"])
@pytest.mark.parametrize(
    "autoreset", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]
)
def test_kernel_parity_on_custom_data(
    reward_mode: str, autoreset: AutoresetMode, jit: bool
) -> None:
    kwargs = {"data": records(40), "reward_mode": reward_mode, "max_new_tokens": 14}
    run_parity(kwargs, autoreset, jit=jit)


@pytest.mark.parametrize(
    "reward", ["rouge1", "rouge2", {"rougeL": 1.0}, "rougeL"], ids=["r1", "r2", "weighted", "L"]
)
@pytest.mark.parametrize("reward_mode", ["terminal", "dense"])
def test_kernel_parity_other_rouge_rewards(reward, reward_mode: str) -> None:
    kwargs = {"data": records(30, seed=1), "reward": reward, "reward_mode": reward_mode}
    if reward == "rougeL":
        kwargs["report_metrics"] = False
    # A weighted mix is scored from its terms' kernel values, as WeightedScorer combines them.
    run_parity(kwargs, AutoresetMode.NEXT_STEP, steps=100, seed=1)


@pytest.mark.parametrize("jit", [False, True], ids=["numpy", "numba"])
def test_kernel_parity_with_final_infos_and_slot_reuse(monkeypatch, jit: bool) -> None:
    # Fewer cache slots than samples: slots are reused while envs still hold their data.
    monkeypatch.setattr(vector_env, "_SLOTS_MAX", N + 2)
    kwargs = {"data": records(25, seed=2), "reward_mode": "dense"}
    run_parity(kwargs, AutoresetMode.SAME_STEP, infos="final", steps=200, seed=2, jit=jit)
    native = gym.make_vec("TextSumm-v0", N, id_metrics=True, **kwargs)
    assert len(native._slot_prompt) == N + 2 < len(native.task.dataset)


@pytest.mark.parametrize(
    "autoreset", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP, AutoresetMode.DISABLED]
)
def test_kernel_parity_with_prefill(autoreset: AutoresetMode) -> None:
    """Samples stored ahead (``prefill=True``): the same episodes, rewards and infos, and no
    sample stored again later."""
    kwargs = {"data": records(40), "reward_mode": "terminal", "max_new_tokens": 14}
    run_parity(kwargs, autoreset, prefill=True)


def test_prefill_with_fewer_slots_than_samples(monkeypatch) -> None:
    # The cache holds N + 2 of 25 samples: prefill fills it, later resets reuse its slots.
    monkeypatch.setattr(vector_env, "_SLOTS_MAX", N + 2)
    kwargs = {"data": records(25, seed=2), "reward_mode": "dense"}
    run_parity(kwargs, AutoresetMode.SAME_STEP, infos="final", steps=200, seed=2, prefill=True)
    native = gym.make_vec("TextSumm-v0", N, prefill=True, **kwargs)
    assert native._slots_used == N + 2 and native.prefill() == N + 2  # full: stores nothing


@pytest.mark.parametrize("jit", [False, True], ids=["numpy", "numba"])
def test_embedded_summarization_long_run_with_kernel(jit: bool) -> None:
    run_parity({}, AutoresetMode.NEXT_STEP, infos="final", steps=300, seed=5, paths={True}, jit=jit)


def test_id_metrics_default_depends_on_batch_size_with_numpy_loops() -> None:
    assert gym.make_vec("TextSumm-v0", 4, jit=False)._kernel is None
    assert gym.make_vec("TextSumm-v0", 8, reward_mode="dense", jit=False)._kernel is not None
    assert gym.make_vec("TextSumm-v0", 128, jit=False)._kernel is not None
    assert gym.make_vec("TextSumm-v0", 128, id_metrics=False)._kernel is None
    # The n-gram kernels (BLEU, chrF, F1) make more numpy calls per step: with dense rewards
    # they pay off from 32 envs. A product takes the larger crossover of its factors.
    for env_id in ("TextTrans-v0", "TextTrans-v1", "TextDial-v0", "TextDial-v1"):
        assert gym.make_vec(env_id, 64, jit=False)._kernel is None
        assert gym.make_vec(env_id, 128, jit=False)._kernel is not None
        assert gym.make_vec(env_id, 16, reward_mode="dense", jit=False)._kernel is None
        assert gym.make_vec(env_id, 32, reward_mode="dense", jit=False)._kernel is not None


def test_id_metrics_default_is_on_at_any_size_with_compiled_loops() -> None:
    assert jit_available()  # numba comes with the dev extra
    for env_id in ("TextSumm-v0", "TextTrans-v1", "TextDial-v0"):
        for n, mode in [(1, "terminal"), (4, "terminal"), (1, "dense")]:
            kernel = gym.make_vec(env_id, n, reward_mode=mode)._kernel
            assert kernel is not None and kernel.jit
    assert gym.make_vec("TextSumm-v0", 4, id_metrics=False)._kernel is None
