"""Episode semantics: termination, the reference ceiling, dense vs terminal rewards, splits."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import textgym

FAMILIES = textgym.BENCHMARK
ALL_IDS = list(textgym.ENV_IDS)


def play(env: gym.Env, actions) -> tuple[list[float], dict, bool, bool, int]:
    """Step through ``actions`` (a list, or a callable of the env) until the episode ends."""
    rewards: list[float] = []
    info: dict = {}
    terminated = truncated = False
    steps = 0
    while not (terminated or truncated):
        action = actions(env) if callable(actions) else actions[steps]
        _, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        steps += 1
    return rewards, info, terminated, truncated, steps


def reference(env: gym.Env) -> int:
    return env.unwrapped.reference_action()


@pytest.mark.parametrize("env_id", ALL_IDS)
@pytest.mark.parametrize("mode", ["terminal", "dense"])
def test_reference_policy_scores_the_ceiling(env_id: str, mode: str) -> None:
    env = gym.make(env_id, reward_mode=mode)
    for episode in range(20):
        env.reset(seed=episode)
        rewards, info, terminated, truncated, _ = play(env, reference)
        assert terminated and not truncated
        assert info["generated"] == info["references"][0]
        assert sum(rewards) == pytest.approx(1.0, abs=1e-9)
        assert all(v == pytest.approx(1.0, abs=1e-9) for v in info["metrics"].values()), info


@pytest.mark.parametrize("env_id", FAMILIES)
def test_eos_terminates_at_once_with_empty_text(env_id: str) -> None:
    env = gym.make(env_id)
    obs, _ = env.reset(seed=0)
    eos = env.unwrapped.tokenizer.eos_id
    obs, reward, terminated, truncated, info = env.step(eos)
    assert terminated and not truncated
    assert info["generated"] == "" and reward == 0.0
    assert obs["generated_mask"].sum() == 0
    assert obs["remaining"][0] == env.unwrapped.max_new_tokens
    assert info["metrics"]["score"] == 0.0


@pytest.mark.parametrize("env_id", FAMILIES)
def test_length_limit_terminates_not_truncates(env_id: str) -> None:
    env = gym.make(env_id, max_new_tokens=5)
    obs, _ = env.reset(seed=0)
    eos = env.unwrapped.tokenizer.eos_id
    word = next(i for i in range(3, env.action_space.n) if i != eos)
    for step in range(5):
        assert obs["remaining"][0] == 5 - step
        obs, reward, terminated, truncated, info = env.step(word)
        assert truncated is False
        assert terminated is (step == 4)
    assert obs["generated_mask"].tolist() == [1] * 5
    assert obs["generated_ids"].tolist() == [word] * 5
    assert "metrics" in info and reward == info["metrics"]["score"]


@pytest.mark.parametrize("env_id", FAMILIES)
def test_dense_rewards_sum_to_the_terminal_score(env_id: str) -> None:
    terminal = gym.make(env_id)
    dense = gym.make(env_id, reward_mode="dense")
    rng = np.random.default_rng(0)
    for episode in range(15):
        terminal.reset(seed=episode)
        dense.reset(seed=episode)
        # Mix reference tokens and random ones, so partial matches give non-trivial scores.
        target = terminal.unwrapped.tokenizer.encode(terminal.unwrapped.sample.references[0])
        actions = [t if rng.random() < 0.7 else int(rng.integers(3, terminal.action_space.n))
                   for t in target]  # fmt: skip
        actions.append(terminal.unwrapped.tokenizer.eos_id)
        actions = actions[: terminal.unwrapped.max_new_tokens]
        r_terminal, info_t, *_ = play(terminal, actions)
        r_dense, info_d, *_ = play(dense, actions)
        assert all(r == 0.0 for r in r_terminal[:-1])
        assert sum(r_dense) == pytest.approx(r_terminal[-1], abs=1e-9)
        assert info_d["metrics"] == pytest.approx(info_t["metrics"], abs=1e-9)


@pytest.mark.parametrize("env_id", FAMILIES)
def test_random_policy_scores_far_below_the_reference(env_id: str) -> None:
    env = gym.make(env_id)
    env.action_space.seed(0)
    scores = []
    for episode in range(30):
        env.reset(seed=episode)
        rewards, *_ = play(env, lambda e: e.action_space.sample())
        scores.append(sum(rewards))
    assert np.mean(scores) < 0.2


@pytest.mark.parametrize("env_id", FAMILIES)
def test_splits_are_disjoint(env_id: str) -> None:
    sources = {}
    for split in ("train", "validation", "test"):
        env = gym.make(env_id, split=split, num_samples=300)
        sources[split] = {s.source for s in env.unwrapped.dataset}
        assert len(sources[split]) > 250  # mostly distinct samples
    assert not sources["train"] & sources["validation"]
    assert not sources["train"] & sources["test"]
    assert not sources["validation"] & sources["test"]


def test_sample_id_replays_a_fixed_sample() -> None:
    env = gym.make("TextSumm-v0", split="validation")
    _, first = env.reset(seed=1, options={"sample_id": 42})
    _, again = env.reset(options={"sample_id": 42})
    _, other = env.reset(seed=99, options={"sample_id": 42})
    assert first == again == other
    assert first["sample_id"] == "validation-42"


def test_info_carries_texts_and_metrics_only_at_the_end() -> None:
    env = gym.make("TextTrans-v0")
    _, info = env.reset(seed=0)
    assert set(info) == {"sample_id", "source", "references", "generated", "prompt_truncated"}
    assert isinstance(info["references"], list) and info["generated"] == ""
    _, _, _, _, info = env.step(env.unwrapped.reference_action())
    assert "metrics" not in info
    rewards, info, *_ = play(env, reference)
    assert set(info["metrics"]) == {"score", "bleu", "chrf"}


def test_report_metrics_false_keeps_only_the_score() -> None:
    env = gym.make("TextTrans-v0", report_metrics=False)
    env.reset(seed=0)
    rewards, info, *_ = play(env, reference)
    assert info["metrics"] == {"score": 1.0}


def test_prompt_holds_template_and_source() -> None:
    env = gym.make("TextTrans-v0")
    obs, info = env.reset(seed=0)
    tok = env.unwrapped.tokenizer
    n = int(obs["prompt_mask"].sum())
    assert tok.decode(obs["prompt_ids"][:n].tolist()) == "translate: " + info["source"]
    assert (obs["prompt_ids"][n:] == tok.pad_id).all()


def test_render_ansi_shows_the_episode() -> None:
    env = gym.make("TextDial-v0", render_mode="ansi")
    _, info = env.reset(seed=0)
    play(env, reference)
    text = env.render()
    assert info["source"][:40] in text.replace("\n  ", " ")
    assert "reference 0:" in text and "score=1.0000" in text


def test_embedded_tokenizer_round_trips_every_reference() -> None:
    for env_id in FAMILIES:
        env = gym.make(env_id, split="validation", num_samples=200)
        tok = env.unwrapped.tokenizer
        for sample in env.unwrapped.dataset:
            for ref in sample.references:
                ids = tok.encode(ref)
                assert tok.unk_id not in ids
                assert tok.decode(ids) == ref
                assert len(ids) < env.unwrapped.max_new_tokens
