"""The native batched vector env: one set of numpy arrays for N episodes."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from textgym.core.env import INFO_MODES, TokenMDPEnv, step_info
from textgym.core.spaces import ID_DTYPE
from textgym.data.sample import Sample
from textgym.metrics.ngram_ids import jit_available, load_jit
from textgym.rewards.base import ScoreTracker
from textgym.tokenizers.base import decode_batch
from textgym.tokenizers.embedded import WordTokenizer
from textgym.vector.id_metrics import IdMetrics, clip_unit, plan_id_metrics

_SLOTS_MAX = 50_000  # samples whose prompt row (and reference data) are kept
_SLOTS_BYTES = 64 * 2**20  # ... within this many bytes of prompt rows
# Sample draws buffered per env (see TextVectorEnv._draw): a refill costs a generator state copy
# and an array draw, so fewer refills are cheaper (32 -> 256 measured 5% faster steps on
# TextDial-v1 at N=256), for 2 KiB an env.
_DRAWS = 256
_PREFILL_BATCH = 1024  # samples stored per batch by TextVectorEnv.prefill
# From this many envs the default (prefill=None) prefills at the first reset. Below it a step
# costs so little in all that the policy, not the env, sets the pace, and a small env made for
# a test or a check should not pay a second of storing for samples it never plays.
_PREFILL_MIN_ENVS = 64
_STEP_INFO_KEYS = ("sample_id", "source", "references", "generated", "prompt_truncated")
_EPISODE_KEYS = ("sample_id", "source", "references")  # the same at every step of an episode


class TextVectorEnv(VectorEnv):
    """N episodes of one textgym task stepped together with numpy array operations.

    Made by ``gymnasium.make_vec(ID, num_envs=N)`` (the registered ``vector_entry_point``).
    Given the same seeds and actions it returns exactly what ``SyncVectorEnv`` over N single
    envs returns: observations, rewards, terminations, truncations and, with
    ``infos="full"``, infos. ``reset(seed=s)`` seeds episode stream ``i`` with ``s + i``, as
    ``SyncVectorEnv`` does. A task built with ``info_references=False`` leaves ``references``
    out of the infos, as its single envs do.

    Autoreset (Gymnasium 1.x): with ``AutoresetMode.NEXT_STEP`` (default), the step after an
    episode ends resets that env, ignores its action and returns reward 0; with ``SAME_STEP``
    the env is reset in the step it ends and its last observation and info are in
    ``info["final_obs"]`` and ``info["final_info"]``; with ``DISABLED`` stepping an ended env
    is an error until it is reset with ``options={"reset_mask": mask}``.

    Speed: a reset is a sample draw per env (each env keeps its own generator, as in
    ``SyncVectorEnv``, drawn from in batches) and a few array gathers from per-sample slots
    (prompt row, reference data) filled on first use and shared by all N envs. With
    ``id_metrics`` rewards and metrics come from token ids (:mod:`textgym.vector.id_metrics`:
    ROUGE, BLEU, chrF, token F1 and content kernels, in compiled loops when numba is
    installed) instead of decoded text. Prompt rows are kept in the smallest integer dtype
    that holds the vocabulary and converted to the space's ``int64`` in each observation.

    Args:
        task_env: A single env whose data, tokenizer, reward and limits are used (only its
            configuration is used; it is never stepped).
        num_envs: Number of parallel episodes.
        autoreset_mode: See above.
        infos: ``"full"``: every step carries every env's info, as ``SyncVectorEnv`` does.
            ``"final"``: only envs whose episode ends in that step report their info (with
            ``generated`` and ``metrics``); text is then decoded only at episode ends, which
            is much faster with terminal rewards.
        id_metrics: Score rewards and metrics from token ids (:mod:`textgym.vector.id_metrics`,
            equal to the string path bit for bit) where the task allows it: the embedded word
            tokenizer, and a reward and reported metrics that all have a kernel (ROUGE-N,
            ROUGE-L, BLEU, chrF, token F1, content; products and weighted sums of them).
            Samples with references a kernel does not take (ROUGE: over 64 tokens) are scored
            from text. ``None`` (default) uses the kernels when they are faster: always with
            compiled loops (see ``jit``), else from 128 envs with terminal rewards and with
            dense rewards from 8 (ROUGE, content) or 32 (BLEU, chrF, F1). ``True``/``False``
            force them on (where allowed) or off.
        jit: Run the token-id kernels' loops, and the env's own per-step bookkeeping,
            compiled (numba, the ``fast`` extra; same results bit for bit). ``None``
            (default): when numba is installed.
        prefill: Store every sample of the dataset ahead of its first reset (see
            :meth:`prefill`), so that the first steps run as fast as later ones. ``True``:
            now (as many as the cache holds). ``None`` (default): at the first ``reset``, when
            there are at least 64 envs and the cache holds the whole dataset (up to 50,000
            samples; measured 0.4-1.1 s for the 20,000 of an embedded train split), else never.
            ``False``: never; each sample is then stored in the step that first resets onto
            it, which made the first 100 steps of a new env at N=256 run at 0.2-0.5x the warm
            rate.
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
        id_metrics: bool | None = None,
        jit: bool | None = None,
        prefill: bool | None = None,
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
        self._max_new_tokens = t
        self._dense = task_env.reward_mode == "dense"
        # Observation arrays are kept up to date in place (masks included), so that building
        # an observation is five array copies.
        # Prompt rows are kept in the smallest dtype that holds every id (and the mask as
        # bools), converted to the space's dtype when an observation is made: the two prompt
        # arrays are most of a step's memory traffic, and a step over compact ones measured
        # 20% faster on TextDial-v1 at N=256 (the copies, and all that they evicted).
        prompt_dtype = _compact_id_dtype(max(int(task_env.action_space.n), self._pad + 1))
        self._prompt_ids = np.full((n, p), self._pad, dtype=prompt_dtype)
        self._prompt_mask = np.zeros((n, p), dtype=np.bool_)
        self._prompt_len = np.zeros(n, dtype=ID_DTYPE)
        self._generated = np.full((n, t), self._pad, dtype=ID_DTYPE)
        self._generated_mask = np.zeros((n, t), dtype=ID_DTYPE)
        self._num_generated = np.zeros(n, dtype=ID_DTYPE)
        self._score = np.zeros(n, dtype=np.float64)
        self._ended = np.zeros(n, dtype=np.bool_)
        self._truncated_prompt = np.zeros(n, dtype=np.bool_)
        self._text_stale = np.zeros(n, dtype=np.bool_)
        self._texts = np.full(n, "", dtype=object)  # decoded generations (see _text_stale)
        self._samples = np.full(n, None, dtype=object)  # the Sample each env plays
        self._trackers: list[ScoreTracker | None] = [None] * n
        self._rngs: list[np.random.Generator | None] = [None] * n
        # Sample draws are taken _DRAWS at a time per env: one array draw of a generator
        # yields the same numbers and leaves it in the same state as as many scalar draws,
        # so each env still reads its own generator's stream in order, as a single env does.
        # _draw_state keeps the generator state before the buffered draws, so that the
        # generator can be put back where the draws consumed so far leave it (_sync_rngs).
        self._draws = np.zeros((n, _DRAWS), dtype=np.int64)
        self._draw_pos = np.full(n, _DRAWS, dtype=np.intp)  # _DRAWS: nothing buffered
        self._draw_state: list[Mapping[str, Any] | None] = [None] * n
        # info["metrics"] of ended episodes, one row per env, keys as episode_metrics makes them.
        report_names = [scorer.name for scorer in task_env.report]
        self._metric_keys = tuple(dict.fromkeys(["score", *report_names]))
        self._metric_values = np.zeros((n, len(self._metric_keys)), dtype=np.float64)
        self._has_metrics = np.zeros(n, dtype=np.bool_)
        # What a reset onto a dataset index needs, computed once per index and kept in a
        # slot, so that resetting a batch of envs is a few gathers: the padded prompt row,
        # its length, its truncation flag and (in the kernel) the references' match tables.
        # At least num_envs slots, so that one batch of resets always fits (see _reset_rows).
        row_bytes = prompt_dtype.itemsize * p
        slots = min(len(task_env.dataset), max(n, min(_SLOTS_MAX, _SLOTS_BYTES // row_bytes)))
        self._slot_of = np.full(len(task_env.dataset), -1, dtype=np.intp)  # index -> slot
        self._slots_used = 0
        self._slot_index = np.zeros(slots, dtype=np.intp)  # slot -> index
        self._slot_prompt = np.zeros((slots, p), dtype=prompt_dtype)
        self._slot_prompt_len = np.zeros(slots, dtype=ID_DTYPE)
        self._slot_truncated = np.zeros(slots, dtype=np.bool_)
        self._slot_fast = np.zeros(slots, dtype=np.bool_)
        self._slot_sample = np.full(slots, None, dtype=object)
        # Info columns fixed for an episode, per cached sample and per env: infos="full"
        # copies them with one array assignment per step instead of a Python loop over envs.
        self._slot_info = {key: np.full(slots, None, dtype=object) for key in _EPISODE_KEYS}
        self._row_info = {key: np.full(n, None, dtype=object) for key in _EPISODE_KEYS}
        self._positions_p = np.arange(p)
        # Envs whose episode is scored by the token-id kernel (the rest by the string path).
        self._kernel = self._make_kernel(slots, id_metrics, jit)
        self._fast = np.zeros(n, dtype=np.bool_)
        # The env's own bookkeeping in compiled loops (see _core_jit), with the same ``jit``
        # rule as the kernels; scratch index arrays for them, reused every step.
        self._core = load_jit(
            jit, "_core_jit", "jit=True (compiled vector env loops)", package="textgym.vector"
        )
        self._scratch = np.zeros((8, n), dtype=np.intp)
        self._counts = np.zeros(3, dtype=np.intp)
        # The plain sample draw of TokenMDPEnv.sample_index, inlined when not overridden.
        self._plain_draw = type(task_env).sample_index is TokenMDPEnv.sample_index
        tok = task_env.tokenizer
        # The embedded tokenizer decodes many rows with one gather (see _refresh_texts).
        self._decode_rows = (
            tok._decode_valid_rows
            if isinstance(tok, WordTokenizer) and type(tok).decode is WordTokenizer.decode
            else None
        )
        # With full infos every row's text is read at every step: the embedded tokenizer's
        # texts then grow by one piece per step (decode is the join of the ids' pieces, one
        # leading space dropped), instead of decoding every row again (half of a full step).
        self._incremental = self._decode_rows is not None and self.infos_mode == "full"
        if self._incremental:
            assert isinstance(tok, WordTokenizer)
            pieces = tok._pieces
            self._piece_of = tok._piece_array
            self._first_piece_of = np.empty(len(pieces), dtype=object)
            self._first_piece_of[:] = [p[1:] if p[:1] == " " else p for p in pieces]
            self._piece_empty = np.array([p == "" for p in pieces], dtype=np.bool_)
            self._text_empty = np.ones(n, dtype=np.bool_)  # no piece yet: "" so far
        self._columns_ok: bool | None = None  # see _batched_infos
        # info_references=False leaves the references out of every info, as in single envs.
        self._info_references = bool(task_env.info_references)
        self._info_keys = tuple(
            key for key in _STEP_INFO_KEYS if key != "references" or self._info_references
        )
        self._needs_reset = True
        if prefill not in (None, True, False):
            raise ValueError(f"prefill: expected True, False or None, got {prefill!r}")
        # prefill=None: done at the first reset, so that an env made only to read its spaces
        # (the checkers, a wrapper) stores nothing.
        self._prefill_at_reset = (
            prefill is None
            and num_envs >= _PREFILL_MIN_ENVS
            and len(task_env.dataset) <= len(self._slot_prompt)
        )
        if prefill:
            self.prefill()

    def _make_kernel(
        self, slots: int, id_metrics: bool | None, jit: bool | None
    ) -> IdMetrics | None:
        """The token-id kernels when asked for and every value the env needs has one, else
        ``None`` (the exact string path scores every episode).

        They need the embedded word tokenizer (its ids map to each metric's tokens exactly), a
        reward and reported metrics that :func:`~textgym.vector.id_metrics.plan_id_metrics`
        covers, computed by the unmodified ``TokenMDPEnv.episode_metrics``.
        """
        if id_metrics is False:
            return None
        plan = plan_id_metrics(self.task, self.task.report)
        if plan is None:
            return None
        # By default the numpy kernels are used from a measured number of envs (IdMetricPlan);
        # compiled ones were faster from 4 envs on and level at 1. (Checked last: it imports
        # numba.)
        if id_metrics is None and not (
            self.num_envs >= plan.numpy_min_envs(self._dense) or jit_available(jit)
        ):
            return None
        return IdMetrics.build(
            plan, self.task.tokenizer, self.num_envs, self.task.max_new_tokens, slots, jit
        )

    # ------------------------------------------------------------------ API
    @property
    def np_randoms(self) -> list[np.random.Generator | None]:
        """Each env's generator of episode draws (``None`` before its first reset).

        What ``np_random`` is to a single env: a trainer that checkpoints and resumes
        training saves these and sets them back, so the resumed run draws the same samples.
        Each is in the state a single env's generator would be in after the same episodes.
        """
        self._sync_rngs(np.arange(self.num_envs))
        return list(self._rngs)

    @np_randoms.setter
    def np_randoms(self, generators: Sequence[np.random.Generator | None]) -> None:
        generators = list(generators)
        if len(generators) != self.num_envs or not all(
            g is None or isinstance(g, np.random.Generator) for g in generators
        ):
            raise ValueError(
                f"np_randoms: expected {self.num_envs} numpy Generators (or None), got "
                f"{[type(g).__name__ for g in generators]}"
            )
        self._rngs = generators
        self._draw_pos[:] = _DRAWS

    def prefill(self) -> int:
        """Store the samples of the dataset ahead of their first reset, as many as the cache
        holds (every one of a dataset of up to 50,000 samples); the number stored.

        Each sample is otherwise stored (its prompt encoded, its references' kernel tables
        built) in the step that first resets onto it, which makes a new env's first steps
        several times slower than later ones. Stored here, in batches, they cost less per
        sample, and the env then steps at its warm rate from the first step. Nothing an
        episode returns changes (a stored sample is a cache entry), nor any generator: the
        draws stay those of ``SyncVectorEnv``. A generated dataset generates its samples here.
        """
        room = len(self._slot_prompt) - self._slots_used
        pending = np.flatnonzero(self._slot_of < 0)[:room]
        for start in range(0, len(pending), _PREFILL_BATCH):
            self._slots(pending[start : start + _PREFILL_BATCH])
        return self._slots_used

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset every env (or those in ``options["reset_mask"]``).

        Raises:
            ValueError: For a seed list whose length is not ``num_envs``, a malformed
                ``reset_mask``, a bad ``sample_id``, or a tokenizer whose ``encode`` returns
                ids outside ``[0, vocab_size)``.
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
        if self._prefill_at_reset:
            self._prefill_at_reset = False
            self.prefill()
        rows = np.flatnonzero(mask)
        self._reset_rows(rows, seeds, options)
        infos = self._batched_infos(rows) if self.infos_mode == "full" else {}
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

        restarting = self._ended.copy()
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            restart = np.flatnonzero(restarting)
            if len(restart):
                self._reset_rows(restart, None, None)
        elif len(restart := np.flatnonzero(restarting)):
            raise RuntimeError(
                f"step(): env(s) {restart.tolist()} ended and were not "
                "reset; call reset(options={'reset_mask': mask}) first"
            )
        kernel = self._kernel
        core = self._core
        if core is not None:
            # What the numpy code below does, in one compiled pass over the envs.
            terminated = np.empty(n, dtype=np.bool_)
            scratch, counts = self._scratch, self._counts
            core.append_tokens(
                actions, restarting, self._generated, self._generated_mask,
                self._num_generated, self._text_stale, self._fast, self._eos,
                self._max_new_tokens, self._incremental, terminated, scratch[0], scratch[1],
                scratch[2], counts,
            )  # fmt: skip
            appended, fast_count, slow_count = counts.tolist()
            rows = scratch[0, :appended]
            slow_rows = scratch[2, :slow_count]
            if kernel is not None and fast_count:
                fast_rows = scratch[1, :fast_count]
                kernel.append(fast_rows, actions[fast_rows])
            if self._incremental:
                self._extend_texts(rows, actions[rows])
        else:
            active = ~restarting
            is_eos = active & (actions == self._eos)
            rows = np.flatnonzero(active & ~is_eos)
            positions = self._num_generated[rows]
            tokens = actions[rows]
            self._generated[rows, positions] = tokens
            self._generated_mask[rows, positions] = 1
            self._num_generated[rows] = positions + 1
            if self._incremental:
                self._extend_texts(rows, tokens)
            else:
                self._text_stale[rows] = True
            terminated = is_eos
            terminated[rows] |= positions + 1 >= self._max_new_tokens
            if kernel is not None:
                fast = self._fast[rows]
                kernel.append(rows[fast], tokens[fast])
                slow_rows = rows[~fast]
            else:
                slow_rows = rows
        # A dense reward on the string path reads the text every step; otherwise text is
        # decoded when infos are built (every step with full infos, else at episode ends).
        if self._dense and len(slow_rows):
            self._refresh_texts(slow_rows)
        if self._dense:
            self._dense_rewards(np.flatnonzero(~restarting), rewards)
        ended = np.flatnonzero(terminated)
        if len(ended):
            self._finish(ended, rewards)
        self._ended = terminated.copy()
        truncated = np.zeros(n, dtype=np.bool_)

        if self.autoreset_mode == AutoresetMode.SAME_STEP and len(ended):
            final_obs = self._observation()
            finals = np.full(n, None, dtype=object)
            for i in ended:
                finals[i] = {key: value[i] for key, value in final_obs.items()}
            final_info = self._batched_infos(ended)
            self._reset_rows(ended, None, None)
            self._ended[:] = False
            infos = self._batched_infos(np.arange(n) if self.infos_mode == "full" else ended)
            mask = np.zeros(n, dtype=np.bool_)
            mask[ended] = True
            infos.update(
                final_obs=finals, _final_obs=mask, final_info=final_info, _final_info=mask.copy()
            )
        elif self.infos_mode == "full":
            infos = self._batched_infos(np.arange(n))
        elif len(ended):
            infos = self._batched_infos(ended)
        else:
            infos = {}
        return self._observation(), rewards, terminated, truncated, infos

    def _extend_texts(self, rows: np.ndarray, tokens: np.ndarray) -> None:
        """Append the pieces of ``tokens`` to the texts of ``rows`` (full infos, embedded
        tokenizer): what decoding the longer generations gives."""
        empty = self._text_empty[rows]
        self._texts[rows] = np.where(
            empty, self._first_piece_of[tokens], self._texts[rows] + self._piece_of[tokens]
        )
        self._text_empty[rows] = empty & self._piece_empty[tokens]

    # ------------------------------------------------------------------ rewards and metrics
    def _dense_rewards(self, active: np.ndarray, rewards: np.ndarray) -> None:
        """Dense rewards of the ``active`` envs: the change of their prefix's score."""
        if self._kernel is not None:
            fast = active[self._fast[active]]
            if len(fast):
                name = self.task.scorer.name
                new = clip_unit(self._kernel.scores(fast, (name,))[name])
                rewards[fast] = new - self._score[fast]
                self._score[fast] = new
            active = active[~self._fast[active]]
        for i in active:
            new = self._trackers[i].update(self._texts[i])
            rewards[i] = new - self._score[i]
            self._score[i] = new

    def _finish(self, ended: np.ndarray, rewards: np.ndarray) -> None:
        """Score the episodes of ``ended``: ``info["metrics"]`` and, if terminal, the reward."""
        keys = self._metric_keys
        if self._kernel is not None:
            fast = ended[self._fast[ended]]
            if len(fast):
                values = self._kernel.scores(fast)
                name = self.task.scorer.name
                if self._dense:
                    # The tracked score is the one the agent was paid; report exactly that.
                    score = values[name] = self._score[fast]
                else:
                    score = self._score[fast] = rewards[fast] = clip_unit(values[name])
                values["score"] = score
                table = np.empty((len(fast), len(keys)))
                for k, key in enumerate(keys):
                    table[:, k] = values[key]
                # Every metric is clipped to [0, 1] like score_metrics does (a no-op but for
                # float rounding); the score column already is.
                self._metric_values[fast] = clip_unit(table)
                self._has_metrics[fast] = True
            ended = ended[~self._fast[ended]]
        self._refresh_texts(ended)
        for i in ended:
            known = float(self._score[i]) if self._dense else None
            sample = self._samples[i]
            assert sample is not None
            metrics = self.task.episode_metrics(
                self._texts[i], sample.references, known, source=sample.source
            )
            if tuple(metrics) != keys:
                raise RuntimeError(f"episode metrics {list(metrics)} differ from {list(keys)}")
            self._metric_values[i] = [metrics[k] for k in keys]
            self._has_metrics[i] = True
            if not self._dense:
                self._score[i] = rewards[i] = metrics["score"]

    # ------------------------------------------------------------------ helpers
    def _seeds(self, seed: int | Sequence[int | None] | None) -> list[int | None]:
        if seed is None:
            return [None] * self.num_envs
        if isinstance(seed, bool):
            # bool is an int subclass, but True is no seed: the TypeError list(True) raised.
            raise TypeError(f"seed: expected an int, a sequence of ints or None, got {seed!r}")
        if isinstance(seed, (int, np.integer)):
            return [int(seed) + i for i in range(self.num_envs)]
        seeds = list(seed)
        if len(seeds) != self.num_envs:
            raise ValueError(
                f"seed: a list of seeds must have num_envs={self.num_envs} entries, "
                f"got {len(seeds)}"
            )
        return seeds

    def _reset_rows(
        self, rows: np.ndarray, seeds: list[int | None] | None, options: dict[str, Any] | None
    ) -> None:
        """Start new episodes in envs ``rows``: per-env sample draws, then array writes."""
        task = self.task
        if seeds is not None:
            for i in rows.tolist():
                if seeds[i] is not None:
                    self._rngs[i] = seeding.np_random(seeds[i])[0]
                    self._draw_pos[i] = _DRAWS
        core = self._core
        if core is not None and self._plain_draw and options is None:
            # _draw and _slots' lookup in one compiled call (refills and new samples aside).
            m = len(rows)
            indices, slot_ids = self._scratch[3, :m], self._scratch[4, :m]
            args = (rows, self._draw_pos, self._draws, self._slot_of, self._draws.shape[1])
            missing = core.take_draws(*args, indices, slot_ids)
            if missing < 0:
                self._refill_draws(rows[self._draw_pos[rows] >= self._draws.shape[1]])
                missing = core.take_draws(*args, indices, slot_ids)
            if missing:
                slot_ids = self._slots(indices)
        else:
            if self._plain_draw and options is None:
                indices = self._draw(rows)
            else:
                self._sync_rngs(rows)
                indices = np.array(
                    [task.sample_index(options, self._rng(i)) for i in rows.tolist()],
                    dtype=np.intp,
                )
            slot_ids = self._slots(indices)
        self._samples[rows] = self._slot_sample[slot_ids]
        for key, column in self._row_info.items():
            column[rows] = self._slot_info[key][slot_ids]
        if core is not None:
            self._start_rows_compiled(rows, slot_ids)
            return
        prompt_len = self._slot_prompt_len[slot_ids]
        self._prompt_ids[rows] = self._slot_prompt[slot_ids]
        self._prompt_len[rows] = prompt_len
        self._prompt_mask[rows] = self._positions_p < prompt_len[:, None]
        self._truncated_prompt[rows] = self._slot_truncated[slot_ids]
        self._generated[rows] = self._pad
        self._generated_mask[rows] = 0
        self._num_generated[rows] = 0
        if self._incremental:
            self._texts[rows] = ""
            self._text_empty[rows] = True
        else:
            self._text_stale[rows] = True  # decoded to "" when read
        self._has_metrics[rows] = False
        self._ended[rows] = False
        self._score[rows] = 0.0
        slow = rows
        if self._kernel is not None:
            fast = self._slot_fast[slot_ids]
            self._fast[rows] = fast
            self._kernel.reset(rows[fast], slot_ids[fast])
            slow = rows[~fast]
        if self._dense:
            self._start_trackers(slow)

    def _start_rows_compiled(self, rows: np.ndarray, slot_ids: np.ndarray) -> None:
        """The rest of :meth:`_reset_rows` with the array writes in one compiled call."""
        kernel, core = self._kernel, self._core
        assert core is not None
        m = len(rows)
        fast_rows, fast_slots, slow = self._scratch[5, :m], self._scratch[6, :m], self._scratch[7]
        fast_count = core.start_rows(
            rows, slot_ids, self._slot_prompt, self._slot_prompt_len, self._slot_truncated,
            self._slot_fast, self._prompt_ids, self._prompt_len, self._prompt_mask,
            self._truncated_prompt, self._generated, self._generated_mask, self._num_generated,
            self._text_stale, self._has_metrics, self._ended, self._score, self._fast,
            self._pad, self._incremental, kernel is not None, fast_rows, fast_slots, slow,
        )  # fmt: skip
        if self._incremental:
            self._texts[rows] = ""
            self._text_empty[rows] = True
        if kernel is not None and fast_count:
            kernel.reset(fast_rows[:fast_count], fast_slots[:fast_count])
        if self._dense:
            self._start_trackers(slow[: m - fast_count].copy())

    def _start_trackers(self, rows: np.ndarray) -> None:
        """Start the string path's dense score trackers of the episodes of ``rows``."""
        self._refresh_texts(rows)
        for i in rows.tolist():
            sample = self._samples[i]
            tracker = self._trackers[i] = self.task.scorer.start(
                sample.references, source=sample.source
            )
            # As TokenMDPEnv.reset: scored to fail early, but the baseline stays 0.
            tracker.update("")

    def _rng(self, i: int) -> np.random.Generator:
        rng = self._rngs[i]
        if rng is None:
            rng = self._rngs[i] = seeding.np_random()[0]
        return rng

    def _draw(self, rows: np.ndarray) -> np.ndarray:
        """The next plain sample draw ``rng.integers(len(dataset))`` of each env of ``rows``."""
        empty = rows[self._draw_pos[rows] >= _DRAWS]
        if len(empty):
            self._refill_draws(empty)
        pos = self._draw_pos[rows]
        self._draw_pos[rows] = pos + 1
        return self._draws[rows, pos]

    def _refill_draws(self, rows: np.ndarray) -> None:
        """Buffer the next draws of the envs of ``rows`` (whose buffers are used up)."""
        size, count = len(self.task.dataset), self._draws.shape[1]
        for i in rows.tolist():
            rng = self._rng(i)
            self._draw_state[i] = rng.bit_generator.state
            self._draws[i] = rng.integers(size, size=count)
        self._draw_pos[rows] = 0

    def _sync_rngs(self, rows: np.ndarray) -> None:
        """Put the generators of ``rows`` where their consumed draws leave them; drop the rest."""
        pending = rows[self._draw_pos[rows] < _DRAWS]
        if len(pending):
            size = len(self.task.dataset)
            for i in pending.tolist():
                rng = self._rngs[i]
                rng.bit_generator.state = self._draw_state[i]
                rng.integers(size, size=int(self._draw_pos[i]))
            self._draw_pos[pending] = _DRAWS

    def _slots(self, indices: np.ndarray) -> np.ndarray:
        """The slots of dataset ``indices``, storing those not in a slot yet."""
        slot_of = self._slot_of
        slots = slot_of[indices]
        missing = slots < 0
        if missing.any():
            new = list(dict.fromkeys(indices[missing].tolist()))
            if self._slots_used + len(new) > len(self._slot_prompt):
                # Slots run out in this batch: start over (envs keep copies of what they
                # use, and no slot may be reused within the batch, which this guarantees).
                slot_of[self._slot_index[: self._slots_used]] = -1
                self._slots_used = 0
                new = list(dict.fromkeys(indices.tolist()))
            dataset = self.task.dataset
            samples = [dataset[index] for index in new]
            first = self._slots_used
            self._store_many(new, samples)
            if self._kernel is not None:
                # The references of every new sample in one call (see IdMetrics.store_many).
                fast = self._kernel.store_many(
                    np.arange(first, self._slots_used), [s.references for s in samples]
                )
                self._slot_fast[first : self._slots_used] = fast
            slots = slot_of[indices]
        return slots

    def _store_many(self, indices: list[int], samples: list[Sample]) -> None:
        """Compute what a reset onto each of dataset ``indices`` needs into the next free
        slots (as many as there are indices, all free), their prompts encoded in one batch.

        The references' kernel data are stored by the caller, for all new samples at once.
        """
        first = self._slots_used
        stop = first + len(indices)
        prompts = self.task.encode_prompts([sample.source for sample in samples])
        lengths = np.array([len(prompt) for prompt, _ in prompts], dtype=np.intp)
        # Every prompt row in three array writes: the ids land at (slot, position) pairs.
        self._slot_prompt[first:stop] = self._pad
        flat = np.fromiter(
            itertools.chain.from_iterable(prompt for prompt, _ in prompts),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        rows = np.repeat(np.arange(first, stop), lengths)
        ends = np.cumsum(lengths)
        positions = np.arange(len(flat)) - np.repeat(ends - lengths, lengths)
        self._slot_prompt[rows, positions] = flat
        self._slot_prompt_len[first:stop] = lengths
        self._slot_truncated[first:stop] = [truncated for _, truncated in prompts]
        self._slot_sample[first:stop] = np.fromiter(samples, dtype=object, count=len(samples))
        self._slot_info["sample_id"][first:stop] = np.fromiter(
            (sample.id for sample in samples), dtype=object, count=len(samples)
        )
        self._slot_info["source"][first:stop] = np.fromiter(
            (sample.source for sample in samples), dtype=object, count=len(samples)
        )
        # One list per cached sample, handed to every info of its episodes (as the single
        # env's info it is a list; a caller that mutates it changes later infos too).
        self._slot_info["references"][first:stop] = np.fromiter(
            (list(sample.references) for sample in samples), dtype=object, count=len(samples)
        )
        index_array = np.asarray(indices, dtype=np.intp)
        self._slot_of[index_array] = np.arange(first, stop)
        self._slot_index[first:stop] = index_array
        self._slots_used = stop

    def _refresh_texts(self, rows: np.ndarray) -> None:
        """:meth:`_refresh_text` of several envs, with one array conversion for all."""
        stale = rows[self._text_stale[rows]]
        if len(stale):
            if self._decode_rows is not None:
                # Rows are padded with PAD, which decodes to nothing; their ids are valid.
                texts = self._decode_rows(self._generated[stale])
            else:
                lengths = self._num_generated[stale].tolist()
                rows = self._generated[stale].tolist()
                texts = decode_batch(
                    self.task.tokenizer,
                    [ids[:length] for ids, length in zip(rows, lengths, strict=True)],
                )
            self._texts[stale] = np.fromiter(texts, dtype=object, count=len(stale))
            self._text_stale[stale] = False

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
        # One compiled pass instead of min() and max() (the message is made below).
        core = self._core
        if (
            core is not None
            and array.dtype == ID_DTYPE
            and not core.out_of_range(array, self._vocab)
        ):
            return array
        if array.size and (array.min() < 0 or array.max() >= self._vocab):
            bad = np.flatnonzero((array < 0) | (array >= self._vocab)).tolist()
            raise ValueError(
                f"actions: token ids outside [0, {self._vocab}) for env(s) {bad}: "
                f"{array[bad].tolist()}"
            )
        return array.astype(ID_DTYPE, copy=False)

    def _observation(self) -> dict[str, np.ndarray]:
        return {
            "prompt_ids": self._prompt_ids.astype(ID_DTYPE),
            "prompt_mask": self._prompt_mask.astype(ID_DTYPE),
            "generated_ids": self._generated.copy(),
            "generated_mask": self._generated_mask.copy(),
            "remaining": (self._max_new_tokens - self._num_generated)[:, None],
        }

    def _batched_infos(self, rows: np.ndarray) -> dict[str, Any]:
        """The infos of envs ``rows`` in ``VectorEnv._add_info``'s layout, built column-wise.

        Equal to folding ``_add_info`` over the rows, without its per-key Python work per env.
        """
        n = self.num_envs
        row_list = rows.tolist()
        mask = np.zeros(n, dtype=np.bool_)
        mask[rows] = True
        if self._columns_ok is None:
            # step_info's keys are fixed: check them once against the fast column build.
            self._columns_ok = tuple(self._info(row_list[0], with_metrics=False)) == self._info_keys
        if self._columns_ok:
            # The columns of step_info (core.env) without a dict per env; the parity tests
            # against SyncVectorEnv hold the two together, the key check guards its shape.
            self._refresh_texts(rows)
            infos: dict[str, Any] = {}
            for key in self._info_keys:
                if key == "prompt_truncated":
                    array = np.zeros(n, dtype=np.bool_)
                    array[rows] = self._truncated_prompt[rows]
                elif key == "sample_id" and _numeric(self._row_info[key][rows[0]]):
                    head = self._row_info[key][rows[0]]  # int ids: an int array, as Gymnasium's
                    array = np.zeros(n, dtype=type(head))
                    array[rows] = self._row_info[key][rows]
                else:
                    array = np.empty(n, dtype=object)  # every element None (numpy's rule)
                    if key == "generated":
                        array[rows] = self._texts[rows]
                    else:
                        array[rows] = self._row_info[key][rows]
                infos[key], infos[f"_{key}"] = array, mask.copy()
            self._add_metrics(infos, rows)
            return infos
        per_env = [self._info(i, with_metrics=False) for i in row_list]
        columns = {key: [info[key] for info in per_env] for key in per_env[0]}
        infos = {}
        for key, values in columns.items():
            head = values[0]
            if _numeric(head):
                array = np.zeros(n, dtype=type(head))
                array[rows] = values
            else:
                array = np.full(n, None, dtype=object)
                # fromiter keeps each value (a list included) as one element.
                array[rows] = np.fromiter(values, dtype=object, count=len(values))
            infos[key], infos[f"_{key}"] = array, mask.copy()
        self._add_metrics(infos, rows)
        return infos

    def _add_metrics(self, infos: dict[str, Any], rows: np.ndarray) -> None:
        """The nested ``metrics`` info of the envs among ``rows`` whose episode has ended."""
        n = self.num_envs
        metric_rows = rows[self._has_metrics[rows]]
        if len(metric_rows):
            metric_mask = np.zeros(n, dtype=np.bool_)
            metric_mask[metric_rows] = True
            values = self._metric_values[metric_rows]
            nested: dict[str, Any] = {}
            for k, name in enumerate(self._metric_keys):
                array = np.zeros(n, dtype=float)
                array[metric_rows] = values[:, k]
                nested[name], nested[f"_{name}"] = array, metric_mask.copy()
            infos["metrics"], infos["_metrics"] = nested, metric_mask

    def _info(self, i: int, with_metrics: bool = True) -> dict[str, Any]:
        self._refresh_text(i)
        sample = self._samples[i]
        assert sample is not None
        metrics = None
        if with_metrics and self._has_metrics[i]:
            metrics = dict(zip(self._metric_keys, self._metric_values[i].tolist(), strict=True))
        return step_info(
            sample,
            self._texts[i],
            self._truncated_prompt[i],
            metrics,
            references=self._info_references,
        )


def _compact_id_dtype(bound: int) -> np.dtype:
    """The smallest integer dtype that holds every id in ``[0, bound)``."""
    for dtype in (np.uint8, np.uint16, np.int32):
        if bound - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(ID_DTYPE)


def _numeric(value: Any) -> bool:
    """Whether ``VectorEnv._add_info`` stores ``value`` in a numeric array (not ``object``)."""
    return type(value) in (int, float, bool) or isinstance(value, np.number)
