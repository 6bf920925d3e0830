"""Regenerate ``docs/data/scores.json``: random, reference and floor scores of every registered id.

The environment pages of the documentation read this file; the docs build never runs a policy.
The protocol is ``textgym baselines``' (``make baselines``): samples 0-199 of the validation
split, seed 0; the random and reference policies played in the env, the degenerate policies of
:mod:`textgym.bench.floors` scored with the env's own reward. About 15 s per id on one core.

Run it after registering a new id or changing a reward (the docs build fails on an id missing
from the file)::

    .venv/bin/python docs/hooks/make_scores.py            # every registered id
    .venv/bin/python docs/hooks/make_scores.py TextSumm-v2  # only these ids, others kept
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data" / "scores.json"
EPISODES = 200
SEED = 0
SPLIT = "validation"


def scores(env_id: str) -> dict:
    from textgym.bench.floors import FLOOR_POLICIES, floor_scores
    from textgym.bench.rollout import POLICIES, rollout

    row: dict = {}
    for policy in POLICIES:
        r = rollout(env_id, policy, EPISODES, SEED, {"split": SPLIT}, fixed_samples=True)
        row[policy] = {"mean": r.mean, "std": r.std, "steps": r.mean_length}
    report = floor_scores(env_id, samples=EPISODES, split=SPLIT, seed=SEED)
    row["floors"] = {name: report.scores[name] for name in FLOOR_POLICIES}
    row["constant_text"] = report.constant_text
    row["strongest_floor"] = dict(zip(("policy", "score"), report.strongest, strict=True))
    row["strongest_blind_floor"] = dict(
        zip(("policy", "score"), report.strongest_blind, strict=True)
    )
    return row


def main(argv: list[str]) -> None:
    from textgym.registration import ENV_IDS

    warnings.filterwarnings("ignore", message=".*is out of date.*")  # the v0 ids, on purpose
    data = json.loads(OUT.read_text()) if OUT.exists() else {}
    env_ids = argv or list(ENV_IDS)
    table = data.setdefault("ids", {})
    for env_id in env_ids:
        table[env_id] = scores(env_id)
        print(env_id, "random", round(table[env_id]["random"]["mean"], 4), flush=True)
    data["protocol"] = {
        "command": "textgym baselines --episodes 200 --seed 0",
        "split": SPLIT,
        "samples": EPISODES,
        "seed": SEED,
    }
    data["ids"] = {k: table[k] for k in sorted(table)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
