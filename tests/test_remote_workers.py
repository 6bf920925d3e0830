"""Ids in processes that never imported textgym (spawned workers, RLlib env runners)."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import gymnasium as gym
# The plain id first: making the prefixed one imports textgym, which registers every id.
for env_id in ("TextSumm-Easy-v1", "textgym:TextSumm-Easy-v1"):
    try:
        env = gym.make(env_id)
        env.reset(seed=0)
        print(env_id, "made", env.spec.id)
    except gym.error.NameNotFound:
        print(env_id, "NameNotFound")
"""


def test_module_prefixed_id_works_where_textgym_was_never_imported() -> None:
    # Gymnasium 1.x has no plugin loader: a fresh interpreter (a spawn/forkserver worker)
    # knows a plain id only if something imported textgym there; "textgym:ID" imports it.
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert out == [
        "TextSumm-Easy-v1 NameNotFound",
        "textgym:TextSumm-Easy-v1 made TextSumm-Easy-v1",
    ]
