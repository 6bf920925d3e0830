"""The ``textgym`` command: list, inspect and roll out the registered environments."""

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
    from textgym.bench.rollout import POLICIES, rollout

    env_ids = [_check_env_id(e) for e in (args.env_ids or BENCHMARK)]
    results = [
        rollout(env_id, policy, args.episodes, args.seed)
        for env_id in env_ids
        for policy in POLICIES
    ]
    if args.json:
        print(json.dumps([r.to_dict() | {"scores": None} for r in results]))
        return
    print(
        f"Mean score over {args.episodes} episodes (seed {args.seed}); the gap an agent closes:\n"
    )
    print(f"| {'env':<14} | {'policy':<9} | {'score mean':>10} | {'std':>6} | {'steps':>5} |")
    print(f"|{'-' * 16}|{'-' * 11}|{'-' * 12}|{'-' * 8}|{'-' * 7}|")
    for r in results:
        print(
            f"| {r.env_id:<14} | {r.policy:<9} | {r.mean:>10.4f} | {r.std:>6.4f} "
            f"| {r.mean_length:>5.1f} |"
        )


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
        "baselines", help="random vs reference policy on every family (the main job for now)"
    )
    p.add_argument("env_ids", nargs="*", help="ids to run (default: the benchmark suite)")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON list")
    p.set_defaults(func=cmd_baselines)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``textgym`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except CliError as exc:
        print(f"textgym: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
