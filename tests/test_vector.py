"""The native vector env equals SyncVectorEnv over single envs, step for step."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import AutoresetMode

import textgym
from textgym.metrics.rouge_ids import jit_available
from textgym.tokenizers.embedded import WordTokenizer
from textgym.vector import TextVectorEnv
from textgym.vector.env import _compact_id_dtype

N = 5


def mixed_actions(sync: gym.vector.SyncVectorEnv, rng: np.random.Generator) -> np.ndarray:
    """Reference tokens, EOS and random tokens mixed, so rewards and episode ends vary."""
    actions = []
    for env in sync.envs:
        core = env.unwrapped
        u = rng.random()
        if u < 0.08:
            actions.append(core.tokenizer.eos_id)
        elif u < 0.75 and core.sample is not None and not core._done:
            actions.append(core.reference_action())
        else:
            actions.append(int(rng.integers(core.action_space.n)))
    return np.array(actions, dtype=np.int64)


@pytest.mark.parametrize("env_id", textgym.BENCHMARK)
@pytest.mark.parametrize("reward_mode", ["terminal", "dense"])
@pytest.mark.parametrize("autoreset", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize("id_metrics", [None, True, False], ids=["auto", "id_metrics", "text"])
def test_native_vector_env_equals_sync(
    env_id: str, reward_mode: str, autoreset, id_metrics: bool | None
) -> None:
    kwargs = {"reward_mode": reward_mode}
    sync = gym.make_vec(
        env_id, N, vectorization_mode="sync", vector_kwargs={"autoreset_mode": autoreset}, **kwargs
    )
    native = gym.make_vec(env_id, N, autoreset_mode=autoreset, id_metrics=id_metrics, **kwargs)
    # Every family's reward and reported metrics have token-id kernels, used by default at this
    # size only with compiled loops (numba, installed with the dev extra).
    kernel_on = id_metrics if id_metrics is not None else jit_available()
    assert (native._kernel is not None) == kernel_on
    assert isinstance(native, TextVectorEnv)
    assert native.single_observation_space == sync.single_observation_space
    assert native.observation_space == sync.observation_space
    assert native.action_space == sync.action_space
    assert data_equivalence(sync.reset(seed=3), native.reset(seed=3), exact=True)
    rng = np.random.default_rng(0)
    ends = 0
    total = 0.0
    for step in range(160):
        actions = mixed_actions(sync, rng)
        expected = sync.step(actions)
        got = native.step(actions)
        assert data_equivalence(expected, got, exact=True), f"step {step}"
        ends += int(expected[2].sum())
        total += float(expected[1].sum())
    assert ends > 20 and total > 5  # the run covered many episode ends with real rewards


@pytest.mark.parametrize("env_id", textgym.BENCHMARK)
def test_prefilled_native_env_equals_sync(env_id: str) -> None:
    """``prefill=True`` stores every sample when the env is made: the episodes, rewards and
    infos stay Sync's, each env's generator ends where a single env's does, and no reset
    stores a sample again."""
    sync = gym.make_vec(env_id, N, vectorization_mode="sync")
    native = gym.make_vec(env_id, N, prefill=True)
    size = len(native.unwrapped.task.dataset)
    assert native.unwrapped._slots_used == size
    assert data_equivalence(sync.reset(seed=11), native.reset(seed=11), exact=True)
    rng = np.random.default_rng(2)
    ends = 0
    for step in range(120):
        actions = mixed_actions(sync, rng)
        expected = sync.step(actions)
        assert data_equivalence(expected, native.step(actions), exact=True), f"step {step}"
        ends += int(expected[2].sum())
    assert ends > 15
    assert native.unwrapped._slots_used == size
    assert [g.bit_generator.state for g in native.unwrapped.np_randoms] == [
        env.unwrapped.np_random.bit_generator.state for env in sync.envs
    ]


def test_default_prefill_stores_the_dataset_at_the_first_reset_of_many_envs() -> None:
    """``prefill=None`` (default): from 64 envs the first reset stores the whole dataset (when
    the cache holds it) and later resets store nothing; fewer envs, ``prefill=False``, or a
    dataset larger than the cache store only what their resets use. Episodes stay Sync's."""
    kwargs = {"num_samples": 300}
    many = gym.make_vec("TextTrans-v1", 64, **kwargs).unwrapped
    assert many._slots_used == 0  # nothing before the first reset (spaces, checkers)
    sync = gym.make_vec("TextTrans-v1", 64, vectorization_mode="sync", **kwargs)
    assert data_equivalence(sync.reset(seed=4), many.reset(seed=4), exact=True)
    assert many._slots_used == 300
    rng = np.random.default_rng(0)
    for step in range(40):
        actions = mixed_actions(sync, rng)
        assert data_equivalence(sync.step(actions), many.step(actions), exact=True), step
    assert many._slots_used == 300
    many.reset(seed=5)
    assert many._slots_used == 300

    few = gym.make_vec("TextTrans-v1", 63, **kwargs).unwrapped
    few.reset(seed=4)
    off = gym.make_vec("TextTrans-v1", 64, prefill=False, **kwargs).unwrapped
    off.reset(seed=4)
    # Only the samples drawn (some drawn twice): what the first reset plays.
    assert few._slots_used == len({s.id for s in few._samples}) < 63
    assert off._slots_used == len({s.id for s in off._samples}) < 64


def test_default_prefill_skips_a_dataset_larger_than_the_cache(monkeypatch) -> None:
    import textgym.vector.env as vector_env

    monkeypatch.setattr(vector_env, "_SLOTS_MAX", 100)
    big = gym.make_vec("TextTrans-v1", 64, num_samples=300).unwrapped
    big.reset(seed=0)
    assert len(big._slot_prompt) == 100 and big._slots_used == len({s.id for s in big._samples})
    with pytest.raises(ValueError, match="prefill: expected True, False or None"):
        gym.make_vec("TextTrans-v1", 2, prefill="yes")


class OffsetTokenizer:
    """The embedded words with ids moved up by ``offset`` (a vocabulary of over 65,536 ids):
    prompt rows then need 32-bit ids. The ids in between decode as ``<unk>``."""

    def __init__(self, inner: WordTokenizer, offset: int) -> None:
        self.inner, self.offset = inner, offset

    @property
    def vocab_size(self) -> int:
        return self.inner.vocab_size + self.offset

    @property
    def eos_id(self) -> int:
        return self.inner.eos_id

    @property
    def pad_id(self) -> int:
        return self.inner.pad_id

    def encode(self, text: str) -> list[int]:
        return [i + self.offset for i in self.inner.encode(text)]

    def decode(self, ids) -> str:
        specials = (self.eos_id, self.pad_id)
        inner = [
            i if i in specials else i - self.offset if i >= self.offset else self.inner.unk_id
            for i in ids
        ]
        return self.inner.decode(inner)


TWO_SAMPLES = [{"source": "a b c d.", "reference": "b c."}, {"source": "c a.", "reference": "a."}]


@pytest.mark.parametrize(
    ("vocab", "dtype"),
    [("fitted", np.uint8), ("embedded", np.uint16), ("offset", np.int32)],
)
@pytest.mark.parametrize("jit", [None, False], ids=["default", "numpy"])
def test_compact_prompt_rows_give_the_spaces_int64_observations(
    vocab: str, dtype: type, jit: bool | None
) -> None:
    """Prompt rows are kept in the smallest dtype that holds the vocabulary, and every
    observation still equals SyncVectorEnv's (int64, the space's dtype)."""
    kwargs: dict = {}
    if vocab == "fitted":  # a tokenizer fitted to two samples: under 256 ids
        kwargs["data"] = TWO_SAMPLES
    elif vocab == "offset":
        words = gym.make("TextDial-v1").unwrapped.tokenizer
        kwargs["tokenizer"] = OffsetTokenizer(words, 70_000)
    sync = gym.make_vec("TextDial-v1", N, vectorization_mode="sync", **kwargs)
    native = gym.make_vec("TextDial-v1", N, jit=jit, **kwargs)
    assert native._prompt_ids.dtype == dtype and native._slot_prompt.dtype == dtype
    assert data_equivalence(sync.reset(seed=2), native.reset(seed=2), exact=True)
    rng = np.random.default_rng(1)
    top = native.single_action_space.n
    for step in range(60):
        actions = mixed_actions(sync, rng)
        if step % 7 == 0:  # ids near the top of the vocabulary, too
            actions[step % N] = top - 1
        expected = sync.step(actions)
        got = native.step(actions)
        assert got[0]["prompt_ids"].dtype == np.int64 == got[0]["prompt_mask"].dtype
        assert data_equivalence(expected, got, exact=True), f"step {step}"
    assert int(got[0]["prompt_ids"].max()) >= (70_000 if dtype is np.int32 else 3)


def test_compact_id_dtype_holds_every_id_below_the_bound() -> None:
    bounds = [1, 256, 257, 65_536, 65_537, 2**31, 2**31 + 1]
    dtypes = [np.uint8, np.uint8, np.uint16, np.uint16, np.int32, np.int32, np.int64]
    for bound, dtype in zip(bounds, dtypes, strict=True):
        assert _compact_id_dtype(bound) == dtype, bound
        assert np.iinfo(dtype).max >= bound - 1  # the largest id fits


def test_final_infos_mode_reports_only_episode_ends() -> None:
    full = gym.make_vec("TextSumm-v0", N)
    lean = gym.make_vec("TextSumm-v0", N, infos="final")
    full.reset(seed=1)
    _, lean_reset_info = lean.reset(seed=1)
    assert lean_reset_info == {}
    full.action_space.seed(0)
    eos = full.task.tokenizer.eos_id
    for step in range(60):
        actions = full.action_space.sample()
        actions[step % N] = eos
        obs_f, rew_f, term_f, trunc_f, info_f = full.step(actions)
        obs_l, rew_l, term_l, trunc_l, info_l = lean.step(actions)
        assert data_equivalence((obs_f, rew_f, term_f, trunc_f), (obs_l, rew_l, term_l, trunc_l))
        if not term_f.any():
            assert info_l == {}
            continue
        assert (info_l["_metrics"] == term_f).all()
        for i in np.flatnonzero(term_f):
            assert info_l["metrics"]["score"][i] == info_f["metrics"]["score"][i]
            assert info_l["generated"][i] == info_f["generated"][i]


def test_batched_final_infos_equal_add_info_folding() -> None:
    lean = gym.make_vec("TextDial-v0", 6, infos="final")
    lean.reset(seed=0)
    eos = lean.task.tokenizer.eos_id
    lean.step(np.array([eos, 7, eos, 7, 7, eos]))
    rows = np.array([0, 2, 5])
    expected: dict = {}
    for i in rows:
        expected = lean._add_info(expected, lean._info(int(i)), int(i))
    assert data_equivalence(lean._batched_infos(rows), expected, exact=True)


def test_async_vector_env_also_works() -> None:
    sync = gym.make_vec("TextDial-Easy-v0", 2, vectorization_mode="sync")
    async_env = gym.make_vec("TextDial-Easy-v0", 2, vectorization_mode="async")
    try:
        assert data_equivalence(sync.reset(seed=0), async_env.reset(seed=0), exact=True)
        sync.action_space.seed(1)
        for _ in range(12):
            actions = sync.action_space.sample()
            assert data_equivalence(sync.step(actions), async_env.step(actions), exact=True)
    finally:
        async_env.close()


def test_seed_list_and_reset_mask() -> None:
    native = gym.make_vec("TextTrans-v0", 3)
    obs_a, info_a = native.reset(seed=[10, None, 12])
    obs_b, info_b = native.reset(seed=[10, 5, 12])
    assert info_a["sample_id"][0] == info_b["sample_id"][0]
    assert info_a["sample_id"][2] == info_b["sample_id"][2]
    before = native.step(np.array([4, 4, 4]))[0]
    mask = np.array([False, True, False])
    obs, info = native.reset(seed=[None, 7, None], options={"reset_mask": mask})
    assert list(info["_sample_id"]) == [False, True, False]
    assert (obs["generated_mask"][0] == before["generated_mask"][0]).all()
    assert obs["generated_mask"][1].sum() == 0


def test_disabled_autoreset_requires_explicit_reset() -> None:
    native = gym.make_vec("TextTrans-v0", 2, autoreset_mode=AutoresetMode.DISABLED)
    native.reset(seed=0)
    eos = native.task.tokenizer.eos_id
    _, _, terminated, _, _ = native.step(np.array([eos, 5]))
    assert terminated.tolist() == [True, False]
    with pytest.raises(RuntimeError, match=r"env\(s\) \[0\] ended and were not reset"):
        native.step(np.array([5, 5]))
    native.reset(options={"reset_mask": np.array([True, False])})
    native.step(np.array([5, 5]))


@pytest.mark.parametrize(
    ("actions", "match"),
    [
        (
            np.array([1, 2]),
            r"actions: expected shape \(3,\), one token id per env, got shape \(2,\)",
        ),
        (np.array([1.0, 2.0, 3.0]), r"actions: expected integer token ids, got dtype float64"),
        (np.array([1, -1, 10**6]), r"actions: token ids outside \[0, \d+\) for env\(s\) \[1, 2\]"),
        (np.array([[1, 2, 3]]), r"actions: expected shape \(3,\)"),
    ],
)
def test_bad_actions(actions: np.ndarray, match: str) -> None:
    native = gym.make_vec("TextTrans-v0", 3)
    native.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        native.step(actions)


def test_bad_construction_and_order() -> None:
    native = gym.make_vec("TextTrans-v0", 3)
    with pytest.raises(RuntimeError, match=r"before reset\(\)"):
        native.step(np.array([1, 2, 3]))
    with pytest.raises(
        ValueError, match=r"seed: a list of seeds must have num_envs=3 entries, got 2"
    ):
        native.reset(seed=[1, 2])
    # bool is an int subclass, but no seed: rejected with a message (it was list(True)'s).
    with pytest.raises(TypeError, match=r"seed: expected an int, a sequence of ints or None"):
        native.reset(seed=True)
    with pytest.raises(ValueError, match=r"options\['reset_mask'\]: expected a bool array"):
        native.reset(options={"reset_mask": np.array([1, 0, 1])})
    with pytest.raises(
        ValueError, match="max_episode_steps: textgym episodes end at max_new_tokens"
    ):
        gym.make_vec("TextTrans-v0", 2, max_episode_steps=10)
    with pytest.raises(ValueError, match=r"infos: expected one of full, final"):
        gym.make_vec("TextTrans-v0", 2, infos="none")
    with pytest.raises(ValueError, match="num_envs: expected an integer >= 1"):
        gym.make_vec("TextTrans-v0", 0)


def test_np_randoms_round_trip_replays_the_same_draws() -> None:
    import copy

    envs = gym.make_vec("TextTrans-Easy-v0", num_envs=3)
    envs.reset(seed=4)
    saved = copy.deepcopy(envs.unwrapped.np_randoms)
    first = envs.reset()[1]["sample_id"].tolist()
    envs.unwrapped.np_randoms = saved
    assert envs.reset()[1]["sample_id"].tolist() == first
    with pytest.raises(ValueError, match="np_randoms: expected 3"):
        envs.unwrapped.np_randoms = saved[:2]
    with pytest.raises(ValueError, match="np_randoms"):
        envs.unwrapped.np_randoms = [0, 1, 2]
    envs.close()


@pytest.mark.parametrize("draws", [3, 32, 256], ids=["refill-often", "32", "default"])
def test_buffered_draws_follow_each_envs_generator(monkeypatch, draws: int) -> None:
    """Sample draws are buffered per env; sequences and generator states still equal Sync's.

    Covers refills, ``sample_id`` resets (no draw), partial re-seeding, and reading
    ``np_randoms`` mid-run (which puts each generator where a single env's would be).
    """
    from textgym.vector import env as vector_env

    monkeypatch.setattr(vector_env, "_DRAWS", draws)
    n = 4
    sync = gym.make_vec("TextTrans-Easy-v0", n, vectorization_mode="sync")
    native = gym.make_vec("TextTrans-Easy-v0", n)
    rng = np.random.default_rng(1)

    def run(steps: int) -> int:
        ends = 0
        for step in range(steps):
            actions = mixed_actions(sync, rng)
            expected = sync.step(actions)
            assert data_equivalence(expected, native.step(actions), exact=True), f"step {step}"
            ends += int(expected[2].sum())
        return ends

    def states(generators: list) -> list:
        return [g.bit_generator.state for g in generators]

    assert data_equivalence(sync.reset(seed=3), native.reset(seed=3), exact=True)
    ends = run(120)
    assert ends > 40
    if draws == 3:
        assert ends > 4 * n * draws  # the buffers were refilled several times
    assert states(native.unwrapped.np_randoms) == states(
        [env.unwrapped.np_random for env in sync.envs]
    )
    options = {"sample_id": 2}
    assert data_equivalence(sync.reset(options=options), native.reset(options=options), exact=True)
    run(60)
    seeds = [None, 7, None, None]
    assert data_equivalence(sync.reset(seed=seeds), native.reset(seed=seeds), exact=True)
    run(60)
    assert states(native.unwrapped.np_randoms) == states(
        [env.unwrapped.np_random for env in sync.envs]
    )
    run(40)  # reading np_randoms dropped the buffers; stepping goes on in step
