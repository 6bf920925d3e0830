"""SB3 agents on textgym: the token-embedding extractor, the action-mask wrapper, short learns.

The learning tests only check that each algorithm runs end to end on each easy id and produces
valid scores; whether agents actually learn is measured by ``benchmarks/sb3_learning.py``.
"""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import textgym
from textgym.wrappers import MASK_MODES, ActionMaskWrapper, BigramModel, fit_bigram

torch = pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

from stable_baselines3 import A2C, DQN, PPO  # noqa: E402
from stable_baselines3.common.env_checker import check_env as sb3_check_env  # noqa: E402
from stable_baselines3.common.preprocessing import preprocess_obs  # noqa: E402

from textgym.policies.sb3 import TokenFeaturesExtractor, policy_kwargs  # noqa: E402

EASY_IDS = list(textgym.registration.EASY)
#: Small enough for the default test run; the benchmark uses the defaults.
TINY_NET = {"embed_dim": 16, "hidden_dim": 32, "features_dim": 32, "net_arch": [32]}


@pytest.fixture(scope="module")
def bigrams() -> dict[str, BigramModel]:
    """One small bigram model per easy id, fitted once for the whole module."""
    return {env_id: fit_bigram(env_id, num_samples=300) for env_id in EASY_IDS}


def obs_batch(env: gym.Env, steps: int = 3, batch: int = 4) -> dict[str, torch.Tensor]:
    """A batch of observations taken at several depths, preprocessed as SB3 does."""
    observations = []
    obs, _ = env.reset(seed=0)
    for _ in range(batch):
        observations.append(obs)
        for _ in range(steps):
            obs, _, terminated, _, _ = env.step(env.unwrapped.reference_action())
            if terminated:
                obs, _ = env.reset()
    stacked = {key: torch.as_tensor(np.stack([o[key] for o in observations])) for key in obs}
    return preprocess_obs(stacked, env.observation_space)


def rollout_masks(env: ActionMaskWrapper, episodes: int, seed: int) -> list[np.ndarray]:
    """Masks seen along random episodes that only take allowed actions."""
    rng = np.random.default_rng(seed)
    masks = []
    for episode in range(episodes):
        env.reset(seed=seed if episode == 0 else None)
        terminated = False
        while not terminated:
            mask = env.action_masks()
            masks.append(mask)
            _, _, terminated, _, _ = env.step(int(rng.choice(np.flatnonzero(mask))))
    return masks


# ---------------------------------------------------------------------------- extractor
@pytest.mark.parametrize("env_id", EASY_IDS)
def test_extractor_output_shape_dtype_and_gradients(env_id: str) -> None:
    env = gym.make(env_id)
    extractor = TokenFeaturesExtractor(env.observation_space, embed_dim=8, features_dim=24)
    features = extractor(obs_batch(env))
    assert features.shape == (4, 24)
    assert features.dtype == torch.float32
    assert torch.isfinite(features).all()

    features.pow(2).sum().backward()
    for name, parameter in extractor.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
    assert extractor.token_embedding.weight.grad.abs().sum() > 0


def test_extractor_variants_and_bad_arguments() -> None:
    env = gym.make("TextDial-Easy-v0")
    batch = obs_batch(env)
    plain = TokenFeaturesExtractor(
        env.observation_space, context_tokens=1, conv_kernel=1, attention=False
    )
    assert plain(batch).shape == (4, plain.features_dim)
    with pytest.raises(ValueError, match="conv_kernel"):
        TokenFeaturesExtractor(env.observation_space, conv_kernel=2)
    with pytest.raises(ValueError, match="embed_dim"):
        TokenFeaturesExtractor(env.observation_space, embed_dim=0)
    with pytest.raises(ValueError, match="missing textgym key"):
        TokenFeaturesExtractor(gym.spaces.Dict({"prompt_ids": env.observation_space["remaining"]}))


def test_policy_kwargs_routes_overrides() -> None:
    kwargs = policy_kwargs(embed_dim=8, net_arch=[16], features_extractor_kwargs={"hidden_dim": 4})
    assert kwargs["features_extractor_class"] is TokenFeaturesExtractor
    assert kwargs["features_extractor_kwargs"] == {"hidden_dim": 4, "embed_dim": 8}
    assert kwargs["net_arch"] == [16]
    assert policy_kwargs() is not policy_kwargs()


def test_env_side_never_imports_torch_and_missing_sb3_names_the_extra() -> None:
    code = (
        "import sys, gymnasium as gym, textgym, textgym.policies, textgym.wrappers\n"
        "env = textgym.wrappers.ActionMaskWrapper(gym.make('TextSumm-Easy-v0'),"
        " mode='reference_vocab')\n"
        "assert 'torch' not in sys.modules and 'stable_baselines3' not in sys.modules\n"
        "sys.modules['stable_baselines3'] = None\n"
        "try:\n"
        "    import textgym.policies.sb3\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert 'pip install "textgym[sb3]"' in result.stdout


# ---------------------------------------------------------------------------- learning
def evaluate(model, env: gym.Env, episodes: int = 2, masked: bool = False) -> list[float]:
    """Validation scores of the deterministic policy on fixed samples."""
    scores = []
    for sample_id in range(episodes):
        obs, _ = env.reset(options={"sample_id": sample_id})
        terminated = False
        while not terminated:
            extra = {"action_masks": env.action_masks()} if masked else {}
            action, _ = model.predict(obs, deterministic=True, **extra)
            obs, _, terminated, _, info = env.step(int(action))
        scores.append(info["metrics"]["score"])
    return scores


ALGOS = {
    "PPO": lambda env: PPO(
        "MultiInputPolicy", env, n_steps=64, batch_size=32, n_epochs=2,
        policy_kwargs=policy_kwargs(**TINY_NET), seed=0, device="cpu",
    ),
    "A2C": lambda env: A2C(
        "MultiInputPolicy", env, n_steps=16, policy_kwargs=policy_kwargs(**TINY_NET), seed=0,
        device="cpu",
    ),
    "DQN": lambda env: DQN(
        "MultiInputPolicy", env, buffer_size=500, learning_starts=64, batch_size=32,
        train_freq=4, target_update_interval=64, policy_kwargs=policy_kwargs(**TINY_NET),
        seed=0, device="cpu",
    ),
}  # fmt: skip


@pytest.mark.parametrize("env_id", EASY_IDS)
@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_sb3_algorithm_learns_and_scores_in_unit_interval(algo: str, env_id: str) -> None:
    torch.set_num_threads(1)
    model = ALGOS[algo](gym.make(env_id, reward_mode="dense"))
    model.learn(total_timesteps=192)
    scores = evaluate(model, gym.make(env_id, split="validation"))
    assert all(math.isfinite(s) and 0.0 <= s <= 1.0 for s in scores)


@pytest.mark.parametrize("env_id", EASY_IDS)
def test_maskable_ppo_learns_with_bigram_masks(env_id: str, bigrams) -> None:
    sb3_contrib = pytest.importorskip("sb3_contrib")
    torch.set_num_threads(1)
    env = ActionMaskWrapper(gym.make(env_id), bigram=bigrams[env_id], k=4)
    model = sb3_contrib.MaskablePPO(
        "MultiInputPolicy", env, n_steps=64, batch_size=32, n_epochs=2,
        policy_kwargs=policy_kwargs(**TINY_NET), seed=0, device="cpu",
    )  # fmt: skip
    model.learn(total_timesteps=192)
    eval_env = ActionMaskWrapper(gym.make(env_id, split="validation"), bigram=bigrams[env_id], k=4)
    scores = evaluate(model, eval_env, masked=True)
    assert all(math.isfinite(s) and 0.0 <= s <= 1.0 for s in scores)


# ---------------------------------------------------------------------------- masks
@pytest.mark.parametrize("env_id", EASY_IDS)
@pytest.mark.parametrize("mode", MASK_MODES)
def test_masks_allow_eos_and_are_never_all_false(env_id: str, mode: str, bigrams) -> None:
    env = ActionMaskWrapper(gym.make(env_id), mode=mode, bigram=bigrams[env_id], k=3)
    eos = env.unwrapped.tokenizer.eos_id
    for mask in rollout_masks(env, episodes=5, seed=1):
        assert mask.dtype == np.bool_ and mask.shape == (env.action_space.n,)
        assert mask[eos]
        assert 1 < mask.sum() < mask.size


@pytest.mark.parametrize("env_id", EASY_IDS)
@pytest.mark.parametrize("mode", ["reference_vocab", "bigram"])
def test_reference_policy_still_reaches_the_ceiling_through_the_mask(
    env_id: str, mode: str, bigrams
) -> None:
    # Exact for the oracle mode; for the bigram proposal, checked on the train samples it was
    # fitted on (each reference bigram was counted, and k covers the easy ids' successors).
    kwargs = {"k": 40, "lexicon_k": 0} if mode == "bigram" else {}
    env = ActionMaskWrapper(gym.make(env_id), mode=mode, bigram=bigrams[env_id], **kwargs)
    for sample_id in range(10):
        env.reset(options={"sample_id": sample_id})
        terminated = False
        while not terminated:
            action = env.unwrapped.reference_action()
            assert env.action_masks()[action]
            _, reward, terminated, _, info = env.step(action)
        assert info["metrics"]["score"] == pytest.approx(1.0)


@pytest.mark.parametrize("env_id", EASY_IDS)
def test_bigram_masks_are_deterministic_and_respect_k(env_id: str) -> None:
    first, second = fit_bigram(env_id, num_samples=200), fit_bigram(env_id, num_samples=200)
    for k in (1, 5):
        table = first.top_k_table(k)
        assert table.shape == (first.vocab_size + 1, k)
        assert all(len(set(row)) == k for row in table.tolist())
        np.testing.assert_array_equal(table, second.top_k_table(k))

        def make(model: BigramModel, k: int = k) -> ActionMaskWrapper:
            return ActionMaskWrapper(
                gym.make(env_id), bigram=model, k=k, copy_prompt=False, lexicon_k=0
            )

        masks_a, masks_b = rollout_masks(make(first), 4, seed=3), rollout_masks(make(second), 4, 3)
        assert len(masks_a) == len(masks_b)
        for a, b in zip(masks_a, masks_b, strict=True):
            np.testing.assert_array_equal(a, b)
            assert a.sum() <= k + 1  # the top-k, and EOS if it was not among them


def test_bigram_fit_uses_the_train_split_and_the_start_context() -> None:
    validation_env = gym.make("TextTrans-Easy-v0", split="validation")
    from_env = fit_bigram(validation_env, num_samples=100)
    from_id = fit_bigram("TextTrans-Easy-v0", num_samples=100)
    np.testing.assert_array_equal(from_env.pairs, from_id.pairs)
    np.testing.assert_array_equal(from_env.counts, from_id.counts)
    assert from_env.num_texts >= 100
    # Every reference starts after the start context, so its successors sum to num_texts.
    assert from_env.counts[from_env.pairs[:, 0] == from_env.start_id].sum() == from_env.num_texts
    assert from_env.unigram[from_env.eos_id] == from_env.num_texts


def test_lexicon_proposes_translations_of_prompt_words(bigrams) -> None:
    env_id = "TextTrans-Easy-v1"
    plain = ActionMaskWrapper(gym.make(env_id), bigram=bigrams[env_id], k=2, lexicon_k=0)
    lexical = ActionMaskWrapper(gym.make(env_id), bigram=bigrams[env_id], k=2, lexicon_k=2)
    covered = {"plain": 0, "lexical": 0}
    total = 0
    for wrapper, name in ((plain, "plain"), (lexical, "lexical")):
        for sample_id in range(20):
            wrapper.reset(options={"sample_id": sample_id})
            terminated = False
            while not terminated:
                action = wrapper.unwrapped.reference_action()
                covered[name] += bool(wrapper.action_masks()[action])
                total += name == "plain"
                _, _, terminated, _, _ = wrapper.step(action)
    assert covered["lexical"] > covered["plain"]
    assert covered["lexical"] >= 0.9 * total


def test_bad_mode_k_and_vocabulary_raise_clear_errors(bigrams) -> None:
    env = gym.make("TextSumm-Easy-v0")
    with pytest.raises(ValueError, match="mode: expected one of"):
        ActionMaskWrapper(env, mode="top_k")
    for bad in (0, -1, 10**6, 2.5, True):
        with pytest.raises(ValueError, match="k: expected an integer"):
            ActionMaskWrapper(env, bigram=bigrams["TextSumm-Easy-v1"], k=bad)
    with pytest.raises(ValueError, match="lexicon_k"):
        ActionMaskWrapper(env, bigram=bigrams["TextSumm-Easy-v1"], lexicon_k=-1)
    with pytest.raises(ValueError, match="vocabulary of"):
        ActionMaskWrapper(env, bigram=bigrams["TextTrans-Easy-v1"])
    with pytest.raises(ValueError, match="num_samples"):
        fit_bigram("TextSumm-Easy-v0", num_samples=0)


@pytest.mark.parametrize("env_id", EASY_IDS)
def test_check_env_passes_on_the_wrapped_env_and_it_pickles(env_id: str, bigrams) -> None:
    env = ActionMaskWrapper(gym.make(env_id), bigram=bigrams[env_id])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Gymnasium's checker always notes that a wrapper is applied; the wrapper is the subject.
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version")
        gym_check_env(env)
        sb3_check_env(env, warn=True)
    env.reset(seed=4)
    env.step(int(np.flatnonzero(env.action_masks())[-1]))
    clone = pickle.loads(pickle.dumps(env))
    np.testing.assert_array_equal(clone.action_masks(), env.action_masks())
    np.testing.assert_array_equal(clone.bigram.pairs, env.bigram.pairs)


@pytest.mark.filterwarnings("ignore:.*render_mode='rgb_array'")
def test_sb3_make_vec_env_builds_textgym_envs() -> None:
    # make_vec_env first tries render_mode="rgb_array" and falls back on TypeError only.
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env("TextSumm-Easy-v0", n_envs=2, seed=0)
    obs = venv.reset()
    assert obs["prompt_ids"].shape[0] == 2
    venv.close()
