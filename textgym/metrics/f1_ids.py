"""SQuAD token F1 of many hypotheses given as token ids, equal to :func:`~.f1.token_f1`.

SQuAD normalisation lowercases, deletes ASCII punctuation, drops the articles "a", "an", "the"
and splits on whitespace. For the embedded :class:`~textgym.tokenizers.embedded.WordTokenizer`
the normalised tokens of a decoded text are the concatenation of those of each id's piece when
every piece either starts with whitespace or is deleted whole (closing punctuation), which
:class:`F1TokenMap` checks per vocabulary: then the deleted pieces vanish and what remains is
whitespace-separated pieces, so no token, article boundary (``\\b``) or lowercasing context
(Greek final sigma: punctuation is case-ignorable, a space is not) spans two pieces. A
tokenizer with glued word pieces (``##t``) fails the check and is scored from text.

Token F1 is the F1 of the two token multisets: the clipped unigram matches per reference come
from :class:`~.ngram_ids.NgramIdBatch`, and the F-measure is computed with the float64
operations of :func:`~.f1.f1_from_counts` in the same order, so the values are equal bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._tokenize import _PUNCT_DELETE, tokenize_squad
from .ngram_ids import IdSymbolMap, NgramIdBatch, score_id_lists, word_pieces

#: Longest reference, in normalised tokens, :meth:`F1IdBatch.store` accepts.
MAX_REFERENCE_TOKENS = 256


class F1TokenMap(IdSymbolMap):
    """SQuAD-normalised tokens of each token id of a word tokenizer, as integer types.

    Args:
        pieces: ``pieces[i]`` is the text id ``i`` adds to a decoded text when it follows
            another token (see :func:`~.ngram_ids.word_pieces`).

    Raises:
        ValueError: If a piece neither starts with whitespace nor is deleted whole by the
            normalisation (it would glue to the previous token).
    """

    def __init__(self, pieces: Sequence[str]) -> None:
        for i, piece in enumerate(pieces):
            if piece and not piece[0].isspace() and piece.translate(_PUNCT_DELETE):
                raise ValueError(
                    f"pieces[{i}]={piece!r} follows the previous token without a space and is "
                    "not all punctuation; per-id tokens would not concatenate to those of the "
                    "decoded text"
                )
        super().__init__([tokenize_squad(piece) for piece in pieces])

    @classmethod
    def from_tokenizer(cls, tokenizer: object) -> F1TokenMap | None:
        """The map for an embedded word tokenizer, else ``None`` (score from text)."""
        pieces = word_pieces(tokenizer)
        if pieces is None:
            return None
        try:
            return cls(pieces)
        except ValueError:
            return None


class F1IdBatch(NgramIdBatch):
    """SQuAD token F1 of ``num_rows`` growing hypotheses, the best over their references.

    Args:
        token_map: Id -> normalised token types.
        num_rows: Number of hypotheses (envs).
        capacity: Number of reference-set slots (see :meth:`store`).
        max_reference_tokens: Longest reference :meth:`store` accepts.
        jit: Compiled loops (numba) or numpy; see :class:`~.ngram_ids.NgramIdBatch`.
    """

    #: The metric names :meth:`scores` returns.
    names = ("f1",)

    def __init__(
        self,
        token_map: F1TokenMap,
        num_rows: int,
        capacity: int = 1,
        max_reference_tokens: int = MAX_REFERENCE_TOKENS,
        jit: bool | None = None,
    ) -> None:
        super().__init__(
            token_map,
            num_rows,
            1,
            capacity=capacity,
            max_reference_symbols=max_reference_tokens,
            jit=jit,
        )

    def reference_symbols(self, reference: str) -> list[str]:
        return tokenize_squad(reference)

    def scores(self, rows: np.ndarray, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """``{"f1": values}`` of ``rows``, each equal to ``token_f1(decode(ids), refs)``."""
        return {"f1": self.f1(rows)}

    def f1(self, rows: np.ndarray) -> np.ndarray:
        """Token F1 (0-1) of ``rows``."""
        if not len(rows):
            return np.zeros(0)
        if self._jit is not None:
            out = np.empty(len(rows))
            self._jit.f1(rows, self._hyp_len, self._ref_len, self._matches, out)
            return out
        hyp = self._hyp_len[rows][:, None]
        ref = self._ref_len[rows]  # (B, K), -1 for absent references
        common = self._matches[rows, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = common / hyp
            recall = common / ref
            f = 2 * precision * recall / (precision + recall)
        f = np.where(common == 0, 0.0, f)
        # Either side empty: 1.0 if both are (the SQuAD v2 convention), else 0.0.
        f = np.where((hyp == 0) | (ref == 0), (hyp == ref).astype(np.float64), f)
        f = np.where(ref < 0, -np.inf, f)
        # token_f1 starts its maximum from 0.0.
        return np.maximum(f.max(axis=1), 0.0)


def token_f1_ids(
    token_map: F1TokenMap,
    hypotheses: Sequence[Sequence[int]],
    references_list: Sequence[Sequence[str]],
    jit: bool | None = None,
) -> np.ndarray:
    """Token F1 of hypotheses given as token ids (stateless convenience form).

    Equal to ``[token_f1(decode(ids), refs) for ...]``.

    Raises:
        ValueError: If a reference is longer than :data:`MAX_REFERENCE_TOKENS` tokens.
    """
    batch = F1IdBatch(token_map, len(hypotheses), capacity=max(1, len(hypotheses)), jit=jit)
    return score_id_lists(batch, hypotheses, references_list)["f1"]
