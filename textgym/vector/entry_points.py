"""``vector_entry_point`` factories: ``make_vec(ID, num_envs=N, **kwargs)`` lands here.

``autoreset_mode``, ``infos``, ``id_metrics``, ``jit`` and ``prefill`` configure the vector
env; every other keyword argument goes to the task, exactly as ``gymnasium.make`` would pass it.
"""

from __future__ import annotations

from typing import Any

from gymnasium.vector import AutoresetMode

from textgym.vector.env import TextVectorEnv


def _build(task_cls: type, num_envs: int, kwargs: dict[str, Any]) -> TextVectorEnv:
    autoreset_mode = kwargs.pop("autoreset_mode", AutoresetMode.NEXT_STEP)
    infos = kwargs.pop("infos", "full")
    id_metrics = kwargs.pop("id_metrics", None)
    jit = kwargs.pop("jit", None)
    prefill = kwargs.pop("prefill", None)
    max_episode_steps = kwargs.pop("max_episode_steps", None)
    kwargs.pop("render_mode", None)  # a batch of text episodes has no frame to render
    return TextVectorEnv(
        task_cls(**kwargs),
        num_envs,
        autoreset_mode=autoreset_mode,
        infos=infos,
        id_metrics=id_metrics,
        jit=jit,
        prefill=prefill,
        max_episode_steps=max_episode_steps,
    )


def translation(num_envs: int = 1, **kwargs: Any) -> TextVectorEnv:
    """Vector ``TextTrans`` env."""
    from textgym.tasks.translation.env import TextTransEnv

    return _build(TextTransEnv, num_envs, kwargs)


def summarization(num_envs: int = 1, **kwargs: Any) -> TextVectorEnv:
    """Vector ``TextSumm`` env."""
    from textgym.tasks.summarization.env import TextSummEnv

    return _build(TextSummEnv, num_envs, kwargs)


def dialogue(num_envs: int = 1, **kwargs: Any) -> TextVectorEnv:
    """Vector ``TextDial`` env."""
    from textgym.tasks.dialogue.env import TextDialEnv

    return _build(TextDialEnv, num_envs, kwargs)
