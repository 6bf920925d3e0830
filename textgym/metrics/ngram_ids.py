"""Clipped n-gram matches of many growing token-id sequences against references, with numpy.

The shared engine of the token-id BLEU, chrF and token-F1 kernels (:mod:`.bleu_ids`,
:mod:`.chrf_ids`, :mod:`.f1_ids`). A vector env knows its hypotheses as ids of the embedded word
tokenizer; for each metric every id adds a fixed list of *symbols* to the decoded text (13a
tokens for BLEU, characters for chrF, normalised words for F1; each metric's map checks per
vocabulary that this holds), so an id maps once to a short list of integer symbol types
(:class:`IdSymbolMap`) and scoring needs neither decoding nor tokenising.

:class:`NgramIdBatch` keeps, per row (env) and reference, a match table: bit ``j`` of
``table[type]`` is set where the reference's symbol ``j`` has that type (references longer
than 64 symbols take several 64-bit words). Appending a symbol is a table lookup and a few
word operations: the mask of reference positions where the hypothesis's n-gram ending here
also ends is the (n-1)-gram mask of the previous position shifted by one, ANDed with the new
symbol's mask, for every order at once. Its popcount is the n-gram's count in that reference.
Equal n-grams have equal masks, so the first set bit of the first reference with one names the
n-gram, and a counter per name gives its rank among the hypothesis's equal n-grams so far. A
hypothesis n-gram counts as a match when its rank is at most its reference count; summed over
the hypothesis this is ``sum over n-grams of min(hyp count, ref count)``, the clipped count
that BLEU, chrF and F1 are made of. With ``merged=True`` (BLEU) the reference count is the
maximum over the references, as sacrebleu merges multi-reference counts; otherwise
(chrF, F1) each reference keeps its own matches.

The counts are integers, so the kernels' float formulas, written with the same float64
operations in the same order as the string metrics, give the same results bit for bit.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import NamedTuple

import numpy as np

from textgym._optional import require

from ._validate import check_references

_PAD = -1  # padding of id and reference symbol types; never a type (types are >= 0)
_WORD = 64
_BITS = np.left_shift(np.uint64(1), np.arange(_WORD, dtype=np.uint64))
_ONE = np.uint64(1)
_TOP = np.uint64(_WORD - 1)


def word_pieces(tokenizer: object) -> tuple[str, ...] | None:
    """The text each id adds to a decoded text, for the embedded word tokenizer only.

    Returns ``None`` (no token-id shortcut: score from text) for any other tokenizer. Only the
    exact :class:`~textgym.tokenizers.embedded.WordTokenizer` class qualifies: its ``decode``
    is the join of these pieces minus one leading space (probed here), which is what makes
    per-id symbols exact; a subclass could decode otherwise.
    """
    from textgym.tokenizers.embedded import WordTokenizer

    if type(tokenizer) is not WordTokenizer:
        return None
    # A tokenizer without them (a renamed attribute) falls back to the string path rather
    # than failing.
    pieces = getattr(tokenizer, "_pieces", None)
    if pieces is None:
        return None
    probe = list(range(min(len(pieces), 64)))
    joined = "".join(pieces[i] for i in probe)
    if tokenizer.decode(probe) != joined.removeprefix(" "):
        return None
    return tuple(pieces)


class ReferenceBatch(NamedTuple):
    """The references of several samples as flat arrays (see :func:`gather_references`).

    Attributes:
        ok: Per sample: every reference fits (``False``: the sample is to store nothing).
        types: The kept references' symbol types, one reference after the other.
        lengths: Per kept reference, its number of symbols.
        slots: Per kept reference, its sample's slot.
        ref: Per kept reference, its position among its sample's references.
        sample: Per kept reference, its sample's position in the batch.
    """

    ok: np.ndarray
    types: np.ndarray
    lengths: np.ndarray
    slots: np.ndarray
    ref: np.ndarray
    sample: np.ndarray


def gather_references(
    id_types: np.ndarray,
    pad: int,
    slots: np.ndarray,
    reference_ids: Sequence[Sequence[np.ndarray]],
    max_length: int,
) -> ReferenceBatch:
    """Symbol types of several samples' references (given by ids), with one gather for all.

    ``id_types`` maps an id to its symbol types: ``(vocab, width)`` padded with ``pad``, or
    ``(vocab,)`` with ``pad`` for an id that adds none. A sample with a reference longer than
    ``max_length`` symbols is left out (``ok`` False), as a kernel's ``store`` refuses it. One
    gather serves every reference, which is what makes storing many samples at once cheaper
    than one ``store`` each (a numpy call per reference costs more than its symbols).
    """
    slots = np.asarray(slots, dtype=np.intp)
    counts = np.fromiter((len(r) for r in reference_ids), dtype=np.int64, count=len(slots))
    refs = [ids for sample in reference_ids for ids in sample]
    sizes = np.fromiter((len(r) for r in refs), dtype=np.int64, count=len(refs))
    ids = np.concatenate(refs).astype(np.int64, copy=False) if refs else sizes
    types = id_types[ids]
    keep = types != pad
    per_id = keep.sum(axis=1) if types.ndim == 2 else keep.astype(np.int64)
    totals = np.concatenate(([0], np.cumsum(per_id)))
    ends = np.cumsum(sizes)
    lengths = totals[ends] - totals[ends - sizes]
    flat = types[keep]
    sample = np.repeat(np.arange(len(counts)), counts)
    index = np.arange(len(sample)) - (np.cumsum(counts) - counts)[sample]
    ok = np.ones(len(counts), dtype=np.bool_)
    ok[sample[lengths > max_length]] = False
    if not ok.all():
        kept = ok[sample]
        flat = flat[np.repeat(kept, lengths)]
        lengths, index, sample = lengths[kept], index[kept], sample[kept]
    return ReferenceBatch(ok, flat, lengths, slots[sample], index, sample)


def scatter_references(target: np.ndarray, batch: ReferenceBatch) -> None:
    """Write each kept reference's types to ``target[slot, index, :length]``."""
    owner = np.repeat(np.arange(len(batch.lengths)), batch.lengths)
    position = np.arange(len(batch.types)) - (np.cumsum(batch.lengths) - batch.lengths)[owner]
    target[batch.slots[owner], batch.ref[owner], position] = batch.types


class IdSymbolMap:
    """The symbols each token id adds to a decoded text, as integer types.

    Args:
        per_id: ``per_id[i]`` lists the symbols (tokens, characters) id ``i`` adds, in order.

    Attributes:
        types: Symbol -> type, numbered in order of first appearance.
        unknown: The type of reference symbols that no id produces (never matched).
        id_types: ``(vocab, width)`` types of each id's symbols, padded with -1.
        id_counts: Number of symbols of each id.
    """

    def __init__(self, per_id: Sequence[Sequence[str]]) -> None:
        self.types: dict[str, int] = {}
        types = [[self.types.setdefault(s, len(self.types)) for s in symbols] for symbols in per_id]
        self.unknown = len(self.types)
        width = max(1, max(map(len, types), default=1))
        self.id_types = np.full((len(types), width), _PAD, dtype=np.int32)
        for i, row in enumerate(types):
            self.id_types[i, : len(row)] = row
        self.id_counts = np.array([len(row) for row in types], dtype=np.int64)

    def symbol_types(self, symbols: Sequence[str]) -> np.ndarray:
        """Types of ``symbols``; symbols no id produces get :attr:`unknown`."""
        get, unknown = self.types.get, self.unknown
        return np.array([get(s, unknown) for s in symbols], dtype=np.int32)

    def hypothesis_types(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Types of the symbols of ``decode(ids)``."""
        types = self.id_types[np.asarray(ids, dtype=np.int64)]
        return types[types != _PAD]


class NgramIdBatch:
    """Clipped n-gram match counts of ``num_rows`` growing hypotheses against their references.

    See the module docstring for the method. Subclasses turn references into symbols
    (:meth:`reference_symbols`) and counts into scores (``scores``).

    Args:
        symbol_map: Id -> symbol types.
        num_rows: Number of hypotheses (envs).
        max_order: Largest n-gram order counted (orders 1..max_order).
        merged: Count matches against the maximum reference count over the references (one
            count per order, as BLEU does) instead of per reference.
        capacity: Number of reference-set slots (see :meth:`store`).
        max_reference_symbols: Longest reference (in symbols) :meth:`store` accepts.
        jit: Run resets, appends and scores as compiled loops (numba, the ``fast`` extra)
            instead of numpy calls; the results are the same bit for bit. ``None`` (default):
            when numba is installed. ``True`` without numba is an error naming the extra.
    """

    #: The metric names :meth:`scores` returns (each metric sets its own).
    names: tuple[str, ...] = ()

    def __init__(
        self,
        symbol_map: IdSymbolMap,
        num_rows: int,
        max_order: int,
        *,
        merged: bool = False,
        capacity: int = 1,
        max_reference_symbols: int = 256,
        jit: bool | None = None,
    ) -> None:
        if max_order < 1:
            raise ValueError(f"max_order: expected >= 1, got {max_order}")
        self._jit = jit_module(jit)
        self.map = symbol_map
        self.max_order = max_order
        self.merged = merged
        self.max_reference_symbols = max_reference_symbols
        n, orders = num_rows, max_order
        self._num_types = symbol_map.unknown + 1
        # Reference axis (K) and length axis (L, hence words W) grow with what is stored.
        k, length = 1, 1
        self._hyp_len = np.zeros(n, np.int64)
        self._ref_len = np.full((n, k), -1, np.int64)  # -1: no such reference
        self._row_syms = np.full((n, k, length), _PAD, np.int32)  # to clear the table
        # Type-major, so that one lookup reads one symbol's masks of every reference together.
        self._table = np.zeros((n, self._num_types, k, 1), np.uint64)
        # Compiled loops only: bit t set where a row's references have type t, read before the
        # table, so that symbols no reference has (most, for a large vocabulary) cost no
        # lookup in the much larger table.
        self._present = np.zeros((n, -(-self._num_types // _WORD)), np.uint64)
        # Compiled loops only: the orders whose masks at the last position may be nonzero.
        self._depth = np.zeros(n, np.int64)
        self._prev = np.zeros((n, orders - 1, k, 1), np.uint64)  # masks at the last position
        self._counts = np.zeros((n, orders, k * _WORD), np.int32)  # rank counter per n-gram
        self._matches = np.zeros((n, orders, 1 if merged else k), np.int64)
        self._slot_len = np.full((capacity, k), -1, np.int64)
        self._slot_syms = np.full((capacity, k, length), _PAD, np.int32)

    @property
    def jit(self) -> bool:
        """Whether the compiled loops are used."""
        return self._jit is not None

    @property
    def capacity(self) -> int:
        """Number of reference-set slots."""
        return self._slot_len.shape[0]

    def scores(self, rows: np.ndarray, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """The metric's values for ``rows``, by name (``names``: a subset of :attr:`names`)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ state
    def reference_symbols(self, reference: str) -> Sequence[str]:
        """The symbols of one reference text (the metric's tokenisation)."""
        raise NotImplementedError

    def store(
        self,
        slot: int,
        references: Sequence[str],
        reference_ids: Sequence[Sequence[int] | np.ndarray | None] | None = None,
    ) -> bool:
        """Store the references of one sample in ``slot`` (overwriting it).

        Args:
            slot: The slot to fill.
            references: The sample's references.
            reference_ids: Optional, per reference: token ids that decode to exactly that
                reference, or ``None``. Its symbols are then the ids' symbols, which the map's
                per-id condition makes equal to tokenising the reference, at less cost.

        Returns:
            ``False`` (storing nothing) if a reference is longer than
            ``max_reference_symbols``; score that sample with the string path.
        """
        types = []
        for k, reference in enumerate(references):
            ids = None if reference_ids is None else reference_ids[k]
            if ids is None:
                types.append(self.map.symbol_types(self.reference_symbols(reference)))
            else:
                types.append(self.map.hypothesis_types(ids))
        lengths = [len(t) for t in types]
        longest = max(lengths, default=0)
        if longest > self.max_reference_symbols:
            return False
        if len(lengths) > self._ref_len.shape[1] or longest > self._slot_syms.shape[2]:
            self._widen(max(len(lengths), self._ref_len.shape[1]), longest)
        self._slot_len[slot] = -1
        self._slot_len[slot, : len(lengths)] = lengths
        syms = self._slot_syms[slot]
        syms[:] = _PAD
        for k, row in enumerate(types):
            syms[k, : len(row)] = row
        return True

    def store_many(
        self, slots: np.ndarray, reference_ids: Sequence[Sequence[np.ndarray]]
    ) -> np.ndarray:
        """:meth:`store` of several samples, each reference given by its ids.

        Leaves the same arrays as storing each sample in turn; ``ok[i]`` is what
        :meth:`store` returns for ``slots[i]`` and ``reference_ids[i]``.

        Args:
            slots: Distinct slots, one per sample.
            reference_ids: Per sample and reference, ids that decode to exactly it.
        """
        batch = gather_references(
            self.map.id_types, _PAD, slots, reference_ids, self.max_reference_symbols
        )
        if len(batch.lengths):
            num_refs, longest = int(batch.ref.max()) + 1, int(batch.lengths.max())
            if num_refs > self._ref_len.shape[1] or longest > self._slot_syms.shape[2]:
                self._widen(max(num_refs, self._ref_len.shape[1]), longest)
        stored = np.asarray(slots, dtype=np.intp)[batch.ok]
        self._slot_len[stored] = -1
        self._slot_len[batch.slots, batch.ref] = batch.lengths
        self._slot_syms[stored] = _PAD
        scatter_references(self._slot_syms, batch)
        return batch.ok

    def _widen(self, num_refs: int, length: int) -> None:
        """Grow the reference and length axes, keeping every row's live state."""
        k_old, l_old = self._ref_len.shape[1], self._slot_syms.shape[2]
        w_old = self._table.shape[3]
        length = max(length, l_old)
        words = -(-length // _WORD)

        def grown(old: np.ndarray, shape: tuple[int, ...], fill: int) -> np.ndarray:
            new = np.full(shape, fill, old.dtype)
            new[tuple(slice(0, s) for s in old.shape)] = old
            return new

        n, capacity = self._hyp_len.shape[0], self.capacity
        orders = self.max_order
        self._ref_len = grown(self._ref_len, (n, num_refs), -1)
        self._slot_len = grown(self._slot_len, (capacity, num_refs), -1)
        self._row_syms = grown(self._row_syms, (n, num_refs, length), _PAD)
        self._slot_syms = grown(self._slot_syms, (capacity, num_refs, length), _PAD)
        # Bit j of word w is reference position 64 w + j whatever the number of words, so
        # tables and masks copy over as they are.
        self._table = grown(self._table, (n, self._num_types, num_refs, words), 0)
        self._prev = grown(self._prev, (n, orders - 1, num_refs, words), 0)
        # An n-gram's counter index is (reference, word, bit): copy along those axes.
        counts = self._counts.reshape(n, orders, k_old, w_old, _WORD)
        self._counts = grown(counts, (n, orders, num_refs, words, _WORD), 0).reshape(
            n, orders, num_refs * words * _WORD
        )
        if not self.merged:
            self._matches = grown(self._matches, (n, orders, num_refs), 0)

    def reset(self, rows: np.ndarray, slots: np.ndarray) -> None:
        """Empty the hypotheses of ``rows`` and give them the references stored in ``slots``."""
        if not len(rows):
            return
        if self._jit is not None:
            self._jit.reset(
                rows, slots, self._slot_syms, self._slot_len, self._row_syms, self._ref_len,
                self._table, self._present, self._prev, self._depth, self._counts,
                self._matches, self._hyp_len,
            )  # fmt: skip
            return
        # Clear the table bits of the old references, then set the new ones.
        old = self._row_syms[rows]
        b, k, j = np.nonzero(old != _PAD)
        self._table[rows[b], old[b, k, j], k, j // _WORD] = 0
        new = self._slot_syms[slots]
        self._row_syms[rows] = new
        b, k, j = np.nonzero(new != _PAD)
        # A type may repeat within a word: OR the bits in one unbuffered pass.
        np.bitwise_or.at(self._table, (rows[b], new[b, k, j], k, j // _WORD), _BITS[j % _WORD])
        self._ref_len[rows] = self._slot_len[slots]
        self._prev[rows] = 0
        self._counts[rows] = 0
        self._matches[rows] = 0
        self._hyp_len[rows] = 0

    def append(self, rows: np.ndarray, ids: np.ndarray) -> None:
        """Append token ``ids[b]`` to the hypothesis of ``rows[b]`` (a row appears once)."""
        id_types, id_counts = self.map.id_types, self.map.id_counts
        if self._jit is not None:
            self._jit.append(
                rows, ids, id_types, id_counts, self._table, self._present, self._ref_len,
                self._prev, self._depth, self._counts, self._matches, self._hyp_len,
                self.merged,
            )  # fmt: skip
            return
        counts = id_counts[ids]
        for s in range(id_types.shape[1]):
            sel = counts > s
            if not sel.all():
                rows, ids, counts = rows[sel], ids[sel], counts[sel]
            if not len(rows):
                return
            self._append_symbols(rows, id_types[ids, s])

    def _append_symbols(self, rows: np.ndarray, types: np.ndarray) -> None:
        """Append one symbol of type ``types[b]`` to each row ``rows[b]`` (numpy)."""
        orders = self.max_order
        first = self._table[rows, types]  # (B, K, W): the new symbol's positions
        masks = np.empty((len(rows), orders, *first.shape[1:]), np.uint64)
        masks[:, 0] = first
        if orders > 1:
            # The (n-1)-gram masks of the previous position, shifted one position up
            # (across word boundaries), ANDed with the new symbol's: the n-gram masks.
            prev = self._prev[rows]
            shifted = prev << _ONE
            shifted[..., 1:] |= prev[..., :-1] >> _TOP
            masks[:, 1:] = shifted & first[:, None]
            self._prev[rows] = masks[:, :-1]
        ref_counts = np.bitwise_count(masks).sum(axis=3, dtype=np.int64)  # (B, N, K)
        flat = masks.reshape(len(rows), orders, -1)  # (B, N, K * W)
        nonzero = flat != 0
        present = nonzero.any(axis=2)  # the n-gram occurs in some reference
        where = nonzero.argmax(axis=2)
        word = np.take_along_axis(flat, where[..., None], axis=2)[..., 0]
        low_bit = np.bitwise_count((word & (~word + _ONE)) - _ONE).astype(np.int64)
        name = np.where(present, where * _WORD + low_bit, 0)
        order_index = np.arange(orders)
        rank = self._counts[rows[:, None], order_index, name] + present
        self._counts[rows[:, None], order_index, name] = rank
        if self.merged:
            self._matches[rows, :, 0] += present & (rank <= ref_counts.max(axis=2))
        else:
            self._matches[rows] += present[..., None] & (rank[..., None] <= ref_counts)
        self._hyp_len[rows] += 1

    # ------------------------------------------------------------------ counts
    def hypothesis_lengths(self, rows: np.ndarray) -> np.ndarray:
        """Symbols in the hypotheses of ``rows``."""
        return self._hyp_len[rows]

    def reference_lengths(self, rows: np.ndarray) -> np.ndarray:
        """``(B, K)`` symbols in each reference of ``rows``; -1 where a row has fewer."""
        return self._ref_len[rows]

    def matches(self, rows: np.ndarray) -> np.ndarray:
        """``(B, max_order, K)`` clipped matches per order and reference (``K = 1`` merged)."""
        return self._matches[rows]


def score_id_lists(
    batch: NgramIdBatch,
    hypotheses: Sequence[Sequence[int]],
    references_list: Sequence[Sequence[str]],
) -> dict[str, np.ndarray]:
    """Score hypotheses given as id lists with a fresh ``batch`` (the stateless forms).

    Raises:
        ValueError: If the counts differ or a reference is longer than the batch accepts.
    """
    n = len(hypotheses)
    if len(references_list) != n:
        raise ValueError(f"{n} hypotheses but {len(references_list)} reference sets")
    for slot, refs in enumerate(references_list):
        if not batch.store(slot, check_references(refs)):
            raise ValueError(f"a reference is longer than {batch.max_reference_symbols} symbols")
    rows = np.arange(n)
    batch.reset(rows, rows)
    longest = max((len(h) for h in hypotheses), default=0)
    ids = np.full((n, longest), -1, np.int64)
    for i, h in enumerate(hypotheses):
        ids[i, : len(h)] = h
    for t in range(longest):
        sel = ids[:, t] >= 0
        batch.append(rows[sel], ids[sel, t])
    return batch.scores(rows)


def jit_available(jit: bool | None = None) -> bool:
    """Whether the kernels run compiled loops for ``jit`` (``jit=True`` without numba raises)."""
    return jit_module(jit) is not None


def jit_module(jit: bool | None) -> ModuleType | None:
    """The compiled loops of this engine, or ``None`` for numpy; see ``NgramIdBatch(jit=...)``."""
    return load_jit(jit, "_ngram_ids_jit", "jit=True (compiled token-id metric loops)")


def load_jit(
    jit: bool | None, module: str, feature: str, package: str = "textgym.metrics"
) -> ModuleType | None:
    """The compiled-loops module ``<package>.<module>``, or ``None`` for numpy code.

    ``jit=False``: ``None``. ``None``: the module if numba imports, else ``None``. ``True``:
    the module, or an ``ImportError`` naming the ``fast`` extra (``feature`` says who asked).
    """
    if jit is False:
        return None
    try:
        return importlib.import_module(f"{package}.{module}")
    except ImportError:
        if jit is None:  # numba missing (or unusable with this numpy): the numpy code
            return None
        require("numba", feature)
        raise
