"""Content-word ROUGE-L of many growing hypotheses given as token ids, bit for bit.

The native vector env scores ``"rougeL*content"`` rewards from token ids: ROUGE-L with
:class:`textgym.metrics.rouge_ids.RougeIdBatch`, the content factor here. Each id of the
embedded word tokenizer maps to at most one content token (lowercase ``[a-z0-9]+``, not a
template word), so a hypothesis's content tokens are the concatenation of its ids' tokens.
The LCS against each reference's content tokens is kept as a 64-bit bit-parallel row (as
in the ROUGE kernel), so an appended token costs a few word operations for all rows at once,
and the F-measure is computed with the same float operations as
:func:`textgym.metrics.content.lcs_f1`, so the values are equal bit for bit. With numba (the
``fast`` extra) appends, resets and scores run as compiled loops (``_content_ids_jit``), with
the same results.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .content import content_tokens
from .ngram_ids import gather_references, load_jit, scatter_references, word_pieces

#: Longest reference, in content tokens, that fits the 64-bit LCS row; longer ones are scored
#: on the string path (:meth:`ContentIdBatch.store` returns ``False``).
MAX_REFERENCE_TOKENS = 64

_ALNUM = re.compile(r"[a-z0-9]")
_NO_TYPE = -1  # an id that adds no content token
_REF_PAD = -2  # reference padding; never equal to a hypothesis type


class ContentIdBatch:
    """Content-word LCS state of ``num_rows`` hypotheses against their references.

    Args:
        pieces: ``pieces[i]`` is the text token id ``i`` adds to a decoded text (see
            :class:`~textgym.metrics.rouge_ids.RougeTokenMap`).
        template_words: The words the metric ignores (normalised).
        num_rows: Number of hypotheses (envs).
        capacity: Number of reference-set slots (see :meth:`store`).
        jit: Compiled loops (numba) instead of numpy calls; the results are the same bit for
            bit. ``None`` (default): when numba is installed; ``True`` without it raises.

    Raises:
        ValueError: If a piece starts with a letter or digit (it could fuse with the previous
            piece into one token) or adds more than one content token.
    """

    def __init__(
        self,
        pieces: Sequence[str],
        template_words: frozenset[str],
        num_rows: int,
        capacity: int = 1,
        jit: bool | None = None,
    ) -> None:
        self._jit = load_jit(jit, "_content_ids_jit", "jit=True (compiled content-word loops)")
        self.template_words = frozenset(template_words)
        self.types: dict[str, int] = {}
        id_type = np.full(len(pieces), _NO_TYPE, np.int64)
        for i, piece in enumerate(pieces):
            if piece and _ALNUM.match(piece.lower()):
                raise ValueError(f"pieces[{i}]={piece!r} starts with a letter or digit")
            tokens = content_tokens(piece, self.template_words)
            if len(tokens) > 1:
                raise ValueError(f"pieces[{i}]={piece!r} adds {len(tokens)} content tokens")
            if tokens:
                id_type[i] = self.types.setdefault(tokens[0], len(self.types))
        self.id_type = id_type
        n = num_rows
        # Each row keeps a copy of its references' types: the env may store another sample in
        # a slot while a row still plays the one stored there before.
        self._row_types = np.full((n, 1, 1), _REF_PAD, np.int64)
        self._hyp_len = np.zeros(n, np.int64)
        self._ref_len = np.full((n, 1), -1, np.int64)
        self._state = np.zeros((n, 1), np.uint64)
        self._full = np.zeros((n, 1), np.uint64)
        self._slot_types = np.full((capacity, 1, 1), _REF_PAD, np.int64)
        self._slot_len = np.full((capacity, 1), -1, np.int64)
        self._bits = np.left_shift(np.uint64(1), np.arange(1, dtype=np.uint64))

    #: The metric names :meth:`scores` returns (``rewards.content.CONTENT``).
    names = ("content",)

    @classmethod
    def from_tokenizer(
        cls,
        tokenizer: object,
        template_words: frozenset[str],
        num_rows: int,
        capacity: int = 1,
        jit: bool | None = None,
    ) -> ContentIdBatch | None:
        """The batch for an embedded :class:`WordTokenizer`, else ``None`` (string path)."""
        pieces = word_pieces(tokenizer)
        if pieces is None:
            return None
        try:
            return cls(pieces, template_words, num_rows, capacity, jit=jit)
        except ValueError:
            return None

    @property
    def jit(self) -> bool:
        """Whether the compiled loops are used."""
        return self._jit is not None

    def store(
        self,
        slot: int,
        references: Sequence[str],
        reference_ids: Sequence[Sequence[int] | np.ndarray | None] | None = None,
    ) -> bool:
        """Store the content tokens of one sample's references in ``slot``.

        Args:
            slot: The slot to fill.
            references: The sample's references.
            reference_ids: Optional, per reference: token ids that decode to exactly that
                reference, or ``None``; its content tokens are then those of the ids.

        Returns:
            ``False`` (storing nothing) if a reference has more than
            :data:`MAX_REFERENCE_TOKENS` content tokens.
        """
        refs: list[Any] = []
        for k, reference in enumerate(references):
            ids = None if reference_ids is None else reference_ids[k]
            if ids is None:
                # A token no id produces can never match: it gets the pad, which no type
                # equals.
                tokens = content_tokens(reference, self.template_words)
                refs.append([self.types.get(t, _REF_PAD) for t in tokens])
            else:
                types = self.id_type[np.asarray(ids, dtype=np.int64)]
                refs.append(types[types != _NO_TYPE])
        if any(len(r) > MAX_REFERENCE_TOKENS for r in refs):
            return False
        k, width = len(refs), max(1, max(map(len, refs), default=1))
        if k > self._slot_len.shape[1] or width > self._slot_types.shape[2]:
            self._widen(max(k, self._slot_len.shape[1]), max(width, self._slot_types.shape[2]))
        self._slot_len[slot] = -1
        self._slot_types[slot] = _REF_PAD
        for j, ref in enumerate(refs):
            self._slot_len[slot, j] = len(ref)
            self._slot_types[slot, j, : len(ref)] = ref
        return True

    def store_many(
        self, slots: np.ndarray, reference_ids: Sequence[Sequence[np.ndarray]]
    ) -> np.ndarray:
        """:meth:`store` of several samples, each reference given by its ids: the same arrays
        as storing each in turn, and ``ok[i]`` as ``store`` returns for sample ``i``."""
        batch = gather_references(
            self.id_type, _NO_TYPE, slots, reference_ids, MAX_REFERENCE_TOKENS
        )
        if len(batch.lengths):
            k, width = int(batch.ref.max()) + 1, max(1, int(batch.lengths.max()))
            if k > self._slot_len.shape[1] or width > self._slot_types.shape[2]:
                self._widen(max(k, self._slot_len.shape[1]), max(width, self._slot_types.shape[2]))
        stored = np.asarray(slots, dtype=np.intp)[batch.ok]
        self._slot_len[stored] = -1
        self._slot_types[stored] = _REF_PAD
        self._slot_len[batch.slots, batch.ref] = batch.lengths
        scatter_references(self._slot_types, batch)
        return batch.ok

    def _widen(self, num_refs: int, width: int) -> None:
        k, w = self._slot_len.shape[1], self._slot_types.shape[2]
        for name in ("_slot_types", "_row_types"):
            old = getattr(self, name)
            new = np.full((old.shape[0], num_refs, width), _REF_PAD, np.int64)
            new[:, :k, :w] = old
            setattr(self, name, new)
        for name, fill, dtype in (
            ("_slot_len", -1, np.int64),
            ("_ref_len", -1, np.int64),
            ("_state", 0, np.uint64),
            ("_full", 0, np.uint64),
        ):
            old = getattr(self, name)
            new = np.full((old.shape[0], num_refs), fill, dtype)
            new[:, :k] = old
            setattr(self, name, new)
        self._bits = np.left_shift(np.uint64(1), np.arange(width, dtype=np.uint64))

    def reset(self, rows: np.ndarray, slots: np.ndarray) -> None:
        """Empty the hypotheses of ``rows`` and give them the references stored in ``slots``."""
        if not len(rows):
            return
        if self._jit is not None:
            self._jit.reset(
                rows, slots, self._slot_types, self._slot_len, self._row_types, self._ref_len,
                self._full, self._state, self._hyp_len,
            )  # fmt: skip
            return
        self._row_types[rows] = self._slot_types[slots]
        lengths = self._slot_len[slots]
        self._ref_len[rows] = lengths
        # All ones over the reference's positions: no position matched yet (LCS 0).
        full = np.where(
            lengths > 0,
            np.left_shift(np.uint64(1), np.maximum(lengths, 0).astype(np.uint64)) - np.uint64(1),
            np.uint64(0),
        )
        full = np.where(lengths >= 64, np.uint64(0xFFFFFFFFFFFFFFFF), full)
        self._full[rows] = full
        self._state[rows] = full
        self._hyp_len[rows] = 0

    def append(self, rows: np.ndarray, ids: np.ndarray) -> None:
        """Append token ``ids[b]`` to the hypothesis of ``rows[b]`` (a row appears once)."""
        if self._jit is not None:
            self._jit.append(
                rows, ids, self.id_type, self._row_types, self._ref_len, self._state,
                self._full, self._hyp_len,
            )  # fmt: skip
            return
        types = self.id_type[ids]
        content = types != _NO_TYPE
        rows, types = rows[content], types[content]
        if not len(rows):
            return
        self._hyp_len[rows] += 1
        refs = self._row_types[rows]  # (B, K, W)
        match = np.where(refs == types[:, None, None], self._bits, np.uint64(0)).sum(
            axis=2, dtype=np.uint64
        )
        state = self._state[rows]
        u = state & match
        self._state[rows] = ((state + u) | (state - u)) & self._full[rows]

    def scores(self, rows: np.ndarray, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """``{"content": values}`` of ``rows`` (see :meth:`content`)."""
        return {"content": self.content(rows)}

    def content(self, rows: np.ndarray) -> np.ndarray:
        """Content-word ROUGE-L F1 of ``rows``, the best over each row's references; equal
        bit for bit to :func:`~textgym.metrics.content.content_rouge_l` of the decoded text."""
        if not len(rows):
            return np.zeros(0)
        if self._jit is not None:
            out = np.empty(len(rows))
            self._jit.scores(rows, self._hyp_len, self._ref_len, self._state, out)
            return out
        hyp = self._hyp_len[rows][:, None].astype(np.float64)
        ref_len = self._ref_len[rows]
        lcs = (ref_len - np.bitwise_count(self._state[rows])).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = lcs / hyp
            recall = lcs / ref_len
            f = 2 * precision * recall / (precision + recall)
        f = np.where(lcs > 0, f, 0.0)
        f = np.where(hyp == 0, 0.0, f)
        f = np.where(ref_len == 0, 1.0, f)
        f = np.where(ref_len < 0, -np.inf, f)
        return f.max(axis=1)
