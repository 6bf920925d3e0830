"""Resumable trainers: k + m iterations in one go equal k, save, load into fresh objects, m."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
# Tiny models: one thread each (see test_algos.py: spinning threads on shared cores).
torch.set_num_threads(1)

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from gymnasium.vector import AutoresetMode  # noqa: E402

from textgym.algos import (  # noqa: E402
    PPOConfig,
    PPOTrainer,
    SCSTConfig,
    SCSTTrainer,
    SupervisedConfig,
    SupervisedTrainer,
    Trainer,
)
from textgym.policies.lm import (  # noqa: E402
    LMActorCritic,
    make_envs,
    task_of,
    tiny_causal_lm_config,
    tiny_seq2seq_config,
)

ENV_ID = "TextTrans-Easy-v0"
NUM_ENVS = 4


def tiny_policy(envs, kind: str = "gpt2", *, init_seed: int = 0) -> LMActorCritic:
    """A tiny policy; ``init_seed`` changes every weight, so a load must overwrite them all."""
    task = task_of(envs)
    vocab = task.tokenizer.vocab_size
    torch.manual_seed(init_seed)
    reference = "lora" if kind == "lora" else "frozen"
    if kind == "t5":
        config = tiny_seq2seq_config(vocab, d_model=32, num_layers=1, num_heads=2, d_ff=64)
    else:
        length = task.max_prompt_len + task.max_new_tokens
        config = tiny_causal_lm_config(vocab, n_positions=length, n_embd=32, n_layer=1, n_head=2)
    policy = LMActorCritic(config, vocab_size=vocab, reference=reference)
    # A non-zero value head (by default it starts at 0 whatever the seed).
    torch.nn.init.normal_(policy.value_head.weight, std=0.1)
    if init_seed:  # policy != reference: the KL terms are not 0
        for p in policy.trainable_parameters():
            p.data.add_(torch.randn_like(p) * 0.05)
    return policy


def build(algo: str, kind: str = "gpt2", *, init_seed: int = 1, seed: int = 0,
          envs_mode: str = "native", **overrides) -> Trainer:  # fmt: skip
    """A fresh trainer on a fresh policy and fresh envs."""
    if envs_mode == "sync":
        envs = gym.make_vec(ENV_ID, num_envs=NUM_ENVS, vectorization_mode="sync",
                            vector_kwargs={"autoreset_mode": AutoresetMode.DISABLED})  # fmt: skip
    else:
        envs = make_envs(ENV_ID, NUM_ENVS)
    policy = tiny_policy(envs, kind, init_seed=init_seed)
    if algo == "sft":
        options = {"steps": 6, "batch_size": 4, "learning_rate": 3e-3, "seed": seed}
        return SupervisedTrainer(policy, envs, SupervisedConfig(**options, **overrides))
    if algo == "scst":
        options = {"iterations": 4, "kl_coef": 0.05, "learning_rate": 1e-3, "seed": seed}
        return SCSTTrainer(policy, envs, SCSTConfig(**options, **overrides))
    config = {"iterations": 4, "epochs": 2, "minibatch_size": 2, "learning_rate": 1e-3,
              "target_kl": 0.01, "kl_horizon": 16, "seed": seed, **overrides}  # fmt: skip
    return PPOTrainer(policy, envs, PPOConfig(**config))


def deterministic(stats: dict[str, float]) -> dict[str, float]:
    """The statistics without wall-clock rates."""
    return {k: v for k, v in stats.items() if not k.startswith("perf/")}


def assert_same_state(a, b, where: str = "state") -> None:
    """Recursive exact equality of two state dicts (tensors with torch.equal)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype, where
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            assert_same_state(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_state(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def run_resumed(algo: str, kind: str, k: int, m: int, tmp_path, **options):
    """Stats of the last ``m`` iterations and the trainer, uninterrupted and resumed."""
    straight = build(algo, kind, **options)
    stats = [deterministic(straight.step()) for _ in range(k + m)]

    first = build(algo, kind, **options)
    for _ in range(k):
        first.step()
    path = tmp_path / "state.pt"
    torch.save(first.state_dict(), path)
    del first
    torch.manual_seed(1234)  # the global RNG moves on in between, as in a new process

    resumed = build(algo, kind, init_seed=2, **options)
    resumed.load_state_dict(torch.load(path, weights_only=True))
    assert resumed.iteration == k
    tail = [deterministic(resumed.step()) for _ in range(m)]
    return stats[k:], tail, straight, resumed


CASES = [("sft", "gpt2"), ("sft", "t5"), ("scst", "gpt2"), ("scst", "t5"),
         ("ppo", "gpt2"), ("ppo", "t5")]  # fmt: skip


@pytest.mark.parametrize(("algo", "kind"), CASES)
def test_resume_is_bit_exact(algo, kind, tmp_path):
    expected, resumed_stats, straight, resumed = run_resumed(algo, kind, 2, 2, tmp_path)
    assert resumed_stats == expected
    assert resumed.iteration == straight.iteration == 4
    for name, tensor in straight.policy.state_dict().items():
        assert torch.equal(tensor, resumed.policy.state_dict()[name]), name
    # Optimizer moments, generators and env streams too: a second resume would also match.
    state, again = straight.state_dict(), resumed.state_dict()
    state.pop("torch_rng"), again.pop("torch_rng")  # the global RNG is shared by both runs
    if algo == "scst":  # it replays chosen samples: the env streams are unseeded and unused
        state.pop("env_rng"), again.pop("env_rng")
    assert_same_state(state, again)


@pytest.mark.parametrize("k", [0, 1])
def test_ppo_resume_around_the_seeded_first_iteration(k, tmp_path):
    # Iteration 1 seeds the env resets and sets the value bias: once, whatever the split.
    expected, resumed_stats, straight, resumed = run_resumed("ppo", "gpt2", k, 2, tmp_path)
    assert resumed_stats == expected
    assert torch.equal(straight.policy.value_head.bias, resumed.policy.value_head.bias)


def test_ppo_resume_with_a_sync_vector_env(tmp_path):
    expected, resumed_stats, _, _ = run_resumed("ppo", "gpt2", 2, 1, tmp_path, envs_mode="sync")
    assert resumed_stats == expected


def test_ppo_resume_with_lora_reference(tmp_path):
    pytest.importorskip("peft")
    expected, resumed_stats, straight, resumed = run_resumed("ppo", "lora", 1, 2, tmp_path)
    assert resumed_stats == expected
    assert expected[-1]["train/kl"] != 0.0  # the adapters moved: the reference was restored
    for name, tensor in straight.policy.state_dict().items():
        assert torch.equal(tensor, resumed.policy.state_dict()[name]), name


def test_resumed_ppo_keeps_the_adaptive_kl_coefficient(tmp_path):
    trainer = build("ppo")
    for _ in range(2):
        trainer.step()
    value = trainer.controller.value
    assert value != trainer.config.kl_coef  # the controller moved: the check below means it
    path = tmp_path / "state.pt"
    torch.save(trainer.state_dict(), path)
    resumed = build("ppo", init_seed=2)
    assert resumed.controller.value == resumed.config.kl_coef
    resumed.load_state_dict(torch.load(path, weights_only=True))
    assert resumed.controller.value == value
    assert trainer.step()["train/kl_coef"] == resumed.step()["train/kl_coef"]


@pytest.mark.parametrize("algo", ["sft", "scst", "ppo"])
def test_same_seed_same_stats(algo):
    runs = [build(algo, seed=s) for s in (0, 0, 1)]
    stats = [[deterministic(t.step()) for _ in range(2)] for t in runs]
    assert stats[0] == stats[1]
    assert stats[0] != stats[2]


@pytest.mark.parametrize("algo", ["sft", "scst", "ppo"])
def test_step_counts_iterations_and_env_usage(algo):
    trainer = build(algo)
    assert trainer.iteration == 0
    stats = trainer.step()
    assert trainer.iteration == 1
    assert all(isinstance(v, float) and np.isfinite(v) for v in stats.values())
    if algo == "sft":
        assert stats["env/episodes"] == stats["env/tokens"] == 0.0
        assert stats["train/tokens"] > 0
    else:
        assert stats["env/episodes"] == NUM_ENVS
        horizon = task_of(trainer.env).max_new_tokens
        assert NUM_ENVS <= stats["env/tokens"] <= NUM_ENVS * horizon


def test_supervised_finish_refreshes_the_reference_once():
    trainer = build("sft")
    trainer.step()
    trainer.finish()
    assert not trainer.policy.training
    reference = trainer.policy.reference
    for p, q in zip(trainer.policy.model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)
    trainer.finish()  # idempotent: nothing new to copy
    assert trainer.policy.reference is reference
    trainer.step()  # training goes on after finish(), in train mode
    assert trainer.policy.training


def test_state_of_another_trainer_or_env_size_is_refused():
    state = build("ppo").state_dict()
    with pytest.raises(ValueError, match="'ppo' trainer"):
        build("scst").load_state_dict(state)
    other = PPOTrainer(tiny_policy(make_envs(ENV_ID, 2)), make_envs(ENV_ID, 2),
                       PPOConfig(minibatch_size=2))  # fmt: skip
    before = {k: v.clone() for k, v in other.policy.state_dict().items()}
    with pytest.raises(ValueError, match="num_envs"):
        other.load_state_dict(state)
    for name, tensor in other.policy.state_dict().items():  # refused before changing anything
        assert torch.equal(tensor, before[name]), name


def test_a_generator_state_from_another_device_reseeds_with_a_warning():
    """A CUDA generator's state (Philox, 16 bytes) cannot set a CPU generator: the trainer
    re-seeds from it, deterministically, and says so."""
    from textgym.algos import DeviceChangeWarning

    state = build("ppo").state_dict()
    cuda_like = torch.tensor([7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0], dtype=torch.uint8)
    state["generator"] = cuda_like

    def resumed_stats() -> dict[str, float]:
        trainer = build("ppo")
        with pytest.warns(DeviceChangeWarning, match="re-seeded from the saved state"):
            trainer.load_state_dict(state)
        return deterministic(trainer.step())

    assert resumed_stats() == resumed_stats()  # determined by the checkpoint alone
