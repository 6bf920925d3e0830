"""The native batched vector env: one set of numpy arrays for N episodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from textgym.core.env import TokenMDPEnv, step_info
from textgym.core.spaces import ID_DTYPE
from textgym.data.sample import Sample
from textgym.rewards.base import ScoreTracker

INFO_MODES = ("full", "final")
_PROMPT_ROWS_CACHED = 50_000


class TextVectorEnv(VectorEnv):
    """N episodes of one textgym task stepped together with numpy array operations.

    Made by ``gymnasium.make_vec(ID, num_envs=N)`` (the registered ``vector_entry_point``).
    Given the same seeds and actions it returns exactly what ``SyncVectorEnv`` over N single
    envs returns: observations, rewards, terminations, truncations and, with
    ``infos="full"``, infos. ``reset(seed=s)`` seeds episode stream ``i`` with ``s + i``, as
    ``SyncVectorEnv`` does.

    Autoreset (Gymnasium 1.x): with ``AutoresetMode.NEXT_STEP`` (default), the step after an
    episode ends resets that env, ignores its action and returns reward 0; with ``SAME_STEP``
    the env is reset in the step it ends and its last observation and info are in
    ``info["final_obs"]`` and ``info["final_info"]``; with ``DISABLED`` stepping an ended env
    is an error until it is reset with ``options={"reset_mask": mask}``.

    Args:
        task_env: A single env whose data, tokenizer, reward and limits are used (only its
            configuration is used; it is never stepped).
        num_envs: Number of parallel episodes.
        autoreset_mode: See above.
        infos: ``"full"``: every step carries every env's info, as ``SyncVectorEnv`` does.
            ``"final"``: only envs whose episode ends in that step report their info (with
            ``generated`` and ``metrics``); text is then decoded only at episode ends, which
            is much faster with terminal rewards.
        max_episode_steps: Accepted for ``make_vec``; must be ``None``: the length limit is
            ``max_new_tokens``, part of the MDP.
    """

    def __init__(
        self,
        task_env: TokenMDPEnv,
        num_envs: int = 1,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        infos: str = "full",
        max_episode_steps: int | None = None,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs: expected an integer >= 1, got {num_envs!r}")
        if max_episode_steps is not None:
            raise ValueError(
                "max_episode_steps: textgym episodes end at max_new_tokens (part of the MDP); "
                "pass max_new_tokens instead"
            )
        if infos not in INFO_MODES:
            raise ValueError(f"infos: expected one of {', '.join(INFO_MODES)}, got {infos!r}")
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self.metadata = {"autoreset_mode": self.autoreset_mode, "render_modes": []}
        self.render_mode = None
        self.task = task_env
        self.num_envs = num_envs
        self.infos_mode = infos
        self.single_observation_space = task_env.observation_space
        self.single_action_space = task_env.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)

        n, p, t = num_envs, task_env.max_prompt_len, task_env.max_new_tokens
        tok = task_env.tokenizer
        self._eos, self._pad, self._vocab = int(tok.eos_id), int(tok.pad_id), int(tok.vocab_size)
        self._dense = task_env.reward_mode == "dense"
        self._prompt_ids = np.full((n, p), self._pad, dtype=ID_DTYPE)
        self._prompt_len = np.zeros(n, dtype=ID_DTYPE)
        self._generated = np.full((n, t), self._pad, dtype=ID_DTYPE)
        self._num_generated = np.zeros(n, dtype=ID_DTYPE)
        self._score = np.zeros(n, dtype=np.float64)
        self._ended = np.zeros(n, dtype=np.bool_)
        self._truncated_prompt = np.zeros(n, dtype=np.bool_)
        self._text_stale = np.zeros(n, dtype=np.bool_)
        self._texts = [""] * n
        self._samples: list[Sample | None] = [None] * n
        self._trackers: list[ScoreTracker | None] = [None] * n
        self._metrics: list[dict[str, float] | None] = [None] * n
        self._rngs: list[np.random.Generator | None] = [None] * n
        # Padded prompt row per dataset index: a reset is then one row copy.
        self._prompt_rows: dict[int, tuple[np.ndarray, int, bool]] = {}
        self._positions_p = np.arange(p)
        self._positions_t = np.arange(t)
        self._needs_reset = True

    # ------------------------------------------------------------------ API
    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset every env (or those in ``options["reset_mask"]``).

        Raises:
            ValueError: For a seed list whose length is not ``num_envs``, a malformed
                ``reset_mask`` or a bad ``sample_id``.
        """
        seeds = self._seeds(seed)
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        if mask is None:
            mask = np.ones(self.num_envs, dtype=np.bool_)
        elif (
            not isinstance(mask, np.ndarray)
            or mask.dtype != np.bool_
            or mask.shape != (self.num_envs,)
            or not mask.any()
        ):
            raise ValueError(
                f"options['reset_mask']: expected a bool array of shape ({self.num_envs},) "
                f"with at least one True, got {mask!r}"
            )
        infos: dict[str, Any] = {}
        for i in np.flatnonzero(mask):
            self._reset_one(int(i), seeds[i], options)
            if self.infos_mode == "full":
                infos = self._add_info(infos, self._info(int(i)), int(i))
        self._needs_reset = False
        return self._observation(), infos

    def step(
        self, actions: Any
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Append one token to each episode; see the class docstring for autoreset.

        Raises:
            RuntimeError: Before ``reset``, or (``DISABLED`` autoreset) stepping an ended env.
            ValueError: If ``actions`` is not ``num_envs`` integer ids in ``[0, vocab_size)``.
        """
        if self._needs_reset:
            raise RuntimeError("step() called before reset(); call reset() first")
        actions = self._check_actions(actions)
        n = self.num_envs
        rewards = np.zeros(n, dtype=np.float64)
        infos: dict[str, Any] = {}

        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            restarting = self._ended.copy()
            for i in np.flatnonzero(restarting):
                self._reset_one(int(i), None, None)
        else:
            restarting = np.zeros(n, dtype=np.bool_)
            if self._ended.any():
                raise RuntimeError(
                    f"step(): env(s) {np.flatnonzero(self._ended).tolist()} ended and were not "
                    "reset; call reset(options={'reset_mask': mask}) first"
                )
        active = ~restarting
        is_eos = active & (actions == self._eos)
        appending = active & ~is_eos
        rows = np.flatnonzero(appending)
        self._generated[rows, self._num_generated[rows]] = actions[rows]
        self._num_generated[rows] += 1
        terminated = is_eos | (appending & (self._num_generated >= self.task.max_new_tokens))
        self._text_stale[rows] = True

        eager_text = self._dense or self.infos_mode == "full"
        for i in rows if eager_text else np.flatnonzero(terminated):
            self._refresh_text(int(i))
        if self._dense:
            for i in np.flatnonzero(active):
                new = self._trackers[i].update(self._texts[i])  # type: ignore[union-attr]
                rewards[i] = new - self._score[i]
                self._score[i] = new
        for i in np.flatnonzero(terminated):
            known = float(self._score[i]) if self._dense else None
            sample = self._samples[i]
            metrics = self.task.episode_metrics(
                self._texts[i], sample.references, known, source=sample.source
            )
            self._metrics[i] = metrics
            if not self._dense:
                self._score[i] = rewards[i] = metrics["score"]
        self._ended = terminated.copy()
        truncated = np.zeros(n, dtype=np.bool_)

        if self.autoreset_mode == AutoresetMode.SAME_STEP and terminated.any():
            final_obs = self._observation()
            for i in range(n):
                if terminated[i]:
                    final = {key: value[i] for key, value in final_obs.items()}
                    infos = self._add_info(
                        infos, {"final_obs": final, "final_info": self._info(i)}, i
                    )
                    self._reset_one(i, None, None)
                if self.infos_mode == "full" or terminated[i]:
                    infos = self._add_info(infos, self._info(i), i)
            self._ended[:] = False
        elif self.infos_mode == "full":
            for i in range(n):
                infos = self._add_info(infos, self._info(i), i)
        elif terminated.any():
            infos = self._batched_infos(np.flatnonzero(terminated))
        return self._observation(), rewards, terminated, truncated, infos

    # ------------------------------------------------------------------ helpers
    def _seeds(self, seed: int | Sequence[int | None] | None) -> list[int | None]:
        if seed is None:
            return [None] * self.num_envs
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            return [int(seed) + i for i in range(self.num_envs)]
        seeds = list(seed)
        if len(seeds) != self.num_envs:
            raise ValueError(
                f"seed: a list of seeds must have num_envs={self.num_envs} entries, "
                f"got {len(seeds)}"
            )
        return seeds

    def _rng(self, i: int) -> np.random.Generator:
        rng = self._rngs[i]
        if rng is None:
            rng = self._rngs[i] = seeding.np_random()[0]
        return rng

    def _reset_one(self, i: int, seed: int | None, options: dict[str, Any] | None) -> None:
        if seed is not None:
            self._rngs[i] = seeding.np_random(seed)[0]
        index = self.task.sample_index(options, self._rng(i))
        sample = self.task.dataset[index]
        row = self._prompt_rows.get(index)
        if row is None:
            if len(self._prompt_rows) >= _PROMPT_ROWS_CACHED:
                self._prompt_rows.clear()
            prompt, truncated = self.task.encode_prompt(sample.source)
            padded = np.full(self.task.max_prompt_len, self._pad, dtype=ID_DTYPE)
            padded[: len(prompt)] = prompt
            row = self._prompt_rows[index] = (padded, len(prompt), truncated)
        self._prompt_ids[i], self._prompt_len[i], self._truncated_prompt[i] = row
        self._generated[i] = self._pad
        self._num_generated[i] = 0
        self._texts[i] = ""
        self._text_stale[i] = False
        self._samples[i] = sample
        self._metrics[i] = None
        self._ended[i] = False
        if self._dense:
            tracker = self._trackers[i] = self.task.scorer.start(
                sample.references, source=sample.source
            )
            self._score[i] = tracker.update("")
        else:
            self._score[i] = 0.0

    def _refresh_text(self, i: int) -> None:
        if self._text_stale[i]:
            ids = self._generated[i, : self._num_generated[i]].tolist()
            self._texts[i] = self.task.tokenizer.decode(ids)
            self._text_stale[i] = False

    def _check_actions(self, actions: Any) -> np.ndarray:
        array = np.asarray(actions)
        if array.shape != (self.num_envs,):
            raise ValueError(
                f"actions: expected shape ({self.num_envs},), one token id per env, "
                f"got shape {array.shape}"
            )
        if array.dtype.kind not in "iu":
            raise ValueError(f"actions: expected integer token ids, got dtype {array.dtype}")
        if array.size and (array.min() < 0 or array.max() >= self._vocab):
            bad = np.flatnonzero((array < 0) | (array >= self._vocab)).tolist()
            raise ValueError(
                f"actions: token ids outside [0, {self._vocab}) for env(s) {bad}: "
                f"{array[bad].tolist()}"
            )
        return array.astype(ID_DTYPE, copy=False)

    def _observation(self) -> dict[str, np.ndarray]:
        n_gen = self._num_generated[:, None]
        return {
            "prompt_ids": self._prompt_ids.copy(),
            "prompt_mask": (self._positions_p < self._prompt_len[:, None]).astype(ID_DTYPE),
            "generated_ids": self._generated.copy(),
            "generated_mask": (self._positions_t < n_gen).astype(ID_DTYPE),
            "remaining": (self.task.max_new_tokens - n_gen).astype(ID_DTYPE),
        }

    def _batched_infos(self, rows: np.ndarray) -> dict[str, Any]:
        """The infos of envs ``rows`` in ``VectorEnv._add_info``'s layout, built column-wise.

        Equal to folding ``_add_info`` over the rows, without its per-key Python work per env.
        """
        n = self.num_envs
        mask = np.zeros(n, dtype=np.bool_)
        mask[rows] = True
        per_env = [self._info(int(i)) for i in rows]

        def column(values: list[Any]) -> np.ndarray:
            first = values[0]
            if type(first) in (int, float, bool) or isinstance(first, np.number):
                array = np.zeros(n, dtype=type(first))
            else:
                array = np.full(n, None, dtype=object)
            for i, value in zip(rows, values, strict=True):
                array[i] = value
            return array

        infos: dict[str, Any] = {}
        for key in per_env[0]:
            if key == "metrics":
                continue
            infos[key] = column([info[key] for info in per_env])
            infos[f"_{key}"] = mask.copy()
        pairs = zip(rows, per_env, strict=True)
        with_metrics = [(i, info["metrics"]) for i, info in pairs if "metrics" in info]
        if with_metrics:
            metric_rows = np.array([i for i, _ in with_metrics])
            metric_mask = np.zeros(n, dtype=np.bool_)
            metric_mask[metric_rows] = True
            nested: dict[str, Any] = {}
            for name in with_metrics[0][1]:
                array = np.zeros(n, dtype=float)
                array[metric_rows] = [m[name] for _, m in with_metrics]
                nested[name], nested[f"_{name}"] = array, metric_mask.copy()
            infos["metrics"], infos["_metrics"] = nested, metric_mask
        return infos

    def _info(self, i: int) -> dict[str, Any]:
        self._refresh_text(i)
        sample = self._samples[i]
        assert sample is not None
        return step_info(sample, self._texts[i], self._truncated_prompt[i], self._metrics[i])
