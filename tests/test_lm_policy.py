"""LMActorCritic: KV-cached stepping equals recomputation, batching, sampling, rollouts."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
# Tiny models: one thread each. Two threads per test worker on two shared cores made a
# 30-step warm start 40x slower (spinning threads), not faster.
torch.set_num_threads(1)

import gymnasium as gym  # noqa: E402
from gymnasium.vector import AutoresetMode  # noqa: E402

from textgym.policies.lm import (  # noqa: E402
    LMActorCritic,
    Sampling,
    make_envs,
    rollout,
    tiny_causal_lm_config,
)

ENV_ID = "TextDial-Easy-v0"  # prompts of very different lengths: padding matters


def tiny_policy(envs, **kwargs) -> LMActorCritic:
    task = envs.unwrapped.task if hasattr(envs.unwrapped, "task") else envs.unwrapped
    vocab = task.tokenizer.vocab_size
    torch.manual_seed(0)
    length = task.max_prompt_len + task.max_new_tokens
    config = tiny_causal_lm_config(vocab, n_positions=length, n_embd=32, n_layer=1, n_head=2)
    policy = LMActorCritic(config, vocab_size=vocab, **kwargs)
    # A non-zero value head, so value equality is a real check.
    torch.nn.init.normal_(policy.value_head.weight)
    return policy


@pytest.fixture(scope="module")
def envs():
    return make_envs(ENV_ID, 4)


# KV cache vs recomputation vs teacher forcing, and batched vs single prompts, for every
# architecture family: tests/test_lm_architectures.py.


def test_vocab_mismatch_is_a_clear_error(envs):
    config = tiny_causal_lm_config(50, n_embd=16, n_layer=1, n_head=2)
    with pytest.raises(ValueError, match="vocab_size"):
        LMActorCritic.from_env(envs, model=config)


def test_sampling_controls():
    logits = torch.tensor([[4.0, 3.0, 2.0, 1.0, 0.0]])
    top2 = Sampling(top_k=2).log_probs(logits)
    assert torch.isfinite(top2[0, :2]).all() and torch.isinf(top2[0, 2:]).all()
    probs = torch.softmax(logits, -1)[0]
    nucleus = Sampling(top_p=float(probs[0] + probs[1] / 2)).log_probs(logits)
    assert torch.isfinite(nucleus[0, :2]).all() and torch.isinf(nucleus[0, 2:]).all()
    cold = Sampling(temperature=0.5).log_probs(logits).exp()
    torch.testing.assert_close(cold, torch.softmax(logits / 0.5, -1))
    many = logits.repeat(64, 1)
    draw = Sampling(top_k=2).sample(many, torch.Generator().manual_seed(0))
    again = Sampling(top_k=2).sample(many, torch.Generator().manual_seed(0))
    assert set(draw.tolist()) <= {0, 1} and torch.equal(draw, again)
    greedy_rows = torch.arange(64) % 2 == 0
    mixed = Sampling().sample(many, torch.Generator().manual_seed(0), greedy_rows)
    assert (mixed[greedy_rows] == 0).all()
    with pytest.raises(ValueError, match="temperature"):
        Sampling(temperature=0.0)


def test_rollout_takes_rewards_and_metrics_from_the_env(envs):
    policy = tiny_policy(envs)
    batch = rollout(policy, envs, generator=torch.Generator().manual_seed(0), seed=5)
    lengths = batch.action_mask.sum(1)
    assert batch.active.all() and (lengths >= 1).all()
    # Terminal rewards: the only non-zero reward is the score, at the last action.
    torch.testing.assert_close(batch.rewards.sum(1).double(), torch.as_tensor(batch.scores))
    # Replaying the actions in a fresh env gives the same texts and scores.
    env = gym.make(ENV_ID)
    for row in range(4):
        env.reset(options={"sample_id": int(batch.sample_ids[row].split("-")[1])})
        for action in batch.actions[row, : int(lengths[row])].tolist():
            _, reward, terminated, _, info = env.step(action)
        assert terminated
        assert info["generated"] == batch.texts[row]
        assert info["metrics"] == pytest.approx(batch.metrics[row])


def test_rollout_with_gymnasium_sync_vector_env_matches_native(envs):
    policy = tiny_policy(envs)
    sync = gym.make_vec(ENV_ID, num_envs=4, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": AutoresetMode.DISABLED})  # fmt: skip
    a = rollout(policy, envs, generator=torch.Generator().manual_seed(0), seed=11)
    b = rollout(policy, sync, generator=torch.Generator().manual_seed(0), seed=11)
    assert torch.equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.texts == b.texts


def test_rollout_replays_sample_ids_and_leaves_spare_envs_inactive(envs):
    policy = tiny_policy(envs)
    batch = rollout(policy, envs, greedy=True, sample_ids=[7, 3])
    assert batch.active.tolist() == [True, True, False, False]
    assert batch.sample_ids[:2] == ["train-7", "train-3"]
    assert batch.action_mask[2:].sum() == 0
    again = rollout(policy, envs, greedy=True, sample_ids=[7, 3])
    assert torch.equal(batch.actions, again.actions)


def test_rollout_needs_autoreset_disabled():
    policy = tiny_policy(make_envs(ENV_ID, 2))
    with pytest.raises(ValueError, match="DISABLED"):
        rollout(policy, gym.make_vec(ENV_ID, num_envs=2))


def test_lora_reference_costs_no_copy_and_starts_equal(envs):
    pytest.importorskip("peft")
    policy = tiny_policy(envs, reference="lora")
    report = policy.memory_report()
    assert report["reference_params"] == 0
    assert report["trainable_params"] < report["model_params"] / 2
    obs, _ = envs.reset(seed=0)
    args = (torch.as_tensor(obs["prompt_ids"]), torch.as_tensor(obs["prompt_mask"]),
            torch.full((4, 3), 5), torch.ones(4, 3))  # fmt: skip
    with torch.no_grad():
        logits, _ = policy.sequence_outputs(*args)
    reference, _ = policy.sequence_outputs(*args, reference=True)
    torch.testing.assert_close(logits, reference)  # LoRA starts as the identity
    for p in policy.trainable_parameters():
        p.data.add_(0.05)
    with torch.no_grad():
        moved, _ = policy.sequence_outputs(*args)
    assert not torch.allclose(moved, policy.sequence_outputs(*args, reference=True)[0])


def test_frozen_reference_is_a_frozen_copy(envs):
    policy = tiny_policy(envs)
    assert all(not p.requires_grad for p in policy.reference.parameters())
    report = policy.memory_report()
    assert report["reference_params"] == report["model_params"]
    assert report["trainable_params"] == report["model_params"] + report["value_head_params"]


def test_model_from_a_local_path(envs, tmp_path):
    policy = tiny_policy(envs)
    policy.model.save_pretrained(tmp_path)
    loaded = LMActorCritic(str(tmp_path), vocab_size=policy.vocab_size)
    for a, b in zip(policy.model.parameters(), loaded.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_import_textgym_stays_light_and_missing_extra_is_named():
    import subprocess
    import sys

    code = (
        "import sys, textgym, gymnasium as gym\n"
        "gym.make('TextTrans-Easy-v0')\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
        "sys.modules['transformers'] = None  # as if the extra were not installed\n"
        "try:\n"
        "    import textgym.policies.lm\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert 'pip install "textgym[lm]"' in done.stdout


def test_from_env_builds_tiny_models_of_either_kind() -> None:
    envs = make_envs("TextTrans-Easy-v0", 2)
    task = envs.unwrapped.task
    gpt2 = LMActorCritic.from_env(envs, width=16, layers=1, heads=2, reference=None)
    assert gpt2.model.config.n_embd == 16 and not gpt2.is_encoder_decoder
    assert gpt2.model.config.n_positions == task.max_prompt_len + task.max_new_tokens
    t5 = LMActorCritic.from_env(envs, arch="t5", width=16, layers=1, heads=2, reference=None)
    assert t5.is_encoder_decoder and t5.model.config.d_ff == 32
    assert t5.model.config.eos_token_id == task.tokenizer.eos_id
    with pytest.raises(ValueError, match="arch: expected 'gpt2' or 't5'"):
        LMActorCritic.from_env(envs, arch="bert")
