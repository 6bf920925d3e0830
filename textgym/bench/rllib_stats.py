"""An RLlib callback that counts the training episodes' returns and lengths on each env runner.

RLlib's own ``episode_return_mean`` is smoothed over a window of episodes that lives in the env
runners and is not checkpointed, and sums logged to RLlib's metrics came back wrong in the first
iteration after a restore (RLlib 2.60), so a resumed run would report other numbers than an
uninterrupted one. The callback keeps plain sums on the env runner object instead; the driver
collects and clears them (:func:`collect`) at the end of each training chunk. Imported by the
env runners, so the class is at module level.
"""

from __future__ import annotations

from typing import Any

from ray.rllib.callbacks.callbacks import RLlibCallback

_ATTRIBUTE = "_textgym_episode_sums"


class EpisodeSums(RLlibCallback):
    """Adds each finished episode to ``[episodes, return sum, length sum]`` on its env runner."""

    def on_episode_end(
        self,
        *,
        episode: Any,
        prev_episode_chunks: list[Any] | None = None,
        env_runner: Any = None,
        **kwargs: Any,
    ) -> None:
        """Counts the finished episode (all its chunks: an episode may span iterations)."""
        if env_runner is None:
            return
        chunks = [*(prev_episode_chunks or []), episode]
        sums = env_runner.__dict__.setdefault(_ATTRIBUTE, [0, 0.0, 0])
        sums[0] += 1
        sums[1] += float(sum(chunk.get_return() for chunk in chunks))
        sums[2] += int(sum(len(chunk) for chunk in chunks))


def collect(env_runner: Any) -> tuple[int, float, int]:
    """The sums of ``env_runner`` since the last call (episodes, return, length); resets them."""
    sums = env_runner.__dict__.pop(_ATTRIBUTE, [0, 0.0, 0])
    return int(sums[0]), float(sums[1]), int(sums[2])
