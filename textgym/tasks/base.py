"""The shared constructor of the task families: resolves data, tokenizer and reward defaults.

A family (translation, summarization, dialogue) is a subclass that sets a handful of class
attributes (its generator, default reward, reported metrics, prompt template). A registered
variant is the same class with other keyword arguments, never a further subclass.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, cast

import numpy as np

from textgym.core.env import (
    MAX_NEW_TOKENS_LIMIT,
    MAX_PROMPT_LEN_LIMIT,
    TokenMDPEnv,
    template_parts,
)
from textgym.data.embedded import EmbeddedDataset, Generator
from textgym.data.sample import Sample
from textgym.data.sources import as_dataset, epoch_indices
from textgym.metrics.content import ENGLISH_FUNCTION_WORDS, normalise_template_words
from textgym.rewards.scorers import make_scorer
from textgym.tokenizers.base import Tokenizer
from textgym.tokenizers.embedded import WordTokenizer, split_entries
from textgym.tokenizers.hf import as_tokenizer

DIFFICULTY_LEVELS = ("easy", "medium", "hard")
#: Loaded data (files, saved datasets, corpora) larger than this has its default lengths measured
#: on this many evenly spaced samples: tokenizing every document of a large corpus would take
#: minutes. Data passed as an in-memory sequence is always measured in full.
LENGTH_SCAN_SAMPLES = 2_000
#: Loaded data larger than this needs an explicit tokenizer: a word vocabulary fitted on it
#: would take minutes and give an action space of hundreds of thousands of words.
FIT_VOCABULARY_MAX_SAMPLES = 50_000
#: A default ``max_prompt_len`` measured on the data is capped at this many tokens, and a
#: measured default ``max_new_tokens`` at :data:`DEFAULT_NEW_TOKENS_CAP`, with a
#: :class:`LengthDefaultWarning`: one huge record must not size every observation silently.
#: Explicit values may go up to ``MAX_PROMPT_LEN_LIMIT`` / ``MAX_NEW_TOKENS_LIMIT`` (core.env).
DEFAULT_PROMPT_LEN_CAP = 8_192
DEFAULT_NEW_TOKENS_CAP = 1_024


class LengthDefaultWarning(UserWarning):
    """A default ``max_prompt_len`` or ``max_new_tokens`` measured on the data was capped."""


@functools.lru_cache(maxsize=64)
def _embedded_parts(
    generator_cls: type, config: Any, seed: int, template: str
) -> tuple[Generator, WordTokenizer]:
    # Shared by every env built with the same settings (a vector env builds hundreds): the
    # lexicon and tokenizer are immutable, so one copy serves all.
    generator = generator_cls(config, seed=seed)
    words = list(generator.lexicon())
    known = set(words)
    for token in split_entries(template.format(source=" ")):
        if token not in known:
            known.add(token)
            words.append(token)
    return generator, WordTokenizer(words)


@functools.lru_cache(maxsize=64)
def _embedded_dataset(
    generator_cls: type, config: Any, seed: int, template: str, split: str, size: int | None
) -> EmbeddedDataset:
    generator, _ = _embedded_parts(generator_cls, config, seed, template)
    return EmbeddedDataset(generator, split, size=size, seed=seed)


@dataclasses.dataclass(frozen=True)
class TaskVersion:
    """What a registered version of a family fixes: its data settings, reward and metrics.

    Attributes:
        difficulties: Generator config of each difficulty level.
        default_reward: The ``reward=None`` default (a name, product or weight dict).
        metric_names: Metrics reported in ``info["metrics"]`` beside ``score``.
    """

    difficulties: Mapping[str, Any]
    default_reward: str | Mapping[str, float]
    metric_names: tuple[str, ...]


class TaskEnv(TokenMDPEnv):
    """Base of the task families; see a family's docstring for its defaults.

    Args:
        data: ``None`` for the embedded generated data; a sequence of
            :class:`~textgym.data.Sample` or of dicts with ``source`` and ``references``
            (or ``reference``); a path to a local file or directory (``.jsonl``, ``.json``,
            ``.csv``, ``.tsv``, ``.parquet``, ``.arrow``, a ``save_to_disk`` directory); a
            standard corpus name (``"cnn_dailymail"``, ``"xsum"``, ``"wmt16:de-en"``,
            ``"iwslt2017:en-de"``, ``"daily_dialog"``); or a dict spec with a column mapping,
            split, ``max_samples``, ``streaming``... (see :func:`textgym.data.as_dataset`).
            Strings and dicts keep ``env.spec`` JSON-serialisable.
        tokenizer: ``None`` for the embedded word tokenizer (built from the generator's lexicon,
            or fitted on the words of ``data``); any
            :class:`~textgym.tokenizers.base.Tokenizer`; a Hugging Face tokenizer object; a
            tokenizer directory, ``tokenizer.json`` file or Hub name; or a dict
            ``{"path": ..., "eos_token": ..., "pad_token": ...}`` (see
            :class:`textgym.tokenizers.hf.HFTokenizer`).
        reward: ``None`` for the family's default, a metric name (``"bleu"``, ``"chrf"``,
            ``"chrf++"``, ``"rouge1"``, ``"rouge2"``, ``"rougeL"``, ``"rougeLsum"``, ``"f1"``),
            ``"semantic"`` (embedding similarity, needs ``textgym[semantic]``), a
            ``{name: weight}`` dict with weights summing to 1, a ``"module:function"`` string,
            a callable ``fn(text, references) -> float`` in [0, 1], or a scorer object such as
            :class:`~textgym.rewards.learned.LearnedReward`.
        reward_mode: ``"terminal"`` (score at the end) or ``"dense"`` (change of score per token).
        split: ``"train"``, ``"validation"`` or ``"test"`` of the embedded data; for a corpus,
            saved ``DatasetDict`` or data directory, the split to load (a dict spec's ``split``
            wins).
        difficulty: ``"easy"``, ``"medium"`` or ``"hard"`` embedded-data setting.
        data_config: Overrides of single fields of the difficulty's generator config.
        data_seed: Seed of the embedded data: its lexicon (the "world") and its sample stream.
        num_samples: Size of the embedded split (default 20,000 train, 500 validation/test).
        max_new_tokens: Length limit; default: longest reference + 1 (room for EOS), capped at
            :data:`DEFAULT_NEW_TOKENS_CAP` with a :class:`LengthDefaultWarning`. An explicit
            value may be up to ``textgym.core.env.MAX_NEW_TOKENS_LIMIT`` (16,384).
        max_prompt_len: Prompt length; default: longest prompt the data can produce, capped at
            :data:`DEFAULT_PROMPT_LEN_CAP` with a :class:`LengthDefaultWarning`; an explicit
            value may be up to ``textgym.core.env.MAX_PROMPT_LEN_LIMIT`` (131,072). For
            loaded data of more than :data:`LENGTH_SCAN_SAMPLES` samples both defaults are
            measured on that many evenly spaced samples: a longer prompt is truncated on
            ``truncation_side`` (``info["prompt_truncated"]``) and a longer reference cannot
            be completed; pass both explicitly for exact control.
        prompt_template: ``str.format`` template whose only field is ``{source}`` (once or
            more; literal braces as ``{{`` and ``}}``); anything else raises ``ValueError``.
        truncation_side: Which end of an over-long prompt is cut (``"right"`` or ``"left"``).
        report_metrics: ``False`` limits ``info["metrics"]`` to ``{"score": ...}``, sparing the
            other metrics' cost at every episode end (e.g. in training loops).
        render_mode: ``None`` or ``"ansi"``.
        task_version: Which registered version's data settings, default reward and metrics to
            use (``TextSumm-v1`` passes 1); 0 by default, so ``-v0`` ids never change.
        info_references: ``False`` leaves ``references`` out of every ``info``, so that an
            agent cannot read the answer there (for training envs; evaluation keeps the
            default ``True``). They stay available as ``env.unwrapped.sample.references``.
        infos: ``"full"`` (default) or ``"final"``: only the step that ends an episode returns
            an info, reset and the other steps ``{}`` (see
            :class:`~textgym.core.env.TokenMDPEnv`; the vector env's option of the same name).
    """

    family: ClassVar[str]
    generator_cls: ClassVar[type]
    difficulties: ClassVar[Mapping[str, Any]]
    default_reward: ClassVar[str | Mapping[str, float]]
    metric_names: ClassVar[tuple[str, ...]]
    default_prompt_template: ClassVar[str]
    default_truncation_side: ClassVar[str] = "right"
    #: Versions after 0 (version 0 is the class attributes above).
    revisions: ClassVar[Mapping[int, TaskVersion]] = {}

    def __init__(
        self,
        *,
        data: Sequence[Any] | Mapping[str, Any] | str | None = None,
        tokenizer: Tokenizer | Mapping[str, Any] | str | Any | None = None,
        reward: str | Mapping[str, float] | Callable[..., float] | Any | None = None,
        reward_mode: str = "terminal",
        split: str = "train",
        difficulty: str = "medium",
        data_config: Mapping[str, Any] | None = None,
        data_seed: int = 0,
        num_samples: int | None = None,
        max_new_tokens: int | None = None,
        max_prompt_len: int | None = None,
        prompt_template: str | None = None,
        truncation_side: str | None = None,
        report_metrics: bool = True,
        render_mode: str | None = None,
        task_version: int = 0,
        info_references: bool = True,
        infos: str = "full",
        **unexpected: Any,
    ) -> None:
        if unexpected:
            self._reject(unexpected)
        version = self.version(task_version)
        template = self.default_prompt_template if prompt_template is None else prompt_template
        # Checked before the template is used to build a vocabulary or measure lengths.
        source_fields = len(template_parts(template)) - 1

        longest_source: int | None
        longest_reference: int | None
        if data is None:
            config = self.generator_config(difficulty, data_config, task_version)
            if isinstance(data_seed, bool) or not isinstance(data_seed, int) or data_seed < 0:
                raise ValueError(f"data_seed: expected an integer >= 0, got {data_seed!r}")
            generator, word_tokenizer = _embedded_parts(
                self.generator_cls, config, data_seed, template
            )
            # EmbeddedDataset is random access (len, int indexing, iteration), all that the env
            # does with a dataset, without subclassing Sequence (it does not slice).
            dataset = cast(
                "Sequence[Any]",
                _embedded_dataset(
                    self.generator_cls, config, data_seed, template, split, num_samples
                ),
            )
            longest_source = generator.max_source_tokens
            longest_reference = generator.max_reference_tokens
            default_tokenizer: Tokenizer = word_tokenizer
            loaded = False
            words = getattr(generator, "reference_template_words", None)
            template_words = (
                normalise_template_words(words()) if words else ENGLISH_FUNCTION_WORDS
            )
        else:
            if data_config is not None or num_samples is not None:
                raise ValueError(
                    "data_config/num_samples: only apply to the embedded data (data=None)"
                )
            dataset = as_dataset(data, split=split, family=self.family)
            loaded = isinstance(data, (str, Mapping, os.PathLike))
            if tokenizer is None:
                if loaded and len(dataset) > FIT_VOCABULARY_MAX_SAMPLES:
                    raise ValueError(
                        f"tokenizer: the data has {len(dataset)} samples, too many to fit a word "
                        "vocabulary on; pass the tokenizer of your model, e.g. "
                        "tokenizer='path/to/tokenizer' (or a Hub name)"
                    )
                default_tokenizer = WordTokenizer(_fitted_vocabulary(dataset, template))
            longest_source = longest_reference = None
            template_words = ENGLISH_FUNCTION_WORDS

        tok = default_tokenizer if tokenizer is None else as_tokenizer(tokenizer)
        template_len = len(tok.encode(template.format(source=" ")))
        if max_prompt_len is None or max_new_tokens is None:
            # The embedded data's word counts do not apply to another tokenizer: its lengths
            # are measured as a loaded dataset's are (only read when they are needed).
            measured = dataset if data is not None and not loaded else _length_sample(dataset)
        if max_prompt_len is None:
            if longest_source is not None and tokenizer is None:
                max_prompt_len = template_len + source_fields * longest_source
            else:
                max_prompt_len = max(
                    len(tok.encode(template.format(source=s.source))) for s in measured
                )
            max_prompt_len = _capped_default("max_prompt_len", max_prompt_len)
        if max_new_tokens is None:
            if longest_reference is not None and tokenizer is None:
                max_new_tokens = longest_reference + 1
            else:
                max_new_tokens = 1 + max(len(tok.encode(r)) for s in measured for r in s.references)
            max_new_tokens = _capped_default("max_new_tokens", max_new_tokens)

        spec = version.default_reward if reward is None else reward
        scorer = make_scorer(spec, template_words=template_words)
        report = [make_scorer(n, template_words=template_words) for n in version.metric_names]
        super().__init__(
            dataset=dataset,
            tokenizer=tok,
            scorer=scorer,
            report=report if report_metrics else [],
            prompt_template=template,
            max_prompt_len=max_prompt_len,
            max_new_tokens=max_new_tokens,
            reward_mode=reward_mode,  # type: ignore[arg-type]
            truncation_side=(truncation_side or self.default_truncation_side),  # type: ignore[arg-type]
            render_mode=render_mode,
            info_references=info_references,
            infos=infos,
        )
        self.task_version = task_version
        self.template_words = template_words
        self.split = split if data is None else None
        self.difficulty = difficulty if data is None else None
        self.data_spec = data if isinstance(data, (str, Mapping)) else None

    def epoch(self, seed: int | None = None) -> Iterator[dict[str, int]]:
        """Reset options that visit every sample of the dataset exactly once, for evaluation.

        ``for options in env.unwrapped.epoch(): obs, info = env.reset(options=options)``.

        Args:
            seed: ``None``: in dataset order; an int: a permutation drawn from it (the same
                seed, the same order).
        """
        return ({"sample_id": i} for i in epoch_indices(len(self.dataset), seed))

    @classmethod
    def version(cls, task_version: int = 0) -> TaskVersion:
        """The settings of one version of this family.

        Raises:
            ValueError: For a version the family does not have (naming the ones it has).
        """
        versions = {0: TaskVersion(cls.difficulties, cls.default_reward, cls.metric_names)}
        versions.update(cls.revisions)
        if isinstance(task_version, bool) or task_version not in versions:
            raise ValueError(
                f"task_version: expected one of {sorted(versions)}, got {task_version!r}"
            )
        return versions[task_version]

    @classmethod
    def generator_config(
        cls, difficulty: str, overrides: Mapping[str, Any] | None = None, task_version: int = 0
    ) -> Any:
        """The embedded generator's config for ``difficulty`` with ``overrides`` applied.

        Raises:
            ValueError: For an unknown difficulty or config field (naming the valid ones).
        """
        difficulties = cls.version(task_version).difficulties
        if difficulty not in difficulties:
            raise ValueError(
                f"difficulty: expected one of {', '.join(difficulties)}, got {difficulty!r}"
            )
        config = difficulties[difficulty]
        if overrides:
            if not isinstance(overrides, Mapping):
                raise TypeError(f"data_config: expected a dict, got {type(overrides).__name__}")
            fields = [f.name for f in dataclasses.fields(config)]
            unknown = sorted(set(overrides) - set(fields))
            if unknown:
                raise ValueError(
                    f"data_config: unknown field(s) {unknown} for {cls.family}; "
                    f"expected some of {fields}"
                )
            config = dataclasses.replace(config, **overrides)
        return config

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable summary: spaces, reward, data and ceiling."""
        return {
            "family": self.family,
            "task_version": self.task_version,
            "reward": self.scorer.name,
            "reward_mode": self.reward_mode,
            "metrics": ["score", *(s.name for s in self.report)],
            "data": {
                "kind": "embedded" if self.split is not None else "user",
                "split": self.split,
                "difficulty": self.difficulty,
                "num_samples": len(self.dataset),
                **({"spec": self.data_spec} if self.data_spec is not None else {}),
            },
            "vocab_size": int(self.action_space.n),
            "max_prompt_len": self.max_prompt_len,
            "max_new_tokens": self.max_new_tokens,
            # Box subspaces: a shape is never None (Space's type allows it).
            "observation_space": {
                k: list(v.shape or ()) for k, v in self.observation_space.items()
            },
            "action_space": f"Discrete({self.action_space.n})",
            "ceiling": "emitting references[0] (the reference policy) scores 1.0",
        }

    def _reject(self, unexpected: Mapping[str, Any]) -> None:
        """Raise the ``TypeError`` Python would raise, plus a suggestion and the valid names.

        The message starts as Python's own (``TextSummEnv.__init__() got an unexpected keyword
        argument 'x'``) and repeats ``unexpected keyword argument 'name'`` for every further
        name: libraries that probe for optional arguments (TorchRL passes ``frameskip`` and
        retries without it) recognise the argument to drop by that exact text.
        """
        # Read off the signature, so the list can never drift from the constructor.
        valid = [
            name
            for name, param in inspect.signature(TaskEnv.__init__).parameters.items()
            if param.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        messages = []
        for name in unexpected:
            close = difflib.get_close_matches(str(name), valid, n=1)
            messages.append(
                f"unexpected keyword argument {name!r}"
                + (f" (did you mean {close[0]!r}?)" if close else "")
            )
        raise TypeError(
            f"{type(self).__name__}.__init__() got an {', and an '.join(messages)}; "
            f"valid arguments: {', '.join(valid)}"
        )


def _capped_default(name: str, measured: int) -> int:
    """A measured default length, capped at its soft bound with a :class:`LengthDefaultWarning`."""
    if name == "max_prompt_len":
        cap, longest, effect, limit = (
            DEFAULT_PROMPT_LEN_CAP,
            f"the longest prompt has {measured} tokens",
            "longer prompts are truncated on truncation_side (info['prompt_truncated'])",
            MAX_PROMPT_LEN_LIMIT,
        )
    else:
        cap, longest, effect, limit = (
            DEFAULT_NEW_TOKENS_CAP,
            f"the longest reference has {measured - 1} tokens",
            "longer references cannot be generated in full",
            MAX_NEW_TOKENS_LIMIT,
        )
    if measured <= cap:
        return measured
    warnings.warn(
        f"{name}: {longest}; the default is capped at {cap}, so {effect}; pass {name} "
        f"explicitly (at most {limit}) to keep more",
        LengthDefaultWarning,
        stacklevel=3,
    )
    return cap


def _length_sample(dataset: Sequence[Sample]) -> Sequence[Sample]:
    """The whole dataset, or :data:`LENGTH_SCAN_SAMPLES` evenly spaced samples of a larger one."""
    if len(dataset) <= LENGTH_SCAN_SAMPLES:
        return dataset
    indices = np.linspace(0, len(dataset) - 1, LENGTH_SCAN_SAMPLES).round().astype(int)
    return [dataset[int(i)] for i in indices]


def _fitted_vocabulary(dataset: Sequence[Any], template: str) -> list[str]:
    """Every token of the data and template, in first-seen order (deterministic).

    Tokens are :func:`~textgym.tokenizers.embedded.split_entries`: a token seen with other
    spacing than the default also gets a marked entry, so that the data round-trips exactly.
    """
    seen: dict[str, None] = {}
    for token in split_entries(template.format(source=" ")):
        seen.setdefault(token)
    for sample in dataset:
        for text in (sample.source, *sample.references):
            for token in split_entries(text):
                seen.setdefault(token)
    return list(seen)
