"""ROUGE-1.5.5 (``flavor="rouge155"``) ROUGE-N / ROUGE-L of many hypotheses given as token ids.

The machinery of :mod:`textgym.metrics.rouge_ids` carries over: ROUGE-1.5.5's tokens are
ASCII alphanumeric runs, so for a word tokenizer whose pieces never start with a letter or a
digit the tokens of a decoded text are the concatenation of each id's tokens (stemmed with the
WordNet exceptions and the script's Porter variant, once per id). Only the scoring differs:
several references are combined as the script's ``-f A`` (hits and counts summed before
dividing) instead of taking the best F-measure, and F is ``P*R / (0.5*P + 0.5*R)``, with the
float operations of :func:`textgym.metrics.rouge155.rouge_prf`, so the values equal the string
function bit for bit (``tests/test_rouge155.py`` checks this through the vector env).

:class:`Rouge155IdBatch` takes metric names ``rouge155-1`` ... ``rouge155-9`` and
``rouge155-L`` (the reward names of :mod:`textgym.rewards.scorers`) or plain variants
``rouge1`` ... ``rougeL``. ``rouge155-Lsum`` depends on line breaks and has no kernel.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .ngram_ids import IdSymbolMap, word_pieces
from .rouge155 import _ref155, tokenize155
from .rouge_ids import RougeIdBatch, RougeTokenMap, _NgramMatches

_STARTS_ALNUM = re.compile(r"[A-Za-z0-9]")
_NAME = re.compile(r"rouge155-([1-9]|L)")


def _variant(name: str) -> str:
    """``rouge155-2`` -> ``rouge2``, ``rouge155-L`` -> ``rougeL``; plain variants unchanged."""
    m = _NAME.fullmatch(name)
    if m:
        return f"rouge{m.group(1)}"
    if name == "rouge155-Lsum":
        raise ValueError("rouge155-Lsum depends on sentence breaks; score it from text")
    return name


class Rouge155TokenMap(RougeTokenMap):
    """ROUGE-1.5.5 tokens of each token id of a word tokenizer, as integer types.

    Args:
        pieces: ``pieces[i]`` is the text token id ``i`` adds to a decoded text when it follows
            another token (see :class:`~textgym.metrics.rouge_ids.RougeTokenMap`).
        stem: The script's ``-m`` stemming.

    Raises:
        ValueError: If a piece starts with an ASCII letter or digit: it could then fuse with
            the previous piece into one token.
    """

    def __init__(self, pieces: Sequence[str], stem: bool = True) -> None:
        for i, piece in enumerate(pieces):
            if piece and _STARTS_ALNUM.match(piece):
                raise ValueError(
                    f"pieces[{i}]={piece!r} starts with a letter or digit; per-id tokens "
                    "would not concatenate to those of the decoded text"
                )
        self.stem = stem
        IdSymbolMap.__init__(self, [tokenize155(piece, stem) for piece in pieces])

    @classmethod
    def from_tokenizer(cls, tokenizer: object, stem: bool = True) -> Rouge155TokenMap | None:
        """The map for an embedded :class:`WordTokenizer`, else ``None`` (no id shortcut)."""
        pieces = word_pieces(tokenizer)
        if pieces is None:
            return None
        try:
            return cls(pieces, stem)
        except ValueError:
            return None

    def reference_tokens(self, text: str) -> list[str]:
        """ROUGE-1.5.5 tokens of a reference (cached with the string function's references)."""
        return _ref155(text, self.stem).tokens


class Rouge155IdBatch(RougeIdBatch):
    """ROUGE-1.5.5 state of ``num_rows`` growing hypotheses against their references.

    Same interface and state as :class:`~textgym.metrics.rouge_ids.RougeIdBatch` (whose
    appends and resets run compiled with ``jit``); :meth:`scores` combines the references
    as ROUGE-1.5.5 does, with numpy.

    Args:
        token_map: A :class:`Rouge155TokenMap`.
        num_rows: Number of hypotheses (envs).
        max_ids: Most token ids a hypothesis receives between two resets.
        names: ``rouge155-1`` ... ``rouge155-9``, ``rouge155-L`` or ``rouge1`` ... ``rougeL``.
        capacity: Number of reference-set slots.
        jit: As for :class:`~textgym.metrics.rouge_ids.RougeIdBatch`.
    """

    def __init__(
        self,
        token_map: Rouge155TokenMap,
        num_rows: int,
        max_ids: int,
        names: Sequence[str],
        capacity: int = 1,
        jit: bool | None = None,
    ) -> None:
        self._names = tuple(names)
        self._variant_of = {name: _variant(name) for name in self._names}
        super().__init__(
            token_map,
            num_rows,
            max_ids,
            tuple(dict.fromkeys(self._variant_of.values())),
            capacity=capacity,
            jit=jit,
        )

    @property
    def names(self) -> tuple[str, ...]:
        """The metric names :meth:`scores` returns."""
        return self._names

    def scores(self, rows: np.ndarray, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """ROUGE-1.5.5 F-measure of each name for ``rows``, references combined as ``-f A``.

        Equal bit for bit to ``metrics.rouge(decode(ids), refs, variant, flavor="rouge155")``.
        """
        names = self._names if names is None else tuple(names)
        if not len(rows):
            return {name: np.zeros(0) for name in names}
        hyp_len = self._hyp_len[rows]
        ref_len = self._ref_len[rows]  # (B, K), -1 for absent references
        present = ref_len >= 0
        num_refs = present.sum(axis=1)
        ngrams = None
        out: dict[str, np.ndarray] = {}
        for name in names:
            n = self._orders[self._variant_of[name]]
            if n == 0:
                matches = ref_len - np.bitwise_count(self._lcs_state[rows]).astype(np.int64)
            else:
                if ngrams is None:
                    ngrams = _NgramMatches(self, rows, hyp_len)
                matches = np.broadcast_to(ngrams.overlap(n), ref_len.shape)
            shift = max(n - 1, 0)
            hits = np.where(present, matches, 0).sum(axis=1).astype(np.float64)
            ref_total = np.where(present, np.maximum(ref_len - shift, 0), 0).sum(axis=1)
            hyp_total = np.maximum(hyp_len - shift, 0) * num_refs
            # rouge155._prf: hits / count (0 without a count), then P*R / (0.5*P + 0.5*R).
            recall = np.divide(hits, ref_total, out=np.zeros(len(rows)), where=ref_total > 0)
            precision = np.divide(hits, hyp_total, out=np.zeros(len(rows)), where=hyp_total > 0)
            denom = (1 - 0.5) * precision + 0.5 * recall
            numer = precision * recall
            out[name] = np.divide(numer, denom, out=np.zeros(len(rows)), where=denom > 0)
        return out
