"""The ``textgym`` command: list, inspect and roll out the registered environments; train,
evaluate, compare and benchmark agents into run folders."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Sequence
from typing import Any

import gymnasium as gym

from textgym.registration import BENCHMARK, ENV_IDS


class CliError(Exception):
    """A user error: printed without a traceback, exit status 2."""


class CliFailure(Exception):
    """The command ran but some of its work failed (exit status 1, not 2: the arguments
    were fine)."""


def _check_env_id(env_id: str) -> str:
    if env_id not in ENV_IDS:
        close = difflib.get_close_matches(env_id, list(ENV_IDS), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise CliError(f"unknown env id {env_id!r}; `textgym list` shows them.{hint}")
    return env_id


def _parse_kwargs(pairs: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are parsed as JSON when they can be, else kept as strings."""
    kwargs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.isidentifier():
            raise CliError(f"--kwarg {pair!r}: expected key=value, e.g. reward_mode=dense")
        try:
            kwargs[key] = json.loads(raw)
        except json.JSONDecodeError:
            kwargs[key] = raw
    return kwargs


def _make(env_id: str, kwargs: dict[str, Any]) -> gym.Env:
    try:
        return gym.make(env_id, **kwargs)
    except (TypeError, ValueError) as exc:
        raise CliError(f"{env_id}: {exc}") from None


def cmd_list(args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(ENV_IDS, indent=2))
        return
    width = max(map(len, ENV_IDS))
    for env_id, description in ENV_IDS.items():
        print(f"{env_id:<{width}}  {description}")


def cmd_info(args: argparse.Namespace) -> None:
    env_id = _check_env_id(args.env_id)
    env = _make(env_id, _parse_kwargs(args.kwarg))
    info = {"id": env_id, **env.unwrapped.describe()}  # type: ignore[attr-defined]
    env.close()
    if args.json:
        print(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        print(f"{key:>16}: {json.dumps(value) if isinstance(value, (dict, list)) else value}")


def cmd_rollout(args: argparse.Namespace) -> None:
    from textgym.bench.rollout import rollout

    env_id = _check_env_id(args.env_id)
    if args.episodes < 1:
        raise CliError(f"--episodes: expected >= 1, got {args.episodes}")
    try:
        result = rollout(env_id, args.policy, args.episodes, args.seed, _parse_kwargs(args.kwarg))
    except (TypeError, ValueError) as exc:
        raise CliError(f"{env_id}: {exc}") from None
    if args.json:
        print(json.dumps(result.to_dict()))
        return
    print(
        f"{env_id} {args.policy} policy, {args.episodes} episodes, seed {args.seed}: "
        f"score {result.mean:.4f} +/- {result.std:.4f} (mean +/- std), "
        f"{result.mean_length:.1f} steps per episode"
    )
    for name, value in result.metrics.items():
        print(f"  {name:>8}: {value:.4f}")


def cmd_baselines(args: argparse.Namespace) -> None:
    from textgym.bench.floors import FLOOR_POLICIES, floor_scores
    from textgym.bench.rollout import POLICIES, rollout

    env_ids = [_check_env_id(e) for e in (args.env_ids or BENCHMARK)]
    rows: list[dict[str, Any]] = []
    for env_id in env_ids:
        kwargs = {"split": args.split}
        for policy in POLICIES:
            r = rollout(env_id, policy, args.episodes, args.seed, kwargs, fixed_samples=True)
            rows.append({"env_id": env_id, "policy": policy, "mean": r.mean, "std": r.std,
                         "steps": r.mean_length})  # fmt: skip
        if not args.no_floors:
            report = floor_scores(env_id, samples=args.episodes, split=args.split, seed=args.seed)
            for policy in FLOOR_POLICIES:
                row = {"env_id": env_id, "policy": policy, "mean": report.scores[policy]}
                if policy == "constant":
                    row["text"] = report.constant_text
                rows.append(row)
            for label, (name, value) in (
                ("strongest floor", report.strongest),
                ("strongest blind", report.strongest_blind),
            ):
                rows.append({"env_id": env_id, "policy": label, "mean": value, "floor": name})
    if args.json:
        print(json.dumps(rows))
        return
    print(
        f"Mean score on samples 0..{args.episodes - 1} of the {args.split} split (seed "
        f"{args.seed}). random/reference: rollouts; the others: degenerate policies an agent "
        "must beat (textgym.bench.floors):\n"
    )
    width = max(len(e) for e in env_ids)
    print(f"| {'env':<{width}} | {'policy':<18} | {'score mean':>10} | note |")
    print(f"|{'-' * (width + 2)}|{'-' * 20}|{'-' * 12}|------|")
    for entry in rows:
        note = repr(entry["text"]) if "text" in entry else entry.get("floor", "")
        if "std" in entry:
            note = f"std {entry['std']:.4f}, {entry['steps']:.1f} steps"
        print(
            f"| {entry['env_id']:<{width}} | {entry['policy']:<18} | {entry['mean']:>10.4f} "
            f"| {note} |"
        )

def _split_train_args(tokens: Sequence[str]) -> tuple[str | None, list[str]]:
    """``ENV_ID`` and ``key=value`` overrides, in any order after ``train``."""
    env_ids = [t for t in tokens if "=" not in t]
    overrides = [t for t in tokens if "=" in t]
    if len(env_ids) > 1:
        raise CliError(
            f"expected one ENV_ID and key=value overrides, got {' '.join(env_ids)!r}; "
            "an override needs '=' (hparams.learning_rate=3e-4)"
        )
    return (env_ids[0] if env_ids else None), overrides


def cmd_train(args: argparse.Namespace) -> None:
    from textgym.bench.config import ConfigError, load_file, parse_overrides, resolve
    from textgym.bench.runs import RunFolderError
    from textgym.bench.train import format_summary, summary_json, train

    env_id, pairs = _split_train_args(args.args)
    flags = {
        key: value
        for key, value in (
            ("env_id", env_id), ("algo", args.algo), ("steps", args.steps), ("seed", args.seed),
        )
        if value is not None
    }  # fmt: skip
    try:
        if args.resume is not None:
            if flags or pairs or args.config or args.out:
                raise CliError(
                    "--resume DIR continues the run with its stored config.yaml; pass no ENV_ID, "
                    "--algo, --steps, --seed, --out, --config or overrides with it"
                )
            result = train(
                None, args.resume, resume=True, force=args.force,
                progress=_progress(args), log=None if args.json else print, notice=_note,
            )  # fmt: skip
        else:
            if env_id is None or args.out is None:
                raise CliError("train needs ENV_ID and --out DIR (or --resume DIR)")
            _check_env_id(env_id)
            base = load_file(args.config) if args.config else {}
            overrides = parse_overrides(pairs)
            for key, value in flags.items():
                overrides[key] = value
            config = resolve(base, overrides)
            result = train(
                config, args.out, force=args.force, progress=_progress(args),
                command=["textgym", *sys.argv[1:]], log=None if args.json else print,
                notice=_note,
            )  # fmt: skip
    except (ConfigError, RunFolderError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(summary_json({"run": str(result.path), **result.summary}))
        return
    if result.already_finished:
        print(f"{result.path}: the run had already finished")
    elif args.resume is not None and result.resumed_from == result.summary.get("step"):
        print(
            f"{result.path}: training had ended before the interruption; the final files were "
            "completed from the final checkpoint (nothing retrained)"
        )
    print(format_summary(result.summary))
    print(f"run folder: {result.path}")


def cmd_eval(args: argparse.Namespace) -> None:
    from textgym.bench.runs import RunFolderError
    from textgym.bench.train import evaluate_run

    try:
        result = evaluate_run(
            args.run_dir, split=args.split, episodes=args.episodes,
            checkpoint=args.checkpoint, force=args.force, device=args.device,
        )  # fmt: skip
    except (RunFolderError, ValueError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return
    print(
        f"{result['env_id']} {result['algo']} seed {result['seed']}, {args.checkpoint} checkpoint "
        f"(step {result['step']}), {int(result['eval/num_samples'])} {args.split} samples:"
    )
    for key, value in result.items():
        if key.startswith("eval/") and key != "eval/num_samples":
            print(f"  {key:<18} {value:.4f}")
    signatures = result.get("signatures", {})
    if signatures:
        print("signatures:")
        for key, text in signatures.items():
            print(f"  {key:<18} {text}")
    print(f"wrote {args.run_dir}/eval_{args.split}.json and predictions_{args.split}.jsonl")


def cmd_compare(args: argparse.Namespace) -> None:
    from textgym.bench.compare import compare_runs, format_comparison
    from textgym.bench.reproduce import is_suite_folder
    from textgym.bench.runs import RunFolderError

    if is_suite_folder(args.run_a) and is_suite_folder(args.run_b):
        _reproduction_check(args.run_a, args.run_b, args.json)
        return
    metrics = [m for m in args.metric.split(",") if m] if args.metric else None
    if args.resamples is not None and args.resamples < 1:
        raise CliError(f"--resamples: expected an integer >= 1, got {args.resamples}")
    try:
        comparison = compare_runs(
            args.run_a, args.run_b, split=args.split, metrics=metrics, test=args.test,
            resamples=args.resamples, seed=args.seed,
        )  # fmt: skip
    except (RunFolderError, ValueError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(comparison.to_dict(), sort_keys=True))
        return
    print(format_comparison(comparison))


def _reproduction_check(published: str, new: str, as_json: bool) -> None:
    """Two suite folders: each published cell identical, within its CI, or different."""
    from textgym.bench.reproduce import compare_suites, format_suite_comparison
    from textgym.bench.runs import RunFolderError

    try:
        comparison = compare_suites(published, new)
    except RunFolderError as exc:
        raise CliError(str(exc)) from None
    print(
        json.dumps(comparison.to_dict(), sort_keys=True)
        if as_json
        else format_suite_comparison(comparison)
    )
    if not comparison.ok:
        raise CliFailure(f"{new!r} does not reproduce {published!r} (see the verdicts above)")


def cmd_bench(args: argparse.Namespace) -> None:
    from textgym.bench.config import ConfigError
    from textgym.bench.runs import RunFolderError
    from textgym.bench.suite import SuiteRunsFailed, load_suite, run_suite

    try:
        suite = load_suite(args.suite)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    try:
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
    except ValueError:
        raise CliError(f"--seeds: expected comma-separated integers, got {args.seeds!r}") from None
    if args.jobs < 1:
        raise CliError(f"--jobs: expected >= 1, got {args.jobs}")
    try:
        report = run_suite(
            suite, args.out, seeds=seeds, jobs=args.jobs, force=args.force,
            progress=_progress(args), log=None if args.json else print,
            backend=args.backend, address=args.address,
        )  # fmt: skip
    except (ConfigError, RunFolderError, ConnectionError) as exc:
        raise CliError(str(exc)) from None
    except SuiteRunsFailed as exc:
        raise CliFailure(str(exc)) from None
    if args.json:
        print(json.dumps(report.to_dict(), sort_keys=True))
    else:
        print()
        print(report.table)
        print(f"\ntables, plot and runs: {report.path}")
    if args.compare:
        if not args.json:
            print()
        _reproduction_check(args.compare, str(report.path), args.json)


def _note(text: str) -> None:
    """A one-time notice of ``train`` (on stderr: ``--json`` output stays one line)."""
    print(f"textgym: note: {text}", file=sys.stderr)


def _progress(args: argparse.Namespace) -> bool:
    return not args.no_progress and not args.json and sys.stderr.isatty()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``textgym`` command."""
    parser = argparse.ArgumentParser(
        prog="textgym", description="Text generation as reinforcement-learning environments."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="registered env ids with one-line descriptions")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_list)

    kwarg_help = "env keyword argument as key=value (JSON values), repeatable"
    p = sub.add_parser("info", help="spaces, reward, data and ceiling of an env")
    p.add_argument("env_id")
    p.add_argument("--kwarg", "-k", action="append", default=[], help=kwarg_help)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("rollout", help="score a random or the reference policy")
    p.add_argument("env_id")
    p.add_argument("--policy", choices=["random", "reference"], default="random")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kwarg", "-k", action="append", default=[], help=kwarg_help)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_rollout)

    p = sub.add_parser(
        "baselines",
        help="random, reference and degenerate policies (floors) on every family",
    )
    p.add_argument("env_ids", nargs="*", help="ids to run (default: the benchmark suite)")
    p.add_argument("--episodes", type=int, default=200, help="samples 0..N-1 of --split")
    p.add_argument("--split", default="validation", help="embedded split (default validation)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--no-floors", action="store_true", help="skip the degenerate policies (floors)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON list")
    p.set_defaults(func=cmd_baselines)

    p = sub.add_parser(
        "train",
        help="train an agent into a run folder",
        description=(
            "Train an SB3 agent (ppo, a2c, dqn, maskable-ppo), an RLlib agent (rllib-ppo, "
            "rllib-appo; the rllib extra) or an LM policy (sup, scst, ppo-lm) "
            "on ENV_ID and write a run folder: config.yaml, manifest.json, metrics.csv, "
            "TensorBoard events, checkpoints, predictions.jsonl, curves.png. --steps counts env "
            "steps for SB3 and RLlib algorithms and iterations for LM algorithms."
        ),
        usage="textgym train ENV_ID --algo ALGO --out DIR [--steps N] [--seed S] "
        "[--config FILE] [key=value ...] | textgym train --resume DIR",
    )
    p.add_argument(
        "args",
        nargs="*",
        metavar="ENV_ID / key=value",
        help="the env id, and config overrides such as hparams.learning_rate=3e-4",
    )
    p.add_argument(
        "--algo", help="ppo, a2c, dqn, maskable-ppo, rllib-ppo, rllib-appo, sup, scst or ppo-lm"
    )
    p.add_argument("--steps", type=int, help="training budget (default: the algorithm's)")
    p.add_argument("--seed", type=int, help="seed of everything (default 0)")
    p.add_argument("--out", help="the run folder to create")
    p.add_argument("--config", help="a YAML file of config keys (overrides still win)")
    p.add_argument("--resume", metavar="DIR", help="continue an interrupted run")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing run folder (or read one from a newer textgym)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print only the summary, as JSON")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="evaluate a run folder's checkpoint on a split")
    p.add_argument("run_dir")
    p.add_argument("--split", default="test", help="train, validation or test (default test)")
    p.add_argument("--episodes", type=int, help="samples 0..N-1 (default: the run's eval.episodes)")
    p.add_argument("--checkpoint", default="final", help="final (default) or latest")
    p.add_argument("--force", action="store_true", help="read a folder from a newer textgym")
    p.add_argument(
        "--device", help="LM runs: evaluate on this device (cpu, cuda, cuda:N) instead of the run's"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "compare",
        help="paired significance test of run B against run A on the same samples",
        description=(
            "Compare two runs' predictions on the same samples with sacrebleu's paired "
            "bootstrap resampling (--paired-bs) or approximate randomization (--paired-ar): "
            "each metric's score for both, B - A with its 95% confidence interval, the "
            "p-value and the metric's signature. bleu, chrf, chrf++ and ter are corpus scores "
            "(0-100), ROUGE and f1 mean per-sample F (0-1), other names the mean of the "
            "per-sample values the runs recorded (score: the reward). Given two suite "
            "folders instead (PUBLISHED NEW), a reproduction check: each (env, algorithm) "
            "cell identical, within the published 95%% CI, or different; exit status 1 "
            "unless every cell reproduces."
        ),
    )
    p.add_argument("run_a", metavar="RUN_A", help="the baseline: a run folder or predictions file")
    p.add_argument("run_b", metavar="RUN_B", help="the compared run folder or predictions file")
    p.add_argument(
        "--split", default="test",
        help="read predictions_SPLIT.jsonl (written by `textgym eval RUN --split SPLIT`; "
        "default test), or 'final' for the training run's predictions.jsonl",
    )  # fmt: skip
    p.add_argument("--metric", help="comma-separated metrics (default: all the runs recorded)")
    p.add_argument(
        "--test", choices=["bootstrap", "randomization"], default="bootstrap",
        help="paired bootstrap (default) or approximate randomization",
    )  # fmt: skip
    p.add_argument(
        "--resamples", type=int, help="bootstrap resamples or randomization trials "
        "(default 1000 / 10000, as sacrebleu)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=12345, help="RNG seed (default 12345, as sacrebleu)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "bench",
        help="run a suite of envs x algorithms x seeds and aggregate it (resumable)",
        description=(
            "Run every (env, algorithm, seed) of a suite into OUT/runs/, skipping finished runs "
            "and resuming interrupted ones, then write OUT/results.md (mean, IQM and 95%% "
            "bootstrap CI, normalised to the random and reference policies), results.json and "
            "comparison.png."
        ),
    )
    p.add_argument(
        "--suite", default="quick",
        help="quick (default), full, or a suite file (YAML/JSON: envs, algos, seeds)",
    )  # fmt: skip
    p.add_argument("--out", required=True, help="the suite folder")
    p.add_argument("--seeds", help="comma-separated seeds (default: the suite's)")
    p.add_argument(
        "--jobs", type=int, default=1, help="local backend: runs in parallel (processes)"
    )
    p.add_argument(
        "--backend", default="local", choices=["local", "ray"],
        help="local: this machine's processes; ray: one Ray task per run",
    )  # fmt: skip
    p.add_argument(
        "--address", default=None,
        help="with --backend ray: the cluster (auto, HOST:PORT, ray://HOST:PORT); default: a "
        "Ray instance on this machine",
    )  # fmt: skip
    p.add_argument("--force", action="store_true", help="start every run over")
    p.add_argument(
        "--compare", metavar="PUBLISHED_DIR",
        help="then judge every cell against a published suite folder (identical, within its "
        "95%% CI, or different; exit status 1 unless all reproduce)",
    )  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``textgym`` command; returns the exit status."""
    parser = build_parser()
    # argparse stops filling a nargs="*" positional at the first option, so overrides that
    # follow options (`train X --algo ppo seed=1`) come back as extras; keep them for train.
    args, extras = parser.parse_known_args(argv)
    if extras:
        unknown = [t for t in extras if t.startswith("-") or args.command != "train"]
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.args = [*args.args, *extras]
    try:
        args.func(args)
    except CliError as exc:
        print(f"textgym: error: {exc}", file=sys.stderr)
        return 2
    except CliFailure as exc:
        print(f"textgym: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
