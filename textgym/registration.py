"""Every ``gymnasium.register`` call of textgym, in one place.

Entry points are ``"module:Class"`` strings, so registering imports nothing heavy: a task's code
is imported the first time one of its ids is made. Gymnasium 1.x has no plugin loader, so
``gymnasium.make("TextSumm-v0")`` needs ``import textgym`` first, or the ``"textgym:TextSumm-v0"``
form, which imports this package on the fly.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

_FAMILIES: dict[str, tuple[str, str, str]] = {
    # name prefix: (entry point, vector entry point, one-line description)
    "TextTrans": (
        "textgym.tasks.translation.env:TextTransEnv",
        "textgym.vector.entry_points:translation",
        "translation of a synthetic language with reordering and agreement; sentence BLEU",
    ),
    "TextSumm": (
        "textgym.tasks.summarization.env:TextSummEnv",
        "textgym.vector.entry_points:summarization",
        "summarization of generated reports: select and compress key facts; ROUGE-L F1",
    ),
    "TextDial": (
        "textgym.tasks.dialogue.env:TextDialEnv",
        "textgym.vector.entry_points:dialogue",
        "dialogue reply that must use facts from the context; 0.5 BLEU + 0.5 token F1",
    ),
}

_VARIANTS: dict[str, dict[str, Any]] = {
    "": {},
    "-Easy": {"difficulty": "easy"},
    "-Hard": {"difficulty": "hard"},
}

#: One-line description of every registered id, in registration order.
ENV_IDS: dict[str, str] = {
    f"{prefix}{suffix}-v0": (f"[{kwargs['difficulty']}] " if kwargs else "") + description
    for prefix, (_, _, description) in _FAMILIES.items()
    for suffix, kwargs in _VARIANTS.items()
}

#: The default suite, one id per family (dm_control-style tag for runners).
BENCHMARK: tuple[str, ...] = tuple(f"{prefix}-v0" for prefix in _FAMILIES)
#: The easy suite, for quick learning checks and smoke tests.
EASY: tuple[str, ...] = tuple(f"{prefix}-Easy-v0" for prefix in _FAMILIES)


def register_envs() -> None:
    """Register every textgym id with Gymnasium (idempotent)."""
    for prefix, (entry_point, vector_entry_point, _) in _FAMILIES.items():
        for suffix, kwargs in _VARIANTS.items():
            env_id = f"{prefix}{suffix}-v0"
            if env_id in gym.registry:
                continue
            # No max_episode_steps: the length limit is part of the MDP (terminated), and a
            # TimeLimit at the same step would flag it as truncated as well.
            gym.register(
                id=env_id,
                entry_point=entry_point,
                vector_entry_point=vector_entry_point,
                kwargs=dict(kwargs),
                disable_env_checker=False,
                order_enforce=True,
            )
