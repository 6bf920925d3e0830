"""ROUGE-N and ROUGE-L of many hypotheses given as token ids, computed with numpy.

A vector env knows its hypotheses as token ids of a word tokenizer. For the embedded
:class:`~textgym.tokenizers.embedded.WordTokenizer` the rouge-score tokens of a decoded text are
the concatenation of the rouge-score tokens of each id's decoded piece (the condition is checked
per vocabulary in :class:`RougeTokenMap`), so each id maps once to a short list of integer token
*types*, and scoring needs neither decoding nor regexes nor stemming. :class:`RougeIdBatch`
keeps, for N rows (envs), per reference:

* a match table: bit ``j`` of ``table[type]`` is set where the reference's token ``j`` has
  that type; appending a token is one lookup for all rows;
* the bit-parallel LCS row vector (Allison-Dix / Hyyro, as :mod:`textgym.metrics.rouge`) in a
  ``uint64``, advanced with a few word operations for all rows at once;
* the match mask of each hypothesis position, from which clipped n-gram matches are counted
  when scores are asked for: the i-th hypothesis n-gram counts when its rank among equal
  n-grams at positions <= i is at most its number of occurrences in the reference (popcounts
  of ANDs of shifted masks); summed over i that is ``sum min(hyp count, ref count)``.

The F-measures are evaluated with the same float64 operations in the same order as
:func:`textgym.metrics.rouge_scores`, so the results are bit-for-bit equal to it (and hence to
rouge-score); ``tests/test_metrics_batch_ids.py`` checks this with hypothesis. References
longer than :data:`MAX_REFERENCE_TOKENS` do not fit the 64-bit LCS row: :meth:`RougeIdBatch.store`
refuses them and the caller scores such samples with the string path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import ModuleType

import numpy as np

from ._tokenize import tokenize_rouge
from ._validate import check_references
from .ngram_ids import _PAD as _ID_PAD
from .ngram_ids import IdSymbolMap, gather_references, load_jit, word_pieces
from .rouge import check_variant, rouge_ref

#: Longest reference (in rouge-score tokens) whose LCS row fits one uint64.
MAX_REFERENCE_TOKENS = 64
_ALNUM = re.compile(r"[a-z0-9]")
_HYP_PAD = -1  # hypothesis padding; never equal to a type (>= 0) or to a reference pad
_POW2 = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))
_LOW = np.left_shift(np.uint64(2), np.arange(64, dtype=np.uint64)) - np.uint64(1)  # bits 0..i
_NEVER = 255  # a rank no reference count (<= 64) reaches: marks positions past a hypothesis


def _variant_order(variant: str) -> int:
    """0 for rougeL, n for rougeN."""
    check_variant(variant)
    if variant == "rougeLsum":
        raise ValueError("rougeLsum depends on sentence breaks; score it with metrics.rouge")
    return 0 if variant == "rougeL" else int(variant[5:])


class RougeTokenMap(IdSymbolMap):
    """rouge-score tokens of each token id of a word tokenizer, as integer types.

    Args:
        pieces: ``pieces[i]`` is the text token id ``i`` adds to a decoded text when it follows
            another token (for :class:`~textgym.tokenizers.embedded.WordTokenizer`: the word
            with its leading space, closing punctuation bare, ``""`` for PAD and EOS).
        stem: Porter stemming, as rouge-score's ``use_stemmer``.

    Raises:
        ValueError: If a piece starts with a letter or digit (after lowercasing): it could then
            fuse with the previous piece into one rouge token, and per-id tokens would not add
            up to the tokens of the decoded text.
    """

    def __init__(self, pieces: Sequence[str], stem: bool = True) -> None:
        for i, piece in enumerate(pieces):
            if piece and _ALNUM.match(piece.lower()):
                raise ValueError(
                    f"pieces[{i}]={piece!r} starts with a letter or digit; per-id rouge tokens "
                    "would not concatenate to those of the decoded text"
                )
        self.stem = stem
        # lower() is context-free except for the Greek final sigma, which maps to a non-ASCII
        # letter either way, so per-piece tokenisation equals whole-text tokenisation under the
        # check above.
        super().__init__([tokenize_rouge(piece, stem) for piece in pieces])

    @classmethod
    def from_tokenizer(cls, tokenizer: object, stem: bool = True) -> RougeTokenMap | None:
        """The map for an embedded :class:`WordTokenizer`, else ``None`` (no id shortcut).

        See :func:`~textgym.metrics.ngram_ids.word_pieces` for which tokenizers qualify.
        """
        pieces = word_pieces(tokenizer)
        if pieces is None:
            return None
        try:
            return cls(pieces, stem)
        except ValueError:
            return None

    def reference_tokens(self, text: str) -> list[str]:
        """The rouge-score tokens of a reference (the hook a flavour's map overrides)."""
        return rouge_ref(text, self.stem).tokens

    def reference_types(self, text: str) -> np.ndarray:
        """Types of the rouge-score tokens of ``text``; tokens no id produces get ``unknown``."""
        return self.symbol_types(self.reference_tokens(text))


class RougeIdBatch:
    """ROUGE-N / ROUGE-L state of ``num_rows`` growing hypotheses against their references.

    Per row and reference it keeps a match table (bit ``j`` of ``table[type]`` set where the
    reference's token ``j`` has that type), the LCS row vector and, per hypothesis position,
    the match mask of the token there. Appending a token is then a table lookup and a few
    word operations for all rows at once; n-gram counts at scoring time are ANDs of shifted
    match masks and popcounts.

    Args:
        token_map: Id -> type map of the tokenizer.
        num_rows: Number of hypotheses (envs).
        max_ids: Most token ids a hypothesis receives between two resets.
        variants: ROUGE variants to score: rouge1..rouge9 and rougeL.
        capacity: Number of reference-set slots (see :meth:`store`).
        jit: Run appends, resets and scoring as compiled loops (numba, the ``fast`` extra)
            instead of numpy calls; the results are the same bit for bit. ``None`` (default):
            when numba is installed. ``True`` without numba is an error naming the extra.
    """

    def __init__(
        self,
        token_map: RougeTokenMap,
        num_rows: int,
        max_ids: int,
        variants: Sequence[str],
        capacity: int = 1,
        jit: bool | None = None,
    ) -> None:
        self._jit = _jit_module(jit)
        self.map = token_map
        self.variants = tuple(variants)
        self._orders = {v: _variant_order(v) for v in self.variants}
        self._order_arrays: dict[tuple[str, ...], np.ndarray] = {}
        n, positions = num_rows, max_ids * token_map.id_types.shape[1]
        self._num_types = token_map.unknown + 1
        self._hyp = np.full((n, positions), _HYP_PAD, np.int32)
        self._hyp_len = np.zeros(n, np.int64)
        # Reference axis (K) grows with the largest reference set stored.
        self._ref_len = np.full((n, 1), -1, np.int64)  # -1: no such reference
        self._table = np.zeros((n, 1, self._num_types), np.uint64)
        self._masks = np.zeros((n, 1, positions), np.uint64)  # match mask per hyp position
        self._lcs_state = np.zeros((n, 1), np.uint64)
        self._lcs_full = np.zeros((n, 1), np.uint64)
        # Stored reference sets, by slot: lengths, initial LCS rows and the table entries
        # (flat offsets reference * num_types + type, and masks). Offsets are padded with the
        # never-read "unknown" column, masks with 0; the axis (U) grows on demand.
        self._pad_offset = token_map.unknown
        self._slot_len = np.full((capacity, 1), -1, np.int64)
        self._slot_full = np.zeros((capacity, 1), np.uint64)
        self._slot_offsets = np.full((capacity, 1), self._pad_offset, np.int64)
        self._slot_masks = np.zeros((capacity, 1), np.uint64)
        self._row_offsets = np.full((n, 1), self._pad_offset, np.int64)  # entries set per row

    @property
    def jit(self) -> bool:
        """Whether the compiled loops are used."""
        return self._jit is not None

    @property
    def names(self) -> tuple[str, ...]:
        """The metric names :meth:`scores` returns (:attr:`variants`)."""
        return self.variants

    @property
    def capacity(self) -> int:
        """Number of reference-set slots."""
        return self._slot_len.shape[0]

    # ------------------------------------------------------------------ state
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
                reference, or ``None``. Its tokens' types are then the ids' types, which
                :class:`RougeTokenMap`'s per-id condition makes equal to tokenising (and
                stemming) the reference, at less cost.

        Returns:
            ``False`` (storing nothing) if a reference is longer than
            :data:`MAX_REFERENCE_TOKENS` rouge tokens; score that sample with the string path.
        """
        types_of, num_types = self.map.types.get, self._num_types
        lengths: list[int] = []
        entries: dict[int, int] = {}  # reference * num_types + type -> positions bit mask
        for k, ref in enumerate(references):
            ids = None if reference_ids is None else reference_ids[k]
            if ids is None:
                types = [types_of(token) for token in self.map.reference_tokens(ref)]
            else:
                types = self.map.hypothesis_types(ids).tolist()
            if len(types) > MAX_REFERENCE_TOKENS:
                return False
            lengths.append(len(types))
            for j, t in enumerate(types):
                if t is not None:  # a type no id produces can never match: no entry
                    key = k * num_types + t
                    entries[key] = entries.get(key, 0) | (1 << j)
        if len(lengths) > self._ref_len.shape[1]:
            self._widen(len(lengths))
        if len(entries) > self._slot_offsets.shape[1]:
            self._widen_slots(len(entries))
        self._slot_len[slot] = -1
        self._slot_len[slot, : len(lengths)] = lengths
        self._slot_full[slot] = 0
        self._slot_full[slot, : len(lengths)] = [(1 << m) - 1 for m in lengths]
        self._slot_offsets[slot] = self._pad_offset
        self._slot_offsets[slot, : len(entries)] = list(entries)
        self._slot_masks[slot] = 0
        self._slot_masks[slot, : len(entries)] = list(entries.values())
        return True

    def reset(self, rows: np.ndarray, slots: np.ndarray) -> None:
        """Empty the hypotheses of ``rows`` and give them the references stored in ``slots``."""
        if not len(rows):
            return
        if self._jit is not None:
            self._jit.reset(
                rows, slots, self._table, self._row_offsets, self._slot_offsets,
                self._slot_masks, self._ref_len, self._slot_len, self._lcs_full,
                self._lcs_state, self._slot_full, self._hyp_len,
            )  # fmt: skip
            return
        table = self._table.reshape(-1)
        base = rows[:, None] * (self._table.shape[1] * self._num_types)
        # Clear the table entries of the old references, then set the new ones.
        table[base + self._row_offsets[rows]] = 0
        offsets = self._slot_offsets[slots]
        table[base + offsets] = self._slot_masks[slots]
        self._row_offsets[rows] = offsets
        self._ref_len[rows] = self._slot_len[slots]
        full = self._slot_full[slots]
        self._lcs_full[rows] = full
        self._lcs_state[rows] = full
        self._hyp_len[rows] = 0

    def store_many(
        self, slots: np.ndarray, reference_ids: Sequence[Sequence[np.ndarray]]
    ) -> np.ndarray:
        """:meth:`store` of several samples, each reference given by its ids: the same arrays
        as storing each in turn (table entries in the same order), and ``ok[i]`` as ``store``
        returns for sample ``i``."""
        slots = np.asarray(slots, dtype=np.intp)
        batch = gather_references(
            self.map.id_types, _ID_PAD, slots, reference_ids, MAX_REFERENCE_TOKENS
        )
        lengths, num_types = batch.lengths, self._num_types
        # Per symbol: its sample, its table entry (reference * num_types + type) and its bit.
        sym_ref = np.repeat(np.arange(len(lengths)), lengths)
        position = np.arange(len(batch.types)) - (np.cumsum(lengths) - lengths)[sym_ref]
        sym_sample = batch.sample[sym_ref]
        key = batch.ref[sym_ref] * num_types + batch.types
        # One entry per (sample, key), in the order store() meets them (first occurrence).
        width = (int(batch.ref.max()) + 1) * num_types if len(lengths) else 1
        codes, first, inverse = np.unique(
            sym_sample * width + key, return_index=True, return_inverse=True
        )
        masks = np.zeros(len(codes), np.uint64)
        np.bitwise_or.at(masks, inverse, np.left_shift(np.uint64(1), position.astype(np.uint64)))
        order = np.argsort(first, kind="stable")
        entry_key, entry_mask = key[first[order]], masks[order]
        entry_sample = sym_sample[first[order]]
        per_sample = np.bincount(entry_sample, minlength=len(slots))
        entry_pos = np.arange(len(order)) - (np.cumsum(per_sample) - per_sample)[entry_sample]
        if len(lengths) and int(batch.ref.max()) + 1 > self._ref_len.shape[1]:
            self._widen(int(batch.ref.max()) + 1)
        if len(per_sample) and int(per_sample.max()) > self._slot_offsets.shape[1]:
            self._widen_slots(int(per_sample.max()))
        stored = slots[batch.ok]
        self._slot_len[stored] = -1
        self._slot_len[batch.slots, batch.ref] = lengths
        self._slot_full[stored] = 0
        self._slot_full[batch.slots, batch.ref] = [(1 << int(m)) - 1 for m in lengths]
        self._slot_offsets[stored] = self._pad_offset
        self._slot_offsets[slots[entry_sample], entry_pos] = entry_key
        self._slot_masks[stored] = 0
        self._slot_masks[slots[entry_sample], entry_pos] = entry_mask
        return batch.ok

    def _widen(self, num_refs: int) -> None:
        k = self._ref_len.shape[1]
        for name, fill in (
            ("_ref_len", -1),
            ("_table", 0),
            ("_masks", 0),
            ("_lcs_state", 0),
            ("_lcs_full", 0),
            ("_slot_len", -1),
            ("_slot_full", 0),
        ):
            old = getattr(self, name)
            new = np.full((old.shape[0], num_refs, *old.shape[2:]), fill, old.dtype)
            new[:, :k] = old
            setattr(self, name, new)
        # Offsets (reference * num_types + type) stay valid: they index within a row.

    def _widen_slots(self, num_entries: int) -> None:
        u = self._slot_offsets.shape[1]
        for name, fill in (
            ("_slot_offsets", self._pad_offset),
            ("_slot_masks", 0),
            ("_row_offsets", self._pad_offset),
        ):
            old = getattr(self, name)
            new = np.full((old.shape[0], num_entries), fill, old.dtype)
            new[:, :u] = old
            setattr(self, name, new)

    def append(self, rows: np.ndarray, ids: np.ndarray) -> None:
        """Append token ``ids[b]`` to the hypothesis of ``rows[b]`` (a row appears once)."""
        id_types, id_counts = self.map.id_types, self.map.id_counts
        if self._jit is not None:
            self._jit.append(
                rows, ids, id_types, id_counts, self._hyp, self._hyp_len, self._table,
                self._masks, self._lcs_state, self._lcs_full,
            )  # fmt: skip
            return
        counts = id_counts[ids]
        for w in range(id_types.shape[1]):
            sel = counts > w
            if not sel.all():
                rows, ids, counts = rows[sel], ids[sel], counts[sel]
            if not len(rows):
                return
            types = id_types[ids, w]
            pos = self._hyp_len[rows]
            self._hyp[rows, pos] = types
            self._hyp_len[rows] = pos + 1
            match = self._table[rows, :, types]  # (B, K)
            self._masks[rows, :, pos] = match
            state = self._lcs_state[rows]
            u = state & match
            self._lcs_state[rows] = ((state + u) | (state - u)) & self._lcs_full[rows]

    # ------------------------------------------------------------------ scores
    def scores(
        self, rows: np.ndarray, variants: Sequence[str] | None = None
    ) -> dict[str, np.ndarray]:
        """F-measure of each variant for ``rows``, the best over each row's references.

        Equal bit for bit to ``metrics.rouge_scores(decode(ids), refs, variants)``.
        """
        variants = self.variants if variants is None else tuple(variants)
        if not len(rows):
            return {v: np.zeros(0) for v in variants}
        hyp_len = self._hyp_len[rows]
        ref_len = self._ref_len[rows]  # (B, K), -1 for absent references
        orders = self._order_arrays.get(variants)
        if orders is None:
            orders = self._order_arrays[variants] = np.array([self._orders[v] for v in variants])
        if self._jit is not None:
            out = np.empty((len(variants), len(rows)), np.float64)
            self._jit.scores(
                rows, orders, self._hyp, self._hyp_len, self._ref_len, self._masks,
                self._lcs_state, out,
            )  # fmt: skip
            return dict(zip(variants, out, strict=True))
        # Matches, hypothesis and reference totals of every variant: (V, B, K), (V, B, 1),
        # (V, B, K). ROUGE-L's totals are the lengths (rouge-score returns 0 when either is
        # empty; then the LCS is 0 and the F-measure below is 0 as well).
        matches = np.empty((len(variants), *ref_len.shape), np.float64)
        ngrams = None
        for v, n in enumerate(orders.tolist()):
            if n == 0:
                matches[v] = ref_len - np.bitwise_count(self._lcs_state[rows])
            else:
                if ngrams is None:
                    ngrams = _NgramMatches(self, rows, hyp_len)
                matches[v] = ngrams.overlap(n)
        # Totals max(0, len - n + 1), divided as max(total, 1) like rouge-score.
        shift = np.maximum(orders - 1, 0)[:, None, None]
        precision = matches / np.maximum(hyp_len[None, :, None] - shift, 1)
        recall = matches / np.maximum(ref_len[None] - shift, 1)
        best = np.where(ref_len[None] >= 0, _fmeasure(precision, recall), -np.inf).max(axis=2)
        return dict(zip(variants, best, strict=True))


class _NgramMatches:
    """Clipped n-gram match counts of some rows, sharing work across orders n.

    The i-th hypothesis n-gram counts when its rank among equal n-grams at positions <= i is
    at most its number of occurrences in the reference; summed over i this is
    ``sum over n-gram types of min(hyp count, ref count)``, the clipped count. Occurrences are
    popcounts of ANDs of shifted match masks (bit j: position j holds the same token).
    """

    def __init__(self, batch: RougeIdBatch, rows: np.ndarray, hyp_len: np.ndarray) -> None:
        self._batch, self._rows, self._hyp_len = batch, rows, hyp_len
        self._longest = int(hyp_len.max())
        self._past_end = np.arange(self._longest) - hyp_len[:, None]  # >= 0 past the end
        self._n = 0

    def overlap(self, n: int) -> np.ndarray | int:
        """``(B, K)`` clipped matches of the n-grams (0, which broadcasts, if none fits)."""
        length = self._longest - n + 1
        if length <= 0:
            return 0
        if self._n == 0 or n < self._n:
            self._start()
        while self._n < n:
            self._extend()
        ref_count = np.bitwise_count(self._ref[:, :, :length])  # (B, K, L)
        if self._hyp.dtype == np.uint64:
            rank = np.bitwise_count(self._hyp[:, :length] & _LOW[:length])  # (B, L)
        else:
            rank = np.count_nonzero(self._hyp[:, :length, :length] & _tril(length), axis=2)
        rank[self._past_end[:, :length] > -n] = _NEVER  # n-grams running past the hypothesis
        return np.count_nonzero(rank[:, None, :] <= ref_count, axis=2)

    def _start(self) -> None:
        batch, rows, longest = self._batch, self._rows, self._longest
        self._ref = batch._masks[rows, :, :longest]
        hyp = batch._hyp[rows, :longest]
        same = hyp[:, :, None] == hyp[:, None, :]  # (B, L, L); pads beyond a row are masked
        # Hypotheses up to 64 tokens: one word per position, like the reference side.
        self._hyp = same.astype(np.uint64) @ _POW2[:longest] if longest <= 64 else same
        self._n = 1

    def _extend(self) -> None:
        # Offsets 0..n-1 match at i, offsets 1..n match at i+1 (shifted back): 0..n match at i.
        one = np.uint64(1)
        self._ref = self._ref[:, :, :-1] & (self._ref[:, :, 1:] >> one)
        if self._hyp.dtype == np.uint64:
            self._hyp = self._hyp[:, :-1] & (self._hyp[:, 1:] >> one)
        else:
            self._hyp = self._hyp[:, :-1, :-1] & self._hyp[:, 1:, 1:]
        self._n += 1


def jit_available(jit: bool | None = None) -> bool:
    """Whether ``RougeIdBatch(jit=jit)`` runs compiled loops (``jit=True`` without numba raises)."""
    return _jit_module(jit) is not None


def _jit_module(jit: bool | None) -> ModuleType | None:
    """The compiled loops, or ``None`` for numpy; see ``RougeIdBatch(jit=...)``."""
    return load_jit(jit, "_rouge_ids_jit", "jit=True (compiled token-id ROUGE loops)")


def _tril(size: int) -> np.ndarray:
    return np.tri(size, dtype=np.bool_)


def _fmeasure(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """rouge-score's ``fmeasure`` elementwise, with the same float operations in order."""
    total = precision + recall
    out = np.zeros_like(total)
    return np.divide(2 * precision * recall, total, out=out, where=total > 0)


def rouge_ids_batch(
    token_map: RougeTokenMap,
    hypotheses: Sequence[Sequence[int]],
    references_list: Sequence[Sequence[str]],
    variants: Sequence[str] = ("rouge1", "rouge2", "rougeL"),
    jit: bool | None = None,
) -> dict[str, np.ndarray]:
    """ROUGE F-measures of hypotheses given as token ids (stateless convenience form).

    Equal to ``[metrics.rouge_scores(decode(ids), refs, variants) for ...]``, column-wise.

    Raises:
        ValueError: If a reference is longer than :data:`MAX_REFERENCE_TOKENS` tokens.
    """
    n = len(hypotheses)
    longest = max((len(h) for h in hypotheses), default=0)
    batch = RougeIdBatch(token_map, n, max(1, longest), variants, capacity=max(1, n), jit=jit)
    for slot, refs in enumerate(references_list):
        if not batch.store(slot, check_references(refs)):
            raise ValueError(f"a reference is longer than {MAX_REFERENCE_TOKENS} rouge tokens")
    rows = np.arange(n)
    batch.reset(rows, rows)
    ids = np.full((n, longest), -1, np.int64)
    for i, h in enumerate(hypotheses):
        ids[i, : len(h)] = h
    for t in range(longest):
        sel = ids[:, t] >= 0
        batch.append(rows[sel], ids[sel, t])
    return batch.scores(rows)
