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

#: Registered versions: suffix -> (TaskEnv kwargs, what the version's reward is, per family).
#: v0 stays registered unchanged for reproducibility; v1 has rewards and data that pass the
#: validity floors (see textgym.bench.floors).
_VERSIONS: dict[int, dict[str, str]] = {
    0: {
        "TextTrans": "sentence BLEU",
        "TextSumm": "ROUGE-L F1",
        "TextDial": "0.5 BLEU + 0.5 token F1",
    },
    1: {
        "TextTrans": "BLEU x content-word ROUGE-L",
        "TextSumm": "ROUGE-L x content-word ROUGE-L, lead anywhere",
        "TextDial": "BLEU x content-word ROUGE-L",
    },
}

#: The newest version of every family: what BENCHMARK and EASY use.
LATEST_VERSION = max(_VERSIONS)


def _kwargs(suffix: str, version: int) -> dict[str, Any]:
    return {**_VARIANTS[suffix], **({"task_version": version} if version else {})}


#: One-line description of every registered id, in registration order.
ENV_IDS: dict[str, str] = {
    f"{prefix}{suffix}-v{version}": (
        (f"[{kwargs['difficulty']}] " if kwargs else "")
        + description.rsplit(";", 1)[0]
        + f"; {_VERSIONS[version][prefix]}"
    )
    for version in _VERSIONS
    for prefix, (_, _, description) in _FAMILIES.items()
    for suffix, kwargs in _VARIANTS.items()
}

#: The default suite, one id per family (dm_control-style tag for runners).
BENCHMARK: tuple[str, ...] = tuple(f"{prefix}-v{LATEST_VERSION}" for prefix in _FAMILIES)
#: The easy suite, for quick learning checks and smoke tests.
EASY: tuple[str, ...] = tuple(f"{prefix}-Easy-v{LATEST_VERSION}" for prefix in _FAMILIES)


def register_envs() -> None:
    """Register every textgym id with Gymnasium (idempotent)."""
    for version in _VERSIONS:
        for prefix, (entry_point, vector_entry_point, _) in _FAMILIES.items():
            for suffix in _VARIANTS:
                env_id = f"{prefix}{suffix}-v{version}"
                if env_id in gym.registry:
                    continue
                # No max_episode_steps: the length limit is part of the MDP (terminated), and
                # a TimeLimit at the same step would flag it as truncated as well.
                gym.register(
                    id=env_id,
                    entry_point=entry_point,
                    vector_entry_point=vector_entry_point,
                    kwargs=_kwargs(suffix, version),
                    disable_env_checker=False,
                    order_enforce=True,
                )
