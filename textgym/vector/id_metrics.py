"""The native vector env's token-id metric kernels, behind one interface.

Each kernel keeps the per-env state of one metric family and scores it from token ids, equal
bit for bit to the string metric: :class:`~textgym.metrics.rouge_ids.RougeIdBatch` (ROUGE-N,
ROUGE-L), :class:`~textgym.metrics.bleu_ids.BleuIdBatch`,
:class:`~textgym.metrics.chrf_ids.ChrfIdBatch`, :class:`~textgym.metrics.f1_ids.F1IdBatch` and
:class:`~textgym.metrics.content_ids.ContentIdBatch`. They share one interface: ``names``,
``store(slot, references) -> bool``, ``reset(rows, slots)``, ``append(rows, ids)`` and
``scores(rows, names) -> {name: values}`` on the metric's own scale.

:func:`plan_id_metrics` decides from a task's reward and reported metrics whether every value
the env needs has a kernel; :class:`IdMetrics` holds those kernels and returns what the
task's scorers return: each metric scaled and clipped as :class:`MetricScorer` does it, the
content factor as it is, a product reward (``"bleu*content"``) with the float operations of
:meth:`ProductScorer.combine`, a weighted one (``{"bleu": 0.5, "f1": 0.5}``) with those of
:meth:`WeightedScorer.score`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

import numpy as np

from textgym.core.env import TokenMDPEnv
from textgym.metrics.bleu_ids import BleuIdBatch, BleuTokenMap
from textgym.metrics.chrf_ids import ChrfCharMap, ChrfIdBatch
from textgym.metrics.content_ids import ContentIdBatch
from textgym.metrics.f1_ids import F1IdBatch, F1TokenMap
from textgym.metrics.rouge_ids import RougeIdBatch, RougeTokenMap
from textgym.rewards.base import Scorer
from textgym.rewards.content import CONTENT, ContentScorer, ProductScorer
from textgym.rewards.scorers import MetricScorer, WeightedScorer

_ROUGE = frozenset({*(f"rouge{n}" for n in range(1, 10)), "rougeL"})
# The opt-in ROUGE-1.5.5 rewards with a kernel (rouge155-Lsum needs line breaks: text path).
_ROUGE155 = frozenset({"rouge155-1", "rouge155-2", "rouge155-L"})


class IdKernel(Protocol):
    """One metric family's token-id state for N envs (see the module docstring)."""

    @property
    def names(self) -> tuple[str, ...]: ...

    @property
    def jit(self) -> bool: ...

    def store(
        self,
        slot: int,
        references: Sequence[str],
        reference_ids: Sequence[np.ndarray | None] | None = None,
    ) -> bool: ...

    def store_many(
        self, slots: np.ndarray, reference_ids: Sequence[Sequence[np.ndarray]]
    ) -> np.ndarray: ...

    def reset(self, rows: np.ndarray, slots: np.ndarray) -> None: ...

    def append(self, rows: np.ndarray, ids: np.ndarray) -> None: ...

    def scores(
        self, rows: np.ndarray, names: Sequence[str] | None = None
    ) -> dict[str, np.ndarray]: ...


@dataclasses.dataclass(frozen=True)
class _Build:
    """What building the kernels needs, whatever the metric."""

    tokenizer: object
    num_rows: int
    max_ids: int
    capacity: int
    jit: bool | None
    template_words: frozenset[str] | None


def _rouge(names: list[str], b: _Build) -> IdKernel | None:
    token_map = RougeTokenMap.from_tokenizer(b.tokenizer, stem=True)  # the scorers stem
    if token_map is None:
        return None
    return RougeIdBatch(token_map, b.num_rows, b.max_ids, names, capacity=b.capacity, jit=b.jit)


def _rouge155(names: list[str], b: _Build) -> IdKernel | None:
    from textgym.metrics.rouge155_ids import Rouge155IdBatch, Rouge155TokenMap

    token_map = Rouge155TokenMap.from_tokenizer(b.tokenizer, stem=True)  # the scorers stem
    if token_map is None:
        return None
    return Rouge155IdBatch(token_map, b.num_rows, b.max_ids, names, capacity=b.capacity, jit=b.jit)


def _bleu(names: list[str], b: _Build) -> IdKernel | None:
    token_map = BleuTokenMap.from_tokenizer(b.tokenizer)
    return None if token_map is None else BleuIdBatch(token_map, b.num_rows, b.capacity, jit=b.jit)


def _chrf(names: list[str], b: _Build) -> IdKernel | None:
    char_map = ChrfCharMap.from_tokenizer(b.tokenizer)
    return None if char_map is None else ChrfIdBatch(char_map, b.num_rows, b.capacity, jit=b.jit)


def _f1(names: list[str], b: _Build) -> IdKernel | None:
    token_map = F1TokenMap.from_tokenizer(b.tokenizer)
    return None if token_map is None else F1IdBatch(token_map, b.num_rows, b.capacity, jit=b.jit)


def _content(names: list[str], b: _Build) -> IdKernel | None:
    assert b.template_words is not None  # a plan with content has them
    return ContentIdBatch.from_tokenizer(
        b.tokenizer, b.template_words, b.num_rows, b.capacity, jit=b.jit
    )


@dataclasses.dataclass(frozen=True)
class _Family:
    """A kernel: the metric names it computes, its builder, and from how many envs its numpy
    code (no numba) beats the string path, with terminal and with dense rewards."""

    names: frozenset[str]
    build: Callable[[list[str], _Build], IdKernel | None]
    numpy_min_envs: int
    numpy_min_envs_dense: int


# Crossovers measured with benchmarks/throughput.py-style runs on the embedded tasks: the numpy
# calls cost a fixed amount per step, the string path a fixed amount per episode end (and per
# token with dense rewards). The n-gram kernels make more numpy calls per step (one pass per
# symbol of an id: characters for chrF), so with dense rewards they pay off later.
_FAMILIES = (
    _Family(_ROUGE, _rouge, 128, 8),
    _Family(_ROUGE155, _rouge155, 128, 8),  # the same state as ROUGE: assumed, not measured
    _Family(frozenset({"bleu"}), _bleu, 128, 32),
    _Family(frozenset({"chrf"}), _chrf, 128, 32),
    _Family(frozenset({"f1"}), _f1, 128, 32),
    _Family(frozenset({CONTENT}), _content, 128, 8),
)
#: Every metric name some kernel computes.
KERNEL_METRICS = frozenset().union(*(f.names for f in _FAMILIES))


@dataclasses.dataclass(frozen=True)
class IdMetricPlan:
    """What a task's reward and reported metrics need from the token-id kernels.

    Attributes:
        metrics: The metric names to compute (reward factors or terms, reported metrics).
        reward: The reward scorer's name.
        factors: A product reward's factor names, in order.
        terms: A weighted reward's ``(weight, name)`` terms, in order.
        scales: Each scaled metric's :attr:`MetricScorer.scale` (the content factor has none).
        template_words: The content factor's template words, if it is needed.
    """

    metrics: tuple[str, ...]
    reward: str
    factors: tuple[str, ...] = ()
    terms: tuple[tuple[float, str], ...] = ()
    scales: dict[str, float] = dataclasses.field(default_factory=dict)
    template_words: frozenset[str] | None = None

    def numpy_min_envs(self, dense: bool) -> int:
        """From how many envs the kernels' numpy code (no numba) is faster than the string
        path: the largest crossover of the kernels the plan needs."""
        return max(
            f.numpy_min_envs_dense if dense else f.numpy_min_envs
            for f in _FAMILIES
            if f.names.intersection(self.metrics)
        )


def plan_id_metrics(task: TokenMDPEnv, report: Sequence[Scorer]) -> IdMetricPlan | None:
    """The kernels' plan for ``task`` reporting ``report``, or ``None`` if a value has no kernel.

    The reward must be a named metric, content factor, product of those or weighted sum of
    named metrics; every reported metric must be one too; ``episode_metrics`` must be
    ``TokenMDPEnv``'s (what the kernels' values replace).
    """
    if type(task).episode_metrics is not TokenMDPEnv.episode_metrics:
        return None
    scorer = task.scorer
    factors: list[Scorer] = []
    terms: list[tuple[float, Scorer]] = []
    if type(scorer) is ProductScorer:
        factors = scorer.parts
        parts = factors
    elif type(scorer) is WeightedScorer:
        terms = scorer.terms
        parts = [s for _, s in terms]
    else:
        parts = [scorer]
    scales: dict[str, float] = {}
    contents: set[frozenset[str]] = set()
    for part in [*parts, *report]:
        if type(part) is MetricScorer and part.name in KERNEL_METRICS:
            scales[part.name] = part.scale
        elif type(part) is ContentScorer:
            contents.add(part.template_words)
        else:
            return None
    if len(contents) > 1:  # content factors with different template words: one kernel can't
        return None
    names = dict.fromkeys([*(p.name for p in parts), *(s.name for s in report)])
    return IdMetricPlan(
        metrics=tuple(names),
        reward=scorer.name,
        factors=tuple(f.name for f in factors),
        terms=tuple((w, s.name) for w, s in terms),
        scales=scales,
        template_words=next(iter(contents), None),
    )


class IdMetrics:
    """Every token-id kernel an env needs, scored as the env's scorers score.

    Built with :meth:`build`. :attr:`names` lists what :meth:`scores` returns: the planned
    metrics and the reward.
    """

    def __init__(self, plan: IdMetricPlan, kernels: list[IdKernel], tokenizer: Any) -> None:
        self._plan = plan
        self._kernels = kernels
        self._tokenizer = tokenizer
        self.names = tuple(dict.fromkeys([*plan.metrics, plan.reward]))
        # names -> what scores() computes for them (see _score_calls): planned once per names.
        self._calls: dict[
            tuple[str, ...] | None,
            tuple[tuple[str, ...], list[tuple[IdKernel, list[str]]], list[str]],
        ] = {}

    @classmethod
    def build(
        cls,
        plan: IdMetricPlan,
        tokenizer: object,
        num_rows: int,
        max_ids: int,
        capacity: int,
        jit: bool | None = None,
    ) -> IdMetrics | None:
        """The kernels of ``plan``, or ``None`` if one does not apply to ``tokenizer``."""
        build = _Build(tokenizer, num_rows, max_ids, capacity, jit, plan.template_words)
        kernels = []
        for family in _FAMILIES:
            names = [n for n in plan.metrics if n in family.names]
            if names:
                kernel = family.build(names, build)
                if kernel is None:
                    return None
                kernels.append(kernel)
        return cls(plan, kernels, tokenizer)

    @property
    def jit(self) -> bool:
        """Whether the kernels run compiled loops (all do, or none)."""
        return all(k.jit for k in self._kernels)

    def _reference_ids(self, references: Sequence[str]) -> list[np.ndarray | None]:
        """Per reference: its token ids if they decode back to exactly that reference (every
        embedded reference does), else ``None`` (a kernel then tokenises its text)."""
        tokenizer = self._tokenizer
        out: list[np.ndarray | None] = []
        for reference in references:
            ids = tokenizer.encode(reference)
            exact = tokenizer.decode(ids) == reference
            out.append(np.array(ids, dtype=np.int64) if exact else None)
        return out

    def store(self, slot: int, references: Sequence[str]) -> bool:
        """Store one sample's references in every kernel; ``False`` if one refuses them (then
        the env scores that sample from text, and no kernel's slot is read).

        A reference that the tokenizer encodes and decodes back exactly (every embedded one)
        is a decoded text, so each kernel takes its symbols from its ids, as for hypotheses,
        instead of tokenising it again: one encoding serves every kernel.
        """
        return self._store_encoded(slot, references, self._reference_ids(references))

    def _store_encoded(
        self, slot: int, references: Sequence[str], reference_ids: Sequence[np.ndarray | None]
    ) -> bool:
        return all(k.store(slot, references, reference_ids) for k in self._kernels)

    def store_many(self, slots: np.ndarray, references: Sequence[Sequence[str]]) -> np.ndarray:
        """:meth:`store` of several samples (distinct ``slots``): the same kernel arrays as
        storing each in turn, and ``ok[i]`` as ``store`` returns for sample ``i``.

        References are encoded one by one, but each kernel stores every sample whose
        references are all exact with a few numpy calls (its ``store_many``) instead of
        several per reference. Measured, that is 2.6-3.4x cheaper per sample when 256 samples
        are stored at once (a reset of 256 envs), and no cheaper at the ~11 new samples of a
        later cold step: there the per-reference encoding dominates.
        """
        slots = np.asarray(slots, dtype=np.intp)
        encoded = [self._reference_ids(sample) for sample in references]
        exact = np.array([all(ids is not None for ids in e) for e in encoded], dtype=np.bool_)
        ok = np.zeros(len(slots), dtype=np.bool_)
        for i in np.flatnonzero(~exact).tolist():
            ok[i] = self._store_encoded(int(slots[i]), references[i], encoded[i])
        pending = np.flatnonzero(exact)
        # As store()'s all(): a kernel stores only the samples every kernel before it took.
        for kernel in self._kernels:
            if not len(pending):
                break
            took = kernel.store_many(
                slots[pending], [cast("list[np.ndarray]", encoded[i]) for i in pending.tolist()]
            )
            pending = pending[took]
        ok[pending] = True
        return ok

    def reset(self, rows: np.ndarray, slots: np.ndarray) -> None:
        """Start the episodes of ``rows`` on the references stored in ``slots``."""
        for kernel in self._kernels:
            kernel.reset(rows, slots)

    def append(self, rows: np.ndarray, ids: np.ndarray) -> None:
        """Append token ``ids[b]`` to the episode of ``rows[b]``."""
        for kernel in self._kernels:
            kernel.append(rows, ids)

    def scores(self, rows: np.ndarray, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """The values of ``names`` (default :attr:`names`) for ``rows``, as the scorers return
        them: each metric scaled to [0, 1] and clipped, the content factor as it is."""
        plan = self._plan
        wanted, calls, need = self._score_calls(names)
        raw: dict[str, np.ndarray] = {}
        for kernel, mine in calls:
            raw.update(kernel.scores(rows, mine))
        values = {
            # MetricScorer.score: the metric times its scale, clipped.
            n: clip_unit(raw[n] * plan.scales[n]) if n in plan.scales else raw[n]
            for n in need
        }
        if plan.reward in wanted and plan.reward not in values:
            if plan.factors:
                values[plan.reward] = ProductScorer.combine([values[f] for f in plan.factors])
            else:
                # WeightedScorer.score: sum() from 0, then clipped.
                total: Any = 0
                for weight, name in plan.terms:
                    total = total + weight * values[name]
                values[plan.reward] = clip_unit(total)
        return {n: values[n] for n in wanted}

    def _score_calls(
        self, names: Sequence[str] | None
    ) -> tuple[tuple[str, ...], list[tuple[IdKernel, list[str]]], list[str]]:
        """For :meth:`scores` of ``names``: the names returned, each kernel called with the
        metric names it computes, and every value needed (a combined reward's parts)."""
        key = None if names is None else tuple(names)
        known = self._calls.get(key)
        if known is None:
            plan = self._plan
            wanted = self.names if key is None else key
            need: list[str] = []
            for name in wanted:
                if name == plan.reward and name not in plan.metrics:
                    need += plan.factors or [n for _, n in plan.terms]
                else:
                    need.append(name)
            need = list(dict.fromkeys(need))
            calls = [(k, [n for n in need if n in k.names]) for k in self._kernels]
            known = self._calls[key] = (wanted, [(k, mine) for k, mine in calls if mine], need)
        return known


def clip_unit(values: np.ndarray) -> np.ndarray:
    """``rewards.scorers._clip_unit`` elementwise (absorbs float rounding at 0 and 1)."""
    return np.minimum(1.0, np.maximum(0.0, values))
