"""The token-level MDP every textgym environment is an instance of."""

from __future__ import annotations

import numbers
import string
from collections.abc import Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from textgym.core import spaces as tg_spaces
from textgym.core.render import render_ansi
from textgym.data.sample import Sample
from textgym.rewards.base import Scorer, ScoreTracker
from textgym.rewards.scorers import MetricScorer, score_metrics
from textgym.tokenizers.base import Tokenizer, encode_batch
from textgym.tokenizers.embedded import WordTokenizer

RewardMode = Literal["terminal", "dense"]
#: Largest ``max_new_tokens`` an env accepts: every observation holds this many generated-id
#: slots (a vector env ``num_envs`` times as many), so a typo such as ``10**9`` would try to
#: allocate gigabytes. Raise it deliberately (``textgym.core.env.MAX_NEW_TOKENS_LIMIT = ...``)
#: if you have the memory.
MAX_NEW_TOKENS_LIMIT = 16_384
#: Largest ``max_prompt_len`` an env accepts, for the same reason (prompt-id slots).
MAX_PROMPT_LEN_LIMIT = 131_072
_PROMPT_CACHE_SIZE = 50_000
TruncationSide = Literal["left", "right"]
#: Values of ``infos=``, for single envs and the native vector env alike: ``"full"`` (every
#: reset and step reports its info) or ``"final"`` (only the step that ends an episode does).
INFO_MODES = ("full", "final")


def step_info(
    sample: Sample,
    generated: str,
    prompt_truncated: bool,
    metrics: dict[str, float] | None,
    references: bool = True,
) -> dict[str, Any]:
    """The ``info`` of one env after a reset or step; the vector env builds its infos with it
    too, which is what keeps the two identical. ``references=False`` leaves them out."""
    info: dict[str, Any] = {"sample_id": sample.id, "source": sample.source}
    if references:
        info["references"] = list(sample.references)
    info["generated"] = generated
    info["prompt_truncated"] = bool(prompt_truncated)
    if metrics is not None:
        info["metrics"] = dict(metrics)
    return info


def template_parts(template: object) -> tuple[str, ...]:
    """The literal text of a prompt template around its ``{source}`` fields, braces unescaped.

    ``"summarize: {source}"`` gives ``("summarize: ", "")``; a template with ``k`` fields gives
    ``k + 1`` parts, and ``template.format(source=s) == s.join(parts)``.

    Raises:
        ValueError: Naming ``prompt_template``, unless it is a ``str.format`` string whose only
            field is ``{source}`` (once or more), without conversion or format spec: any other
            field would fail at reset with a bare ``KeyError``, and ``{{source}}`` is the
            literal text ``{source}``, which would silently drop the source.
    """
    hint = "expected a str.format string whose only field is {source}, e.g. 'summarize: {source}'"
    if not isinstance(template, str):
        raise ValueError(f"prompt_template: {hint}; got {template!r}")
    braces = "write literal braces as '{{' and '}}'"
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"prompt_template: {template!r} is malformed ({exc}); {braces}") from None
    parts = [""]
    for literal, field, spec, conversion in parsed:
        parts[-1] += literal
        if field is None:
            continue
        if field != "source":
            raise ValueError(
                f"prompt_template: {template!r} has an unknown field {field!r}; {hint} ({braces})"
            )
        if conversion is not None:
            raise ValueError(
                f"prompt_template: {template!r} has a conversion '!{conversion}' on {{source}}; "
                f"{hint}"
            )
        if spec:
            raise ValueError(
                f"prompt_template: {template!r} has a format spec ':{spec}' on {{source}}; {hint}"
            )
        parts.append("")
    if len(parts) == 1:
        raise ValueError(
            f"prompt_template: {template!r} has no '{{source}}' field ('{{{{source}}}}' is "
            f"the literal text '{{source}}'); {hint}"
        )
    return tuple(parts)


class UnsupportedRenderModeError(ValueError, TypeError):
    """An unsupported ``render_mode``.

    Also a ``TypeError`` because stable-baselines3's ``make_vec_env`` first tries
    ``render_mode="rgb_array"`` and falls back to the caller's kwargs only on ``TypeError``.
    """


class TokenMDPEnv(gym.Env[dict[str, np.ndarray], np.int64]):
    """Text generation as a token-level MDP.

    ## Description
    ``reset`` draws a :class:`~textgym.data.Sample` with the env's seeded RNG and encodes the
    prompt. Each ``step(token_id)`` appends one token to the generated prefix. The episode
    terminates when the end-of-sequence token is chosen or ``max_new_tokens`` tokens have been
    generated; the text is then final and scored against the sample's references.

    ## Observation Space
    A flat ``Dict`` of integer ``Box`` arrays (see :func:`textgym.core.spaces.observation_space`):
    ``prompt_ids``/``prompt_mask`` ``(max_prompt_len,)``, ``generated_ids``/``generated_mask``
    ``(max_new_tokens,)`` and ``remaining`` ``(1,)``, the number of tokens left before the length
    limit, so the limit is part of the state.

    ## Action Space
    ``Discrete(tokenizer.vocab_size)``: the id of the next token. ``tokenizer.eos_id`` ends the
    episode without adding text; PAD adds no text either.

    ## Rewards
    In ``"terminal"`` mode, 0 until the last step, then the score of the generated text in [0, 1].
    In ``"dense"`` mode, the change of the score of the prefix after each token, the first one
    counted from 0 (not from the empty text's score); the rewards of an episode sum to the
    terminal score (up to float rounding, < 1e-9), also for a reward that scores the empty
    text above 0.

    ## Episode End
    ``terminated=True`` at EOS or at the length limit: both end the task, and the limit is
    visible in the observation, so value bootstrapping past it would be wrong. The env never sets
    ``truncated``; that flag is left to external time limits.

    ## Info
    Every step: ``sample_id``, ``source``, ``references`` (list of str; left out with
    ``info_references=False``), ``generated`` (str), ``prompt_truncated`` (bool). At the end of
    an episode also ``metrics``: ``{"score": ...}`` plus every metric of the task, each in
    [0, 1]. With ``infos="final"`` reset and every step before the last return ``{}``, as the
    vector env's ``infos="final"`` does.

    Args:
        dataset: Random-access samples (``len`` and integer indexing).
        tokenizer: Any object following :class:`~textgym.tokenizers.base.Tokenizer`.
        scorer: The reward metric.
        report: Extra metrics reported in ``info["metrics"]`` at the end of an episode.
        prompt_template: ``str.format`` template whose only field is ``{source}`` (once or
            more; literal braces as ``{{`` and ``}}``).
        max_prompt_len: Prompt length in tokens. A longer prompt keeps its template and cuts
            its source (each copy equally) on ``truncation_side``; ``info["prompt_truncated"]``
            says so.
        max_new_tokens: Length limit of the generation, at most :data:`MAX_NEW_TOKENS_LIMIT`
            (``max_prompt_len`` at most :data:`MAX_PROMPT_LEN_LIMIT`).
        reward_mode: ``"terminal"`` or ``"dense"``.
        truncation_side: ``"right"`` keeps the start of a long prompt, ``"left"`` its end.
        render_mode: ``None`` or ``"ansi"``.
        info_references: ``False`` leaves ``references`` out of every ``info`` (reset, step
            and episode end), so that an agent reading ``info`` cannot copy the answer; for
            training. ``True`` (default) keeps them for evaluation and inspection. Either way
            they stay available as ``env.unwrapped.sample.references``.
        infos: ``"full"`` (default): every ``reset`` and ``step`` returns the info above.
            ``"final"``: ``reset`` and the steps of a running episode return an empty dict and
            only the step that ends an episode returns its info (with ``generated`` and
            ``metrics``), as the native vector env's ``infos="final"`` does; for clients that
            cannot store text infos at every step (TorchRL's info readers).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}
    # Narrower than gym.Env's Space[...]: the env reads the Discrete's n and the Dict's keys.
    # gymnasium types Dict as Space[dict[str, Space]], though its samples are dicts of arrays.
    observation_space: gym.spaces.Dict  # type: ignore[assignment]
    action_space: gym.spaces.Discrete

    def __init__(
        self,
        dataset: Sequence[Sample],
        tokenizer: Tokenizer,
        scorer: Scorer,
        report: Sequence[Scorer] = (),
        prompt_template: str = "{source}",
        max_prompt_len: int = 128,
        max_new_tokens: int = 32,
        reward_mode: RewardMode = "terminal",
        truncation_side: TruncationSide = "right",
        render_mode: str | None = None,
        info_references: bool = True,
        infos: str = "full",
    ) -> None:
        if len(dataset) == 0:
            raise ValueError("dataset: no samples; an environment needs at least one")
        if reward_mode not in ("terminal", "dense"):
            raise ValueError(f"reward_mode: expected 'terminal' or 'dense', got {reward_mode!r}")
        if truncation_side not in ("left", "right"):
            raise ValueError(
                f"truncation_side: expected 'left' or 'right', got {truncation_side!r}"
            )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise UnsupportedRenderModeError(
                f"render_mode: expected None or 'ansi', got {render_mode!r}"
            )
        if infos not in INFO_MODES:
            raise ValueError(f"infos: expected one of {', '.join(INFO_MODES)}, got {infos!r}")
        parts = template_parts(prompt_template)
        if not isinstance(info_references, (bool, np.bool_)):
            raise ValueError(f"info_references: expected True or False, got {info_references!r}")
        for name, value, limit, constant in (
            ("max_prompt_len", max_prompt_len, MAX_PROMPT_LEN_LIMIT, "MAX_PROMPT_LEN_LIMIT"),
            ("max_new_tokens", max_new_tokens, MAX_NEW_TOKENS_LIMIT, "MAX_NEW_TOKENS_LIMIT"),
        ):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
            if value > limit:
                raise ValueError(
                    f"{name}: {value} is above the limit of {limit} tokens: every observation "
                    f"holds {name} token ids (a vector env one row per env); pass a smaller "
                    f"{name}, or raise textgym.core.env.{constant} if you really have the memory"
                )
        vocab_size = int(tokenizer.vocab_size)
        for name in ("eos_id", "pad_id"):
            token_id = getattr(tokenizer, name)
            if not 0 <= token_id < vocab_size:
                raise ValueError(f"tokenizer: {name}={token_id} is outside [0, {vocab_size})")

        self.dataset = dataset
        self.tokenizer = tokenizer
        self.scorer = scorer
        self.report = tuple(report)
        self.prompt_template = prompt_template
        self.max_prompt_len = int(max_prompt_len)
        self.max_new_tokens = int(max_new_tokens)
        self.reward_mode = reward_mode
        self.truncation_side = truncation_side
        self.render_mode = render_mode
        self.info_references = bool(info_references)
        self.infos_mode = infos

        self.observation_space = tg_spaces.observation_space(
            vocab_size, self.max_prompt_len, self.max_new_tokens
        )
        self.action_space = tg_spaces.action_space(vocab_size)

        # The template's text around each {source} field, for cutting a long source.
        self._template_ids = [tokenizer.encode(part) for part in parts]
        for part, ids in zip(parts, self._template_ids, strict=True):
            self._check_ids(ids, part)
        self._template_prefix, self._template_suffix = self._template_ids[0], self._template_ids[-1]
        if sum(map(len, self._template_ids)) + len(parts) - 1 > self.max_prompt_len:
            raise ValueError(
                f"max_prompt_len: {self.max_prompt_len} leaves no room for the source after the "
                f"template {prompt_template!r}"
            )
        # Episodes revisit samples; encoding a long prompt costs more than the rest of a reset.
        self._prompt_cache: dict[str, tuple[list[int], bool]] = {}
        # The embedded tokenizer's encode returns indices of its own vocabulary, so its ids
        # need no range check (a tenth of a cold reset's cost); any other tokenizer's do.
        self._check_prompt_ids = not (
            isinstance(tokenizer, WordTokenizer)
            and type(tokenizer).encode is WordTokenizer.encode
            and vocab_size >= tokenizer.vocab_size
        )
        self._eos_id = int(tokenizer.eos_id)
        self._pad_id = int(tokenizer.pad_id)
        self._sample: Sample | None = None
        self._prompt_ids = np.full(self.max_prompt_len, self._pad_id, dtype=tg_spaces.ID_DTYPE)
        self._prompt_len = 0
        self._prompt_truncated = False
        self._generated_ids = np.full(self.max_new_tokens, self._pad_id, dtype=tg_spaces.ID_DTYPE)
        self._num_generated = 0
        self._text = ""
        self._score = 0.0
        self._tracker: ScoreTracker | None = None
        self._done = False
        self._metrics: dict[str, float] | None = None

    # ------------------------------------------------------------------ episode
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode on a random sample, or on ``options["sample_id"]`` (an index).

        Raises:
            ValueError: For an unknown option, a ``sample_id`` outside the dataset, or a
                tokenizer whose ``encode`` returns ids outside ``[0, vocab_size)``.
        """
        super().reset(seed=seed)
        sample = self.dataset[self.sample_index(options, self.np_random)]

        prompt, self._prompt_truncated = self.encode_prompt(sample.source)
        self._prompt_ids.fill(self._pad_id)
        self._prompt_ids[: len(prompt)] = prompt
        self._prompt_len = len(prompt)

        self._sample = sample
        self._generated_ids.fill(self._pad_id)
        self._num_generated = 0
        self._text = ""
        self._done = False
        self._metrics = None
        self._score = 0.0
        if self.reward_mode == "dense":
            self._tracker = self.scorer.start(sample.references, source=sample.source)
            # Scored now so that a broken reward fails at reset, but not used as the baseline:
            # the first reward is score(prefix_1) - 0, so that the rewards of an episode sum
            # to its final score even where the empty text scores above 0.
            self._tracker.update("")
        else:
            self._tracker = None
        return self._observation(), self._info()

    def step(
        self, action: int | np.integer | np.ndarray
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Append token ``action``; see the class docstring for rewards and termination.

        Raises:
            RuntimeError: Before the first ``reset`` or after the episode has ended.
            ValueError: If ``action`` is not an integer token id in ``[0, vocab_size)``.
        """
        if self._sample is None:
            raise RuntimeError("step() called before reset(); call env.reset() first")
        if self._done:
            raise RuntimeError("step() called after the episode ended; call env.reset() first")
        token = self._check_action(action)

        if token == self._eos_id:
            terminated = True
        else:
            self._generated_ids[self._num_generated] = token
            self._num_generated += 1
            self._text = self.tokenizer.decode(self._generated_ids[: self._num_generated].tolist())
            terminated = self._num_generated >= self.max_new_tokens

        if self._tracker is not None:
            new_score = self._tracker.update(self._text)
            reward = new_score - self._score
            self._score = new_score
        else:
            reward = 0.0

        if terminated:
            self._done = True
            self._metrics = self.episode_metrics(
                self._text,
                self._sample.references,
                self._score if self._tracker else None,
                source=self._sample.source,
            )
            self._score = self._metrics["score"]
            if self._tracker is None:
                reward = self._score
        return self._observation(), float(reward), terminated, False, self._info()

    # ------------------------------------------------------------------ helpers
    def reference_action(self) -> int:
        """The next token of the canonical reference (``references[0]``), then EOS.

        Following it from ``reset`` reproduces the reference, which scores the task's ceiling.
        Raises ``RuntimeError`` outside an episode.
        """
        if self._sample is None or self._done:
            raise RuntimeError("reference_action() needs an episode in progress; call reset()")
        target = self.tokenizer.encode(self._sample.references[0])
        prefix = self._generated_ids[: self._num_generated].tolist()
        if prefix == target[: len(prefix)] and len(prefix) < len(target):
            return int(target[len(prefix)])
        return self._eos_id

    @property
    def sample(self) -> Sample | None:
        """The sample of the current episode (``None`` before the first reset)."""
        return self._sample

    @property
    def generated_text(self) -> str:
        """The text generated so far in the current episode."""
        return self._text

    def render(self) -> str | None:
        """An ``"ansi"`` text view of the episode: source, generation, references and score."""
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode; pass render_mode='ansi'")
            return None
        if self._sample is None:
            return "(no episode yet: call reset())\n"
        return render_ansi(
            sample=self._sample,
            generated=self._text,
            num_generated=self._num_generated,
            max_new_tokens=self.max_new_tokens,
            score=self._score if (self._done or self._tracker is not None) else None,
            metrics=self._metrics,
        )

    def encode_prompt(self, source: str) -> tuple[list[int], bool]:
        """Token ids of the prompt for ``source`` and whether it had to be truncated."""
        cached = self._prompt_cache.get(source)
        if cached is None:
            if len(self._prompt_cache) >= _PROMPT_CACHE_SIZE:
                self._prompt_cache.clear()
            cached = self._encode_prompt(source)
            if self._check_prompt_ids:
                self._check_ids(cached[0], source)
            self._prompt_cache[source] = cached
        return cached

    def _check_ids(self, ids: Sequence[int], text: str) -> None:
        """Raise unless ``ids`` (the tokenizer's encoding of ``text``) are ids of the vocabulary.

        An id outside it would put the observation outside the observation space, which
        Gymnasium only warns about once. One min/max per prompt: prompts are cached.
        """
        if len(ids) == 0:
            return
        array = np.asarray(ids)
        vocab_size = self.action_space.n
        if array.ndim != 1 or array.dtype.kind not in "iu":
            raise ValueError(
                f"tokenizer: {self.tokenizer!r}.encode returned {type(ids).__name__} of "
                f"{array.dtype} with shape {array.shape} for {text[:40]!r}; expected a list "
                f"of integer ids in [0, vocab_size={vocab_size})"
            )
        low, high = int(array.min()), int(array.max())
        if low < 0 or high >= vocab_size:
            bad = low if low < 0 else high
            raise ValueError(
                f"tokenizer: {self.tokenizer!r}.encode returned id {bad} for {text[:40]!r}, "
                f"outside [0, vocab_size={vocab_size}); the tokenizer's vocab_size must cover "
                "every id its encode returns"
            )

    def encode_prompts(self, sources: Sequence[str]) -> list[tuple[list[int], bool]]:
        """:meth:`encode_prompt` of each of ``sources``, the new ones encoded in one batch.

        Equal to ``[encode_prompt(s) for s in sources]`` (the same cache is read and filled);
        the tokenizer's ``encode_batch``, where it has one, encodes the prompts not cached yet
        in one call (a Hugging Face fast tokenizer then encodes them together in Rust).

        Raises:
            ValueError: As :meth:`encode_prompt`.
        """
        overridden = (
            type(self).encode_prompt is not TokenMDPEnv.encode_prompt
            or type(self)._encode_prompt is not TokenMDPEnv._encode_prompt
        )
        if overridden:
            return [self.encode_prompt(source) for source in sources]
        cache = self._prompt_cache
        found = {source: cache[source] for source in sources if source in cache}
        missing = [source for source in dict.fromkeys(sources) if source not in found]
        if missing:
            template = self.prompt_template
            encoded = encode_batch(self.tokenizer, [template.format(source=s) for s in missing])
            for source, prompt in zip(missing, encoded, strict=True):
                value = self._fit_prompt(source, prompt)
                if self._check_prompt_ids:
                    self._check_ids(value[0], source)
                if len(cache) >= _PROMPT_CACHE_SIZE:
                    cache.clear()
                cache[source] = found[source] = value
        return [found[source] for source in sources]

    def _encode_prompt(self, source: str) -> tuple[list[int], bool]:
        prompt = self.tokenizer.encode(self.prompt_template.format(source=source))
        return self._fit_prompt(source, prompt)

    def _fit_prompt(self, source: str, prompt: list[int]) -> tuple[list[int], bool]:
        """The prompt ``prompt`` (the template filled with ``source``, encoded), cut to
        ``max_prompt_len`` if it is longer, and whether it had to be."""
        if len(prompt) <= self.max_prompt_len:
            return prompt, False
        # Cut the source, not the template: the instruction ("summarize:", "reply:") must
        # survive whichever end of a long source is dropped.
        source_ids = list(self.tokenizer.encode(source))
        pieces = self._template_ids
        # Each copy of the source gets an equal share of the room the template leaves (>= 1).
        keep = (self.max_prompt_len - sum(map(len, pieces))) // (len(pieces) - 1)
        kept = source_ids[:keep] if self.truncation_side == "right" else source_ids[-keep:]
        prompt = list(pieces[0])
        for piece in pieces[1:]:
            prompt += [*kept, *piece]
        return prompt, True

    def episode_metrics(
        self,
        text: str,
        references: Sequence[str],
        score: float | None = None,
        source: str | None = None,
    ) -> dict[str, float]:
        """``info["metrics"]`` of a finished episode: ``score`` and every reported metric.

        ``score`` is the reward metric's value when already known (dense rewards track it);
        otherwise it is computed here, together with the reported metrics when it is one of
        them (ROUGE variants share one tokenisation).
        """
        standard = [s.name for s in self.report if isinstance(s, MetricScorer)]
        shared = score_metrics(standard, text, references) if standard else {}
        values = {
            s.name: shared[s.name] if s.name in shared else s.score(text, references, source)
            for s in self.report
        }
        if score is None:
            name = self.scorer.name
            # Duck-typed (ProductScorer or any scorer with the same two members).
            factors = getattr(self.scorer, "parts", None)
            combine = getattr(self.scorer, "combine", None)
            if name in values:
                score = values[name]
            elif (
                factors is not None
                and combine is not None
                and all(f.name in values for f in factors)
            ):
                # A product of reported metrics ("bleu*content"), without scoring its factors
                # twice.
                score = combine([values[f.name] for f in factors])
            else:
                score = self.scorer.score(text, references, source=source)
        elif self.scorer.name in values:
            # The tracked score is the one the agent was paid; report exactly that.
            values[self.scorer.name] = score
        return {"score": score, **values}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_prompt_cache"] = {}
        return state

    def sample_index(self, options: dict[str, Any] | None, rng: np.random.Generator) -> int:
        """The dataset index an episode starts on: ``options["sample_id"]`` or a draw of ``rng``.

        Raises:
            ValueError: For an unknown option or a ``sample_id`` outside the dataset.
        """
        options = dict(options or {})
        sample_id = options.pop("sample_id", None)
        if options:
            raise ValueError(f"options: unknown key(s) {sorted(options)}; expected 'sample_id'")
        if sample_id is None:
            return int(rng.integers(len(self.dataset)))
        return self._check_index(sample_id)

    def _check_index(self, sample_id: Any) -> int:
        if isinstance(sample_id, bool) or not isinstance(sample_id, numbers.Integral):
            raise ValueError(
                f"options['sample_id']: expected an integer index, got {type(sample_id).__name__}"
            )
        index = int(sample_id)  # numbers.Integral declares no comparison with int
        if not 0 <= index < len(self.dataset):
            raise ValueError(
                f"options['sample_id']: {sample_id} is outside [0, {len(self.dataset)})"
            )
        return index

    def _check_action(self, action: Any) -> int:
        if isinstance(action, np.ndarray):
            if action.size != 1:
                raise ValueError(
                    f"action: expected one token id, got an array of shape {action.shape}"
                )
            if action.dtype.kind not in "iu":
                raise ValueError(f"action: expected an integer token id, got dtype {action.dtype}")
            action = action.reshape(()).item()
        if isinstance(action, (bool, np.bool_)) or not isinstance(action, numbers.Integral):
            raise ValueError(f"action: expected an integer token id, got {action!r}")
        token = int(action)
        if not 0 <= token < self.action_space.n:
            raise ValueError(f"action: token id {token} is outside [0, {self.action_space.n})")
        return token

    def _observation(self) -> dict[str, np.ndarray]:
        n = self._num_generated
        prompt_mask = np.zeros(self.max_prompt_len, dtype=tg_spaces.ID_DTYPE)
        prompt_mask[: self._prompt_len] = 1
        generated_mask = np.zeros(self.max_new_tokens, dtype=tg_spaces.ID_DTYPE)
        generated_mask[:n] = 1
        return {
            "prompt_ids": self._prompt_ids.copy(),
            "prompt_mask": prompt_mask,
            "generated_ids": self._generated_ids.copy(),
            "generated_mask": generated_mask,
            "remaining": np.array([self.max_new_tokens - n], dtype=tg_spaces.ID_DTYPE),
        }

    def _info(self) -> dict[str, Any]:
        assert self._sample is not None
        if self.infos_mode == "final" and not self._done:
            return {}
        return step_info(
            self._sample,
            self._text,
            self._prompt_truncated,
            self._metrics,
            references=self.info_references,
        )
