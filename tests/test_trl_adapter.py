"""TRL adapter: task datasets, env-identical reward functions, tokenizer ids, a GRPO smoke run."""

from __future__ import annotations

import gymnasium as gym
import pytest

pytest.importorskip("datasets")
pytest.importorskip("transformers")

from textgym.integrations.trl import (  # noqa: E402
    hf_tokenizer,
    mask_positions,
    metric_functions,
    reward_function,
    task_dataset,
)

ENV_ID = "TextTrans-Easy-v0"


@pytest.fixture(scope="module")
def env():
    return gym.make(ENV_ID)


def test_task_dataset_has_prompts_and_references(env):
    data = task_dataset(env, max_samples=10)
    assert len(data) == 10
    assert set(data.column_names) == {"prompt", "references", "source", "sample_id"}
    sample = env.unwrapped.dataset[0]
    assert data[0]["references"] == list(sample.references)
    assert data[0]["prompt"].startswith("translate:")
    shuffled = task_dataset(env, max_samples=10, seed=0)
    assert shuffled["sample_id"] == task_dataset(env, max_samples=10, seed=0)["sample_id"]


def test_hf_tokenizer_has_the_env_ids(env):
    tok = hf_tokenizer(env)
    words = env.unwrapped.tokenizer
    assert (tok.pad_token_id, tok.eos_token_id, len(tok)) == (0, 1, words.vocab_size)
    data = task_dataset(env, max_samples=5)
    for prompt, source in zip(data["prompt"], data["source"], strict=True):
        assert tok(prompt)["input_ids"] == env.unwrapped.encode_prompt(source)[0]


def test_reward_function_equals_the_env_reward(env):
    tok = hf_tokenizer(env)
    reward = reward_function(env)
    data = task_dataset(env, max_samples=4)
    unwrapped = env.unwrapped
    for i in range(4):
        sample = unwrapped.dataset[i]
        # A partly wrong answer: the first reference with two words dropped.
        ids = unwrapped.tokenizer.encode(sample.references[0])[2:]
        env.reset(options={"sample_id": i})
        for token in [*ids, unwrapped.tokenizer.eos_id]:
            _, env_reward, terminated, _, _ = env.step(token)
            if terminated:
                break
        completion = tok.decode(ids, skip_special_tokens=True)  # TRL decodes this way
        got = reward(prompts=[data[i]["prompt"]], completions=[completion],
                     references=[data[i]["references"]])  # fmt: skip
        assert got == [pytest.approx(env_reward, abs=1e-12)]
    names = [f.__name__ for f in metric_functions(env)]
    assert names == ["textgym_bleu", "textgym_chrf"]
    with pytest.raises(ValueError, match="references"):
        reward(prompts=["x"], completions=["y"])


def test_grpo_trainer_smoke(tmp_path, env):
    torch = pytest.importorskip("torch")
    trl = pytest.importorskip("trl")
    torch.set_num_threads(1)  # tiny model on shared cores: more threads only spin
    from textgym.policies.lm import build_model, tiny_causal_lm_config

    unwrapped = env.unwrapped
    torch.manual_seed(0)
    config = tiny_causal_lm_config(unwrapped.tokenizer.vocab_size, n_positions=32, n_embd=32,
                                   n_layer=1, n_head=2)  # fmt: skip
    model = build_model(config, vocab_size=unwrapped.tokenizer.vocab_size)
    args = trl.GRPOConfig(
        output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=4,
        max_completion_length=unwrapped.max_new_tokens, max_steps=2, learning_rate=1e-3,
        logging_steps=1, report_to="none", save_strategy="no", use_cpu=True, seed=0,
        beta=0.0, reward_weights=[1.0, 0.0, 0.0], disable_tqdm=True,
    )  # fmt: skip
    mask_positions(model)
    trainer = trl.GRPOTrainer(
        model=model, reward_funcs=[reward_function(env), *metric_functions(env)], args=args,
        train_dataset=task_dataset(env, max_samples=16), processing_class=hf_tokenizer(env),
    )  # fmt: skip
    trainer.train()
    logged = [r for r in trainer.state.log_history if "rewards/textgym_bleu/mean" in r]
    assert len(logged) == 2 and 0.0 <= logged[-1]["rewards/textgym_bleu/mean"] <= 1.0


def test_mask_positions_numbers_left_padded_prompts_from_their_first_token():
    torch = pytest.importorskip("torch")
    from textgym.policies.lm import build_model, tiny_causal_lm_config

    torch.manual_seed(0)
    config = tiny_causal_lm_config(20, n_positions=16, n_embd=16, n_layer=1, n_head=2)
    model = build_model(config, vocab_size=20).eval()
    ids = torch.tensor([[0, 0, 5, 6, 7], [3, 4, 5, 6, 7]])
    mask = (ids != 0).long()
    with torch.no_grad():
        shifted = model(input_ids=ids, attention_mask=mask).logits
        handle = mask_positions(model)
        fixed = model(input_ids=ids, attention_mask=mask).logits
        alone = model(input_ids=ids[:1, 2:]).logits
        handle.remove()
    torch.testing.assert_close(fixed[:1, 2:], alone, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(shifted[:1, 2:], alone, atol=1e-3)
