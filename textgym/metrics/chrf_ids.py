"""Sentence chrF of many hypotheses given as token ids, equal to :func:`~.chrf.sentence_chrf`.

chrF counts character n-grams (orders 1-6) of the text with its whitespace removed, so they run
across word boundaries. Removing whitespace is a per-character filter, so the characters of a
decoded text are the concatenation of each id's piece without its whitespace, for any tokenizer
whose decode joins fixed pieces (:func:`~.ngram_ids.word_pieces`): :class:`ChrfCharMap` maps
each id to its characters, and :class:`~.ngram_ids.NgramIdBatch` counts the clipped n-gram
matches per reference as characters arrive. The score of each reference is computed with the
float64 operations of :func:`~.chrf.chrf_from_stats` in the same order (sacrebleu's effective
order, beta 2), and the best reference counts, so the values are equal to ``sentence_chrf``
bit for bit.

chrF++ (word n-grams) is not covered: its word tokeniser splits one trailing punctuation mark
off a whitespace word, so a word's tokens depend on the ids after it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .chrf import BETA, CHAR_ORDER
from .ngram_ids import IdSymbolMap, NgramIdBatch, score_id_lists, word_pieces

#: Longest reference, in characters without whitespace, :meth:`ChrfIdBatch.store` accepts.
MAX_REFERENCE_CHARS = 512


def _chars(text: str) -> list[str]:
    return list("".join(text.split()))


class ChrfCharMap(IdSymbolMap):
    """The characters (whitespace removed) each token id adds to a decoded text, as types.

    Args:
        pieces: ``pieces[i]`` is the text id ``i`` adds to a decoded text (see
            :func:`~.ngram_ids.word_pieces`).
    """

    def __init__(self, pieces: Sequence[str]) -> None:
        super().__init__([_chars(piece) for piece in pieces])

    @classmethod
    def from_tokenizer(cls, tokenizer: object) -> ChrfCharMap | None:
        """The map for an embedded word tokenizer, else ``None`` (score from text)."""
        pieces = word_pieces(tokenizer)
        return None if pieces is None else cls(pieces)


class ChrfIdBatch(NgramIdBatch):
    """Sentence chrF (0-100) of ``num_rows`` growing hypotheses, the best over their references.

    Args:
        char_map: Id -> character types.
        num_rows: Number of hypotheses (envs).
        capacity: Number of reference-set slots (see :meth:`store`).
        max_reference_chars: Longest reference :meth:`store` accepts.
        jit: Compiled loops (numba) or numpy; see :class:`~.ngram_ids.NgramIdBatch`.
    """

    #: The metric names :meth:`scores` returns.
    names = ("chrf",)

    def __init__(
        self,
        char_map: ChrfCharMap,
        num_rows: int,
        capacity: int = 1,
        max_reference_chars: int = MAX_REFERENCE_CHARS,
        jit: bool | None = None,
    ) -> None:
        super().__init__(
            char_map,
            num_rows,
            CHAR_ORDER,
            capacity=capacity,
            max_reference_symbols=max_reference_chars,
            jit=jit,
        )

    def reference_symbols(self, reference: str) -> list[str]:
        return _chars(reference)

    def scores(self, rows: np.ndarray, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """``{"chrf": values}`` of ``rows``, each equal to ``sentence_chrf(decode(ids), refs)``."""
        return {"chrf": self.chrf(rows)}

    def chrf(self, rows: np.ndarray) -> np.ndarray:
        """Sentence chrF (0-100) of ``rows``."""
        if not len(rows):
            return np.zeros(0)
        if self._jit is not None:
            out = np.empty(len(rows))
            self._jit.chrf(rows, self._hyp_len, self._ref_len, self._matches, BETA, out)
            return out
        size = self._hyp_len[rows][:, None]
        ref_size = self._ref_len[rows]  # (B, K), -1 for absent references
        matches = self._matches[rows]  # (B, orders, K)
        avg_prec = np.zeros(ref_size.shape)
        avg_rec = np.zeros(ref_size.shape)
        effective = np.zeros(ref_size.shape, np.int64)
        for n in range(CHAR_ORDER):
            hyp_n = np.maximum(size - n, 0)
            ref_n = np.maximum(ref_size - n, 0)
            # Orders missing on either side are skipped (sacrebleu's effective order).
            counted = (hyp_n > 0) & (ref_n > 0)
            match = matches[:, n]
            avg_prec = np.where(counted, avg_prec + match / np.maximum(hyp_n, 1), avg_prec)
            avg_rec = np.where(counted, avg_rec + match / np.maximum(ref_n, 1), avg_rec)
            effective += counted
        divisor = np.maximum(effective, 1)
        avg_prec = avg_prec / divisor
        avg_rec = avg_rec / divisor
        factor = BETA**2
        with np.errstate(divide="ignore", invalid="ignore"):
            score = (1 + factor) * avg_prec * avg_rec
            score = score / (factor * avg_prec + avg_rec)
        score = np.where((effective > 0) & (avg_prec + avg_rec != 0), 100 * score, 0.0)
        return np.where(ref_size >= 0, score, -np.inf).max(axis=1)


def sentence_chrf_ids(
    char_map: ChrfCharMap,
    hypotheses: Sequence[Sequence[int]],
    references_list: Sequence[Sequence[str]],
    jit: bool | None = None,
) -> np.ndarray:
    """Sentence chrF of hypotheses given as token ids (stateless convenience form).

    Equal to ``[sentence_chrf(decode(ids), refs) for ...]``.

    Raises:
        ValueError: If a reference is longer than :data:`MAX_REFERENCE_CHARS` characters.
    """
    batch = ChrfIdBatch(char_map, len(hypotheses), capacity=max(1, len(hypotheses)), jit=jit)
    return score_id_lists(batch, hypotheses, references_list)["chrf"]
