"""Bad input raises an error that names the problem; nothing returns a wrong reward."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded

import textgym  # noqa: F401
from textgym.tasks.translation.env import TextTransEnv

TOY = [
    {"source": "the cat sat on the mat", "references": ["le chat"]},
    {"source": "a dog ran", "reference": "un chien"},
]


@pytest.fixture
def env() -> gym.Env:
    env = gym.make("TextTrans-v0")
    env.reset(seed=0)
    return env


@pytest.mark.parametrize("action", [-1, 10**9])
def test_out_of_range_action(env: gym.Env, action: int) -> None:
    with pytest.raises(ValueError, match=r"action: token id .* is outside \[0, \d+\)"):
        env.unwrapped.step(action)


@pytest.mark.parametrize(
    "action", [3.5, 3.0, "4", True, np.float32(2), np.array([1.0]), None, [1, 2]]
)
def test_non_integer_action(env: gym.Env, action: object) -> None:
    with pytest.raises(ValueError, match="action: expected an integer token id"):
        env.unwrapped.step(action)


def test_array_of_several_actions(env: gym.Env) -> None:
    with pytest.raises(ValueError, match=r"action: expected one token id, got an array of shape"):
        env.unwrapped.step(np.array([3, 4]))


@pytest.mark.parametrize("action", [np.int64(5), np.int32(5), np.array(5), np.array([5]), 5])
def test_integer_like_actions_are_accepted(env: gym.Env, action: object) -> None:
    obs, *_ = env.unwrapped.step(action)
    assert obs["generated_ids"][0] == 5


def test_step_before_reset() -> None:
    with pytest.raises(RuntimeError, match=r"before reset\(\)"):
        TextTransEnv().step(3)
    with pytest.raises(ResetNeeded):
        gym.make("TextTrans-v0").step(3)


def test_step_after_the_episode_ended(env: gym.Env) -> None:
    eos = env.unwrapped.tokenizer.eos_id
    env.step(eos)
    with pytest.raises(RuntimeError, match="after the episode ended"):
        env.unwrapped.step(3)


def test_unknown_kwarg_is_named_with_a_suggestion() -> None:
    # Worded as Python's own TypeError, then the suggestion and the valid names.
    with pytest.raises(
        TypeError,
        match=r"TextSummEnv\.__init__\(\) got an unexpected keyword argument 'rewrd' "
        r"\(did you mean 'reward'\?\); valid arguments: data, tokenizer, reward,",
    ):
        gym.make("TextSumm-v0", rewrd="bleu")


@pytest.mark.parametrize("make", [gym.make, lambda env_id, **kw: gym.make_vec(env_id, 2, **kw)])
def test_unknown_kwargs_read_like_pythons_typeerror_for_probing_libraries(make) -> None:
    # Libraries such as TorchRL pass optional arguments (frameskip) and drop the one a
    # TypeError names in Python's words; each unknown name must be findable that way.
    kwargs = {"frameskip": 1, "max_new_tokens": 8, "colour": "blue"}
    dropped = []
    while True:
        try:
            env = make("TextTrans-v1", **kwargs)
            break
        except TypeError as exc:
            named = [k for k in kwargs if f"unexpected keyword argument {k!r}" in str(exc)]
            assert named, str(exc)
            dropped += named
            for key in named:
                del kwargs[key]
    assert sorted(dropped) == ["colour", "frameskip"]
    assert kwargs == {"max_new_tokens": 8}
    env.close()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reward": "blue"}, r"reward: unknown metric 'blue'.*Did you mean 'bleu'"),
        ({"reward": {"bleu": 0.5, "f1": 0.6}}, r"reward: weights .* sum to 1.1"),
        ({"reward": {"bleu": -1.0, "f1": 2.0}}, r"reward: weight of 'bleu' is -1.0"),
        ({"reward": "nosuchmodule_xyz:fn"}, r"reward: cannot import module 'nosuchmodule_xyz'"),
        ({"reward": "math:nosuchfn"}, r"reward: module 'math' has no attribute 'nosuchfn'"),
        ({"reward_mode": "sparse"}, r"reward_mode: expected 'terminal' or 'dense'"),
        ({"split": "dev"}, r"split: expected one of train, validation, test, got 'dev'"),
        ({"difficulty": "extreme"}, r"difficulty: expected one of easy, medium, hard"),
        ({"data_config": {"nope": 1}}, r"data_config: unknown field\(s\) \['nope'\]"),
        ({"max_new_tokens": 0}, r"max_new_tokens: expected an integer >= 1, got 0"),
        ({"max_prompt_len": 2.5}, r"max_prompt_len: expected an integer >= 1, got 2.5"),
        ({"prompt_template": "translate"}, r"prompt_template: .* '\{source\}' field"),
        ({"render_mode": "human"}, r"render_mode: expected None or 'ansi'"),
        ({"data_seed": -3}, r"data_seed: expected an integer >= 0"),
        ({"num_samples": 0}, r"num_samples: expected an integer >= 1"),
    ],
)
@pytest.mark.filterwarnings("ignore:.*render_mode='human'")
def test_bad_kwargs(kwargs: dict, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        gym.make("TextTrans-v0", **kwargs)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([], r"data: the sequence is empty"),
        ("some text", r"data: expected None \(embedded data\) or a sequence"),
        ([{"source": "x", "references": []}], r"data\[0\]: .*references is empty"),
        ([{"source": "x", "references": ["  "]}], r"data\[0\]: .*references\[0\] is empty"),
        ([{"source": "x"}], r"data\[0\]: missing field 'references'"),
        ([TOY[0], {"references": ["y"]}], r"data\[1\]: missing field 'source'"),
        ([{"source": 3, "reference": "y"}], r"data\[0\]: .*source must be a str"),
        ([["x", "y"]], r"data\[0\]: expected a Sample or a dict"),
    ],
)
def test_bad_data(data: object, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        gym.make("TextTrans-v0", data=data)


def test_bad_reset_options(env: gym.Env) -> None:
    with pytest.raises(ValueError, match=r"options\['sample_id'\]: 20000 is outside"):
        env.reset(options={"sample_id": 20_000})
    with pytest.raises(ValueError, match=r"options\['sample_id'\]: expected an integer index"):
        env.reset(options={"sample_id": "3"})
    with pytest.raises(ValueError, match=r"options: unknown key\(s\) \['sampel_id'\]"):
        env.reset(options={"sampel_id": 3})


def out_of_range_reward(text: str, references: list[str]) -> float:
    return 2.0


def test_callable_reward_out_of_range_raises_instead_of_rewarding() -> None:
    env = gym.make("TextTrans-v0", reward=out_of_range_reward)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"reward 'out_of_range_reward' returned 2.0"):
        env.step(env.unwrapped.tokenizer.eos_id)
    nan_env = gym.make("TextTrans-v0", reward=lambda t, r: float("nan"), reward_mode="dense")
    with pytest.raises(ValueError, match="returned nan"):
        nan_env.reset(seed=0)
