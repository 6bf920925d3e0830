"""Degenerate policies: the floors a trained agent has to beat for its score to mean anything.

A reward measures a task only if policies that ignore the task score far below the reference.
This module scores, with an env's own scorer, texts that no competent policy would write:

- ``empty``: the empty text (EOS first).
- ``constant``: the best *input-independent* text, one string for every sample, found by a
  greedy search over the tokens and whole references of the train split (see
  :func:`best_constant`). It is the floor a policy that reads nothing reaches.
- ``copy_source``: the whole source text; ``copy_prefix``: its first ``max_new_tokens`` tokens,
  what a copying policy can emit within the length limit.
- ``shuffled_reference``: the reference's tokens in a random order (bag-of-words metrics give
  it full marks).
- ``other_reference``: another sample's reference (fluent, but about something else).
- ``reference_junk``: the reference followed by as many random vocabulary tokens as it has;
  it must score below the reference.

Texts are passed through the env's tokenizer (``decode(encode(text))``), so each is a text a
policy could emit. Every search and draw is seeded: the same call gives the same numbers.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import gymnasium as gym
import numpy as np

import textgym  # noqa: F401  (registers the ids)

#: The degenerate policies, in the order tables list them.
FLOOR_POLICIES: tuple[str, ...] = (
    "empty",
    "constant",
    "copy_source",
    "copy_prefix",
    "shuffled_reference",
    "other_reference",
    "reference_junk",
)

#: The validity targets every id of ``BENCHMARK`` and ``EASY`` meets (validation, 200 samples,
#: default reward): policy -> highest mean score allowed. ``reference_junk`` must stay below
#: the reference, which :func:`check_floors` tests per sample on average.
TARGETS: dict[str, float] = {
    "empty": 0.0,
    "constant": 0.10,
    "copy_source": 0.30,
    "copy_prefix": 0.30,
    "shuffled_reference": 0.50,
    "other_reference": 0.20,
}


#: The floors that use no knowledge of the sample's answer.
BLIND: frozenset[str] = frozenset(
    {"empty", "constant", "copy_source", "copy_prefix", "other_reference"}
)


@dataclass(frozen=True)
class FloorReport:
    """Mean scores of the degenerate policies on one env.

    Attributes:
        env_id: The registered id (or a label for a custom env).
        samples: Number of samples scored.
        scores: Policy -> mean score, for every name of :data:`FLOOR_POLICIES` and
            ``"reference"``.
        constant_text: The input-independent text behind ``scores["constant"]``.
    """

    env_id: str
    samples: int
    scores: dict[str, float]
    constant_text: str

    @property
    def strongest(self) -> tuple[str, float]:
        """The highest-scoring degenerate policy, ``reference_junk`` excluded (it contains the
        reference, so it is a check of the reward, not a floor)."""
        floors = {k: v for k, v in self.scores.items() if k in TARGETS}
        name = max(floors, key=lambda k: floors[k])
        return name, floors[name]

    @property
    def strongest_blind(self) -> tuple[str, float]:
        """The highest-scoring floor among the policies that need no reference at all (empty,
        constant, copied source, another sample's reference): what an agent must beat to show
        that it reads its input. The shuffled reference needs the answer's words."""
        floors = {k: v for k, v in self.scores.items() if k in TARGETS and k in BLIND}
        name = max(floors, key=lambda k: floors[k])
        return name, floors[name]

    def violations(self) -> list[str]:
        """Human-readable list of the :data:`TARGETS` this env misses (empty when it meets all)."""
        out = [
            f"{name} scores {self.scores[name]:.4f} > {limit:.2f}"
            for name, limit in TARGETS.items()
            if self.scores[name] > limit + 1e-12
        ]
        if self.scores["reference_junk"] >= self.scores["reference"]:
            out.append(
                f"reference_junk scores {self.scores['reference_junk']:.4f}, not below the "
                f"reference's {self.scores['reference']:.4f}"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        name, value = self.strongest
        return {
            "env_id": self.env_id,
            "samples": self.samples,
            "scores": dict(self.scores),
            "constant_text": self.constant_text,
            "strongest": {"policy": name, "score": value},
            "strongest_blind": dict(zip(("policy", "score"), self.strongest_blind, strict=True)),
        }


@dataclass(frozen=True)
class FloorTexts:
    """What every degenerate policy writes, sample by sample (:func:`floor_texts`).

    Attributes:
        env_id: The registered id.
        samples: The evaluated samples, in order.
        texts: Policy -> one text per sample, for every name of :data:`FLOOR_POLICIES` and
            ``"reference"``; each as the env's tokenizer gives it back.
        constant_text: The input-independent text of the ``constant`` policy.
        scoring: The env's scorer and tokenizer (``scoring.mean(texts, samples)``: the mean
            reward of texts), which the env's own reward is computed with.
    """

    env_id: str
    samples: list[Any]
    texts: dict[str, list[str]]
    constant_text: str
    scoring: _Scoring


class _Scoring:
    """An env's scorer, tokenizer and samples, with texts scored as a policy could emit them."""

    def __init__(self, env: gym.Env) -> None:
        base = env.unwrapped
        self.scorer = base.scorer  # type: ignore[attr-defined]
        self.tokenizer = base.tokenizer  # type: ignore[attr-defined]
        self.max_new_tokens = int(base.max_new_tokens)  # type: ignore[attr-defined]
        self.dataset = base.dataset  # type: ignore[attr-defined]

    def emit(self, text: str, limit: int | None = None) -> str:
        ids = list(self.tokenizer.encode(text))
        if limit is not None:
            ids = ids[:limit]
        return self.tokenizer.decode(ids)

    def mean(self, texts: Sequence[str], samples: Sequence[Any]) -> float:
        return statistics.fmean(
            self.scorer.score(t, list(s.references), s.source)
            for t, s in zip(texts, samples, strict=True)
        )


def _words(text: str) -> list[str]:
    return text.split()


def best_constant(
    scoring: _Scoring,
    train: Sequence[Any],
    *,
    candidates: int = 40,
    max_tokens: int = 16,
    whole_references: int = 60,
    rng: np.random.Generator,
) -> str:
    """The input-independent text scoring highest on ``train``, by greedy search.

    Two searches, the better one wins: (1) whole train references as constants (the most
    frequent ones and a seeded random draw); (2) starting from the empty text, insert the
    token, among the ``candidates`` tokens found in most train references, at the position that
    raises the mean score most, until no insertion helps or ``max_tokens`` is reached.
    """
    refs = [s.references[0] for s in train]
    counts = Counter(refs)
    pool = [r for r, _ in counts.most_common(whole_references // 2)]
    pool += [refs[int(i)] for i in rng.choice(len(refs), size=whole_references // 2)]
    empty = scoring.mean([""] * len(train), train)
    best_text, best = "", empty
    for text in dict.fromkeys(scoring.emit(r) for r in pool):
        value = scoring.mean([text] * len(train), train)
        if value > best:
            best_text, best = text, value

    df: Counter[str] = Counter()
    for r in refs:
        df.update(set(_words(scoring.emit(r))))
    tokens = [t for t, _ in df.most_common(candidates)]
    current: list[str] = []
    current_value = empty
    while len(current) < max_tokens:
        step_best: tuple[float, list[str]] | None = None
        for token in tokens:
            for at in range(len(current) + 1):
                trial = [*current[:at], token, *current[at:]]
                value = scoring.mean([" ".join(trial)] * len(train), train)
                if step_best is None or value > step_best[0]:
                    step_best = (value, trial)
        if step_best is None or step_best[0] <= current_value + 1e-9:
            break
        current_value, current = step_best
    if current_value > best:
        best_text, best = scoring.emit(" ".join(current)), current_value
    return best_text


def floor_texts(
    env_id: str,
    *,
    samples: int = 200,
    split: str = "validation",
    search_samples: int = 100,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    constant_text: str | None = None,
    candidates: int = 40,
    max_tokens: int = 16,
    search_split: str = "train",
) -> FloorTexts:
    """The text every degenerate policy writes for samples ``0..samples-1`` of ``split``.

    Args:
        env_id: A registered id.
        samples: How many evaluation samples (fewer if the split is smaller).
        split: The evaluated split; the constant is searched on ``search_split``, so it is
            not fitted to the samples it is scored on.
        search_samples: Train samples the constant search scores each candidate on.
        seed: Seeds the shuffles, the junk tokens and the search's draws.
        env_kwargs: Extra ``gym.make`` arguments (a reward, a difficulty...).
        constant_text: Score this constant instead of searching for one.
        candidates: Tokens the greedy constant search tries (the most frequent in train
            references).
        max_tokens: Longest constant the greedy search builds.
        search_split: The split the constant is searched on (``"train"``; a corpus without a
            train split can name another one, never the evaluated split).

    Raises:
        ValueError: For ``samples`` or ``search_samples`` below 1.
    """
    if samples < 1 or search_samples < 1:
        raise ValueError(f"samples/search_samples: expected >= 1, got {samples}/{search_samples}")
    if search_split == split and constant_text is None:
        raise ValueError(
            f"search_split: the constant must be searched on another split than the evaluated "
            f"one, got {search_split!r} for both"
        )
    kwargs = dict(env_kwargs or {})
    rng = np.random.default_rng(seed)
    env = gym.make(env_id, **{**kwargs, "split": split})
    scoring = _Scoring(env)
    evaluated = [scoring.dataset[i] for i in range(min(samples, len(scoring.dataset)))]
    if constant_text is None:
        train_env = gym.make(env_id, **{**kwargs, "split": search_split})
        train_data = train_env.unwrapped.dataset  # type: ignore[attr-defined]
        picks = rng.choice(
            len(train_data), size=min(search_samples, len(train_data)), replace=False
        )
        train = [train_data[int(i)] for i in picks]
        constant_text = best_constant(
            _Scoring(train_env), train, candidates=candidates, max_tokens=max_tokens, rng=rng
        )
        train_env.close()
    vocab = [
        scoring.tokenizer.decode([i])
        for i in range(int(cast(gym.spaces.Discrete, env.action_space).n))
        if i not in (scoring.tokenizer.eos_id, scoring.tokenizer.pad_id)
    ]
    vocab = [w for w in vocab if w.strip()]

    def shuffled(text: str) -> str:
        words = _words(scoring.emit(text))
        return " ".join(words[int(i)] for i in rng.permutation(len(words)))

    def junk(text: str) -> str:
        n = max(1, len(_words(scoring.emit(text))))
        return (
            scoring.emit(text)
            + " "
            + " ".join(vocab[int(i)] for i in rng.integers(len(vocab), size=n))
        )

    n = len(evaluated)
    refs = [s.references[0] for s in evaluated]
    texts: dict[str, list[str]] = {
        "reference": [scoring.emit(r) for r in refs],
        "empty": [""] * n,
        "constant": [scoring.emit(constant_text)] * n,
        "copy_source": [scoring.emit(s.source) for s in evaluated],
        "copy_prefix": [scoring.emit(s.source, scoring.max_new_tokens) for s in evaluated],
        "shuffled_reference": [shuffled(r) for r in refs],
        # The next sample's reference; with one sample there is no other.
        "other_reference": [scoring.emit(refs[(i + 1) % n]) for i in range(n)] if n > 1 else [""],
        "reference_junk": [junk(r) for r in refs],
    }
    env.close()
    return FloorTexts(env_id, evaluated, texts, scoring.emit(constant_text), scoring)


def floor_scores(
    env_id: str, *, samples: int = 200, split: str = "validation", **options: Any
) -> FloorReport:
    """Mean score, by the env's own scorer, of every degenerate policy on samples
    ``0..samples-1`` of ``split``.

    Args:
        env_id: A registered id.
        samples: How many evaluation samples (fewer if the split is smaller).
        split: The evaluated split.
        **options: The other keywords of :func:`floor_texts` (``search_samples``, ``seed``,
            ``env_kwargs``, ``constant_text``, ``candidates``, ``max_tokens``,
            ``search_split``).

    Raises:
        ValueError: For ``samples`` or ``search_samples`` below 1, or a constant searched on
            the evaluated split.
    """
    made = floor_texts(env_id, samples=samples, split=split, **options)
    scores = {name: made.scoring.mean(t, made.samples) for name, t in made.texts.items()}
    return FloorReport(env_id, len(made.samples), scores, made.constant_text)

