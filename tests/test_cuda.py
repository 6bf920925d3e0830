"""The GPU path of the LM policies and trainers: CUDA fp32 equals CPU, bf16 autocast stays close,
training works, and run folders move between devices.

Every test here needs a CUDA device and is skipped without one (CI has none); they were run on
a lent H100 (see the closing notes of issue 6). Nothing else in textgym requires a GPU.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

from textgym.algos import (  # noqa: E402
    PPOConfig,
    SCSTConfig,
    SupervisedConfig,
    evaluate,
    supervised_warm_start,
    train_ppo,
    train_scst,
)
from textgym.policies.lm import LMActorCritic, make_envs  # noqa: E402

ENV_ID = "TextDial-Easy-v0"  # ragged prompts: padding and positions matter


def policy_on(envs, device: str, kind: str = "gpt2", bf16: bool | None = None) -> LMActorCritic:
    torch.manual_seed(0)
    policy = LMActorCritic.from_env(
        envs, arch=kind, width=32, layers=1, heads=2, device=device, bf16=bf16
    )
    # Non-zero values, so value equality is a real check; drawn on the CPU, so the weights are
    # the same whatever the device (the models themselves are built on the CPU, then moved).
    weight = torch.randn(policy.value_head.weight.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        policy.value_head.weight.copy_(weight)
    return policy


def stepped(policy: LMActorCritic, obs, tokens: torch.Tensor, *, use_cache: bool):
    """Logits and values of the prompt and of each forced token, stepped one at a time."""
    device = policy.device
    state, logits, values = policy.start(
        torch.as_tensor(obs["prompt_ids"], device=device),
        torch.as_tensor(obs["prompt_mask"], device=device),
        use_cache=use_cache,
    )
    all_logits, all_values = [logits.float()], [values.float()]
    for column in tokens.to(device).T:
        logits, values = policy.advance(state, column)
        all_logits.append(logits.float())
        all_values.append(values.float())
    return torch.stack(all_logits, 1).cpu(), torch.stack(all_values, 1).cpu()


@pytest.fixture(scope="module")
def envs():
    return make_envs(ENV_ID, 4)


def random_tokens(envs, shape: tuple[int, int]) -> torch.Tensor:
    vocab = envs.unwrapped.task.tokenizer.vocab_size
    return torch.randint(3, vocab, shape, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("kind", ["gpt2", "t5"])
def test_cuda_fp32_equals_cpu(envs, kind):
    obs, _ = envs.reset(seed=0)
    tokens = random_tokens(envs, (4, 6))
    cpu = stepped(policy_on(envs, "cpu", kind), obs, tokens, use_cache=True)
    gpu_policy = policy_on(envs, "cuda", kind, bf16=False)
    assert not gpu_policy.bf16
    gpu = stepped(gpu_policy, obs, tokens, use_cache=True)
    # TF32 matmuls are off by default in torch, so fp32 on the GPU matches the CPU closely.
    torch.testing.assert_close(gpu, cpu, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", ["gpt2", "t5"])
def test_bf16_autocast_is_the_cuda_default_and_stays_close(envs, kind):
    obs, _ = envs.reset(seed=0)
    tokens = random_tokens(envs, (4, 6))
    fp32 = stepped(policy_on(envs, "cuda", kind, bf16=False), obs, tokens, use_cache=True)
    policy = policy_on(envs, "cuda", kind)
    assert policy.bf16  # on by default on CUDA
    cached = stepped(policy, obs, tokens, use_cache=True)
    recomputed = stepped(policy, obs, tokens, use_cache=False)
    # bf16 keeps 8 bits of mantissa: about 2 significant digits on logits of order 1.
    torch.testing.assert_close(cached, fp32, atol=5e-2, rtol=5e-2)
    torch.testing.assert_close(cached, recomputed, atol=5e-2, rtol=5e-2)
    # The weights stay fp32 (autocast only lowers the matmuls), so optimizer steps are exact.
    assert {p.dtype for p in policy.parameters()} == {torch.float32}


def test_rollout_tensors_live_on_the_gpu_and_log_probs_are_fp32(envs):
    from textgym.policies.lm import rollout

    policy = policy_on(envs, "cuda")
    batch = rollout(policy, make_envs(ENV_ID, 4), seed=0, generator=torch.Generator("cuda"))
    assert batch.log_probs.device.type == "cuda" and batch.log_probs.dtype == torch.float32
    assert torch.isfinite(batch.log_probs[batch.action_mask.bool()]).all()
    assert (batch.log_probs <= 0).all()


def test_warm_start_scst_and_ppo_learn_on_the_gpu():
    train_envs = make_envs("TextTrans-Easy-v0", 16, report_metrics=False)
    val_envs = make_envs("TextTrans-Easy-v0", 32, split="validation")
    torch.manual_seed(0)
    policy = LMActorCritic.from_env(train_envs, width=64, layers=2, heads=2, device="cuda")
    log = supervised_warm_start(
        policy, train_envs, SupervisedConfig(steps=60, batch_size=32, learning_rate=3e-3, seed=0)
    )
    assert log[-1]["train/sft_loss"] < 0.8 * log[0]["train/sft_loss"]
    before = evaluate(policy, val_envs, max_samples=32)["eval/score"]
    assert before > 0.08  # the warm start learned something (random play scores about 0.03)
    scst = train_scst(policy, train_envs, SCSTConfig(iterations=2, samples_per_prompt=3, seed=0))
    ppo = train_ppo(
        policy, train_envs, PPOConfig(iterations=2, minibatch_size=8, epochs=1, seed=0)
    )
    for row in scst + ppo:
        assert all(math.isfinite(v) for v in row.values() if isinstance(v, float))
    assert {p.device.type for p in policy.parameters()} == {"cuda"}


def test_same_seed_same_metrics_on_the_gpu():
    def run() -> list[dict]:
        envs = make_envs("TextTrans-Easy-v0", 8, report_metrics=False)
        torch.manual_seed(0)
        policy = LMActorCritic.from_env(envs, width=32, layers=1, heads=2, device="cuda")
        log = train_ppo(policy, envs, PPOConfig(iterations=3, minibatch_size=4, seed=0))
        return [{k: v for k, v in row.items() if not k.startswith("perf/")} for row in log]

    assert run() == run()


def test_a_gpu_run_folder_resumes_and_evaluates_on_the_cpu(tmp_path: Path):
    from textgym.bench.config import resolve
    from textgym.bench.train import evaluate_run, train

    config = resolve(overrides={
        "algo": "ppo-lm", "env_id": ENV_ID, "steps": 4, "n_envs": 4, "eval_envs": 4,
        "eval": {"episodes": 4, "every": 2}, "warm_start": {"steps": 3},
        "model": {"width": 16, "layers": 1, "heads": 2, "device": "cuda"},
        "hparams": {"minibatch_size": 2, "epochs": 1},
    })  # fmt: skip
    run = train(config, tmp_path / "run").path
    on_gpu = evaluate_run(run, split="test", episodes=4)
    on_cpu = evaluate_run(run, split="test", episodes=4, device="cpu")
    assert on_gpu["eval/num_samples"] == on_cpu["eval/num_samples"] == 4
    # Greedy decoding of the same weights: bf16 on the GPU may flip a near-tie, rarely more.
    assert abs(on_gpu["eval/score"] - on_cpu["eval/score"]) < 0.1
