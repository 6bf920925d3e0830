"""Named metric scorers, weighted mixtures, user callables, and the ``reward=`` resolver."""

from __future__ import annotations

import difflib
import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from textgym import metrics
from textgym.rewards.base import RescoringTracker, Scorer, ScoreTracker, check_score


@dataclass(frozen=True)
class _MetricDef:
    score: Callable[[str, Sequence[str]], float]  # on the reference library's own scale
    tracker: Callable[[Sequence[str]], Any]  # object with update(text) on the same scale
    scale: float  # multiply by this to land on [0, 1]


_METRICS: dict[str, _MetricDef] = {
    "bleu": _MetricDef(metrics.sentence_bleu, metrics.IncrementalBLEU, 0.01),
    "chrf": _MetricDef(metrics.sentence_chrf, metrics.IncrementalChrF, 0.01),
    # partial, not lambda: envs (and so their scorers and trackers) must pickle.
    "chrf++": _MetricDef(
        partial(metrics.sentence_chrf, word_order=2),
        partial(metrics.IncrementalChrF, word_order=2),
        0.01,
    ),
    "f1": _MetricDef(metrics.token_f1, metrics.IncrementalTokenF1, 1.0),
    **{
        variant: _MetricDef(
            partial(metrics.rouge, variant=variant, stem=True),
            partial(metrics.IncrementalRouge, variant=variant, stem=True),
            1.0,
        )
        for variant in ("rouge1", "rouge2", "rougeL", "rougeLsum")
    },
}

#: Names accepted by ``reward=`` and listed in ``info["metrics"]``.
METRIC_NAMES: tuple[str, ...] = tuple(_METRICS)

# ROUGE-1.5.5's numbers (textgym.metrics.rouge155), opt-in by name only: kept out of
# METRIC_NAMES so that no task reports them unasked. The trackers rescore the whole text
# (no incremental form yet); terminal rewards score once per episode anyway.
_ROUGE155_METRICS: dict[str, _MetricDef] = {
    f"rouge155-{suffix}": _MetricDef(
        partial(metrics.rouge, variant=variant, stem=True, flavor="rouge155"),
        partial(
            metrics.RescoringScorer,
            partial(metrics.rouge, variant=variant, stem=True, flavor="rouge155"),
        ),
        1.0,
    )
    for suffix, variant in (
        ("1", "rouge1"),
        ("2", "rouge2"),
        ("L", "rougeL"),
        ("Lsum", "rougeLsum"),
    )
}

#: Opt-in ``reward=`` names with the official ROUGE-1.5.5 F-measure (stemmed, ``-m``):
#: ``rouge155-1``, ``rouge155-2``, ``rouge155-L`` (the text as one sentence) and
#: ``rouge155-Lsum`` (lines as sentences, the script's summary-level ROUGE-L).
ROUGE155_NAMES: tuple[str, ...] = tuple(_ROUGE155_METRICS)

#: Model-based rewards accepted by ``reward=`` (alone or in a weight dict): name -> class path.
#: Imported on use: they need optional extras (``textgym[semantic]``).
MODEL_REWARDS: dict[str, str] = {"semantic": "textgym.rewards.semantic:SemanticSimilarity"}


def _clip_unit(value: float) -> float:
    # The metrics are bounded by construction; this only absorbs float rounding such as
    # 100.00000000000001 / 100, never a real excursion (those would be bugs caught by tests).
    return min(1.0, max(0.0, value))


class _ScaledTracker:
    def __init__(self, inner: Any, scale: float) -> None:
        self._inner = inner
        self._scale = scale

    def update(self, text: str) -> float:
        return _clip_unit(self._inner.update(text) * self._scale)


class MetricScorer:
    """A standard metric rescaled to [0, 1] (BLEU and chrF are divided by 100).

    Args:
        name: One of :data:`METRIC_NAMES`.

    Raises:
        ValueError: For an unknown name, with the closest valid names.
    """

    def __init__(self, name: str) -> None:
        if name not in _METRICS and name not in _ROUGE155_METRICS:
            known = (*METRIC_NAMES, *ROUGE155_NAMES, "content", *MODEL_REWARDS)
            close = difflib.get_close_matches(name, known, n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(
                f"reward: unknown metric {name!r}; expected one of {', '.join(known)}, "
                f"a {{metric: weight}} dict, a callable or a 'module:function' string.{hint}"
            )
        self.name = name
        self._def = _METRICS[name] if name in _METRICS else _ROUGE155_METRICS[name]

    @property
    def scale(self) -> float:
        """What the metric's value is multiplied by to land on [0, 1] (before clipping)."""
        return self._def.scale

    def score(self, text: str, references: Sequence[str], source: str | None = None) -> float:
        return _clip_unit(self._def.score(text, references) * self._def.scale)

    def start(self, references: Sequence[str], source: str | None = None) -> ScoreTracker:
        return _ScaledTracker(self._def.tracker(references), self._def.scale)

    def __repr__(self) -> str:
        return f"MetricScorer({self.name!r})"


class _WeightedTracker:
    def __init__(self, parts: list[tuple[float, ScoreTracker]]) -> None:
        self._parts = parts

    def update(self, text: str) -> float:
        return _clip_unit(sum(w * t.update(text) for w, t in self._parts))


class WeightedScorer:
    """A convex combination of scorers, e.g. ``{"bleu": 0.5, "f1": 0.5}``.

    Args:
        weights: Metric name (or scorer) to weight. Weights must be non-negative and sum to 1,
            so that the mixture stays in [0, 1].
    """

    def __init__(self, weights: Mapping[str, float]) -> None:
        if not weights:
            raise ValueError("reward: an empty weight dict; give at least one {metric: weight}")
        parts: list[tuple[float, Scorer]] = []
        for name, weight in weights.items():
            if not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
                raise ValueError(
                    f"reward: weight of {name!r} is {weight!r}; expected a number >= 0"
                )
            parts.append((float(weight), named_scorer(name)))
        total = sum(w for w, _ in parts)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"reward: weights {dict(weights)} sum to {total}; expected 1")
        self._parts = parts
        self.name = "+".join(f"{w:g}*{s.name}" for w, s in parts)

    @property
    def terms(self) -> list[tuple[float, Scorer]]:
        """``(weight, scorer)`` of each term, in order (not ``parts``: that names a product's
        factors, which ``TokenMDPEnv.episode_metrics`` looks for)."""
        return list(self._parts)

    def score(self, text: str, references: Sequence[str], source: str | None = None) -> float:
        return _clip_unit(sum(w * s.score(text, references, source) for w, s in self._parts))

    def start(self, references: Sequence[str], source: str | None = None) -> ScoreTracker:
        return _WeightedTracker([(w, s.start(references, source)) for w, s in self._parts])

    def __repr__(self) -> str:
        return f"WeightedScorer({self.name!r})"


class CallableScorer:
    """A user function ``fn(text, references) -> float`` in [0, 1].

    The value is checked on every call (:func:`~textgym.rewards.base.check_score`): a value that
    is not a real number (a string, a bool, an array) raises ``TypeError``, NaN or a number
    outside [0, 1] ``ValueError``, instead of reaching the agent. Dense rewards rescore the
    whole prefix.
    """

    def __init__(self, fn: Callable[[str, Sequence[str]], float], name: str | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"reward: {fn!r} is not callable")
        self._fn = fn
        self.name = name or getattr(fn, "__qualname__", None) or repr(fn)

    def score(self, text: str, references: Sequence[str], source: str | None = None) -> float:
        return check_score(self._fn(text, list(references)), self.name)

    def start(self, references: Sequence[str], source: str | None = None) -> ScoreTracker:
        return RescoringTracker(self, references)

    def __repr__(self) -> str:
        return f"CallableScorer({self.name!r})"


def load_callable(path: str) -> Callable[..., Any]:
    """Import ``"package.module:attribute"`` and return the attribute.

    Raises:
        ValueError: If the string is malformed, the module or attribute does not exist, or the
            attribute is not callable.
    """
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"reward: {path!r} is not of the form 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(
            f"reward: cannot import module {module_name!r} from {path!r}: {exc}"
        ) from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"reward: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"reward: {path!r} is not callable")
    return obj


def named_scorer(name: str) -> Scorer:
    """The scorer a name stands for: a metric, or a model-based reward of :data:`MODEL_REWARDS`.

    Raises:
        ValueError: For an unknown name.
        ImportError: For a model-based reward whose extra is not installed (naming it).
    """
    if name in MODEL_REWARDS:
        module_name, _, attr = MODEL_REWARDS[name].partition(":")
        return getattr(importlib.import_module(module_name), attr)()
    return MetricScorer(name)


def _named(name: str, template_words: frozenset[str] | None) -> Scorer:
    from textgym.rewards.content import CONTENT, ContentScorer

    if name == CONTENT:
        return ContentScorer() if template_words is None else ContentScorer(template_words)
    return named_scorer(name)


def make_scorer(
    spec: str | Mapping[str, Any] | Callable[..., float] | Scorer,
    *,
    template_words: frozenset[str] | None = None,
) -> Scorer:
    """Build a scorer from what a user passes as ``reward=``.

    Args:
        spec: A metric name (``"bleu"``, ``"rougeL"``...) or model-based reward name
            (``"semantic"``, see :data:`MODEL_REWARDS`), a ``{metric: weight}`` dict, a
            ``"module:function"`` string, a callable ``fn(text, references) -> float`` or a
            :class:`Scorer`. Strings and dicts keep ``env.spec`` JSON-serialisable.
            ``"content"`` is content-word ROUGE-L and ``"a*b"`` the product of two such
            names (``"rougeL*content"``, see :mod:`textgym.rewards.content`).
            ``{"name": "semantic", "backend": "ray", **options}`` serves a reward from a Ray
            actor shared by every env (``"local"``: in this process, with its options); see
            :func:`textgym.rewards.ray_scorer.backend_scorer`.
        template_words: The words ``"content"`` ignores (normalised, see
            :func:`textgym.metrics.content.normalise_template_words`); ``None``: English
            function words.

    Raises:
        TypeError: If ``spec`` is none of these.
        ValueError: If it names an unknown metric, bad weights or a missing function.
    """
    if isinstance(spec, str):
        if ":" in spec:
            return CallableScorer(load_callable(spec), name=spec)
        if "*" in spec:
            from textgym.rewards.content import ProductScorer

            names = spec.split("*")
            if any(not n.strip() for n in names):
                raise ValueError(f"reward: {spec!r} has an empty factor; expected 'metric*metric'")
            return ProductScorer([_named(n.strip(), template_words) for n in names])
        return _named(spec, template_words)
    if isinstance(spec, Mapping):
        if "backend" in spec:  # {"name": "semantic", "backend": "ray", ...}: no metric is so named
            from textgym.rewards.ray_scorer import backend_scorer

            return backend_scorer(spec)
        return WeightedScorer(spec)
    if isinstance(spec, Scorer):
        return spec
    if callable(spec):
        return CallableScorer(spec)
    raise TypeError(
        f"reward: expected a metric name, a {{metric: weight}} dict, a callable or a "
        f"'module:function' string, got {type(spec).__name__}"
    )


def score_metrics(names: Sequence[str], text: str, references: Sequence[str]) -> dict[str, float]:
    """Several named metrics of one text, on [0, 1], sharing work where metrics allow.

    ROUGE variants share one tokenisation and stemming of ``text``; the values equal
    :meth:`MetricScorer.score` of each name.
    """
    rouge_names = [n for n in names if n.startswith("rouge") and n not in _ROUGE155_METRICS]
    values: dict[str, float] = {}
    if rouge_names:
        values.update(metrics.rouge_scores(text, references, variants=rouge_names, stem=True))
    for name in names:
        if name not in values:
            values[name] = MetricScorer(name).score(text, references)
    return {name: _clip_unit(values[name]) for name in names}
