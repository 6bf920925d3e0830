"""Sentence BLEU of many hypotheses given as token ids, equal to :func:`~.bleu.sentence_bleu`.

For the embedded :class:`~textgym.tokenizers.embedded.WordTokenizer` the 13a tokens of a decoded
text are the concatenation of the 13a tokens of each id's piece, under conditions
:class:`BleuTokenMap` checks per vocabulary (below). Clipped n-gram matches then come from
:class:`~.ngram_ids.NgramIdBatch` (orders 1-4, counts merged over references as sacrebleu
merges them), and the score from those integer statistics with sacrebleu's formula: effective
order, "exp" smoothing, brevity penalty against the closest reference length.

Bit for bit: every ``math.log`` of the formula has integer arguments (matches, totals, the
smoothing step), so its values are tabulated once with ``math.log`` itself; the brevity penalty
likewise (``math.exp`` of an expression in the two lengths); the final ``math.exp`` of the
averaged log precision is called once per scored row. The sums and products between them are
the same float64 operations in the same order as :func:`~.bleu.bleu_from_stats`, so the
results equal :func:`~.bleu.sentence_bleu` (hence sacrebleu) exactly;
``tests/test_metrics_ngram_ids.py`` checks this with hypothesis.

Why per-id tokens add up (the conditions checked): a decoded text is its pieces joined, each
word or opening mark with one leading space, closing punctuation bare. 13a's rules look at one
character either side of a period, comma or dash and never across a space in a way that
changes the other side (a space is neither a digit nor ``.,-``), its rewrites
(``<skipped>``, ``-\\n``, XML entities) contain no space, so the text's tokens are those of its
space-separated chunks, each one spaced piece followed by bare pieces. A bare piece is then
required to be a single character that 13a always splits off: one of the punctuation marks it
isolates unconditionally, or a period or comma, which stays attached only between two digits
(a bare piece is never a digit). No piece may contain whitespace after its leading space, and no
piece alone or followed by a bare piece may hold a rewrite. A tokenizer with glued word pieces
(fitted on text with ``don't``: ``##t``) fails the check and is scored from text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._tokenize import _13A_ISOLATED, _normalise_13a, tokenize_13a
from .bleu import MAX_ORDER
from .ngram_ids import IdSymbolMap, NgramIdBatch, score_id_lists, word_pieces

#: Longest reference, in 13a tokens, :meth:`BleuIdBatch.store` accepts (longer: string path).
MAX_REFERENCE_TOKENS = 256
#: Bare pieces (no leading space) whose 13a token is always themselves, whatever surrounds them.
_BARE = frozenset(_13A_ISOLATED) | {".", ","}
_KEY = np.int64(1) << np.int64(32)  # closest reference length: |diff| * _KEY + length


class BleuTokenMap(IdSymbolMap):
    """13a tokens of each token id of a word tokenizer, as integer types.

    Args:
        pieces: ``pieces[i]`` is the text id ``i`` adds to a decoded text when it follows
            another token (see :func:`~.ngram_ids.word_pieces`).

    Raises:
        ValueError: If a piece breaks a condition under which per-id tokens concatenate to the
            tokens of the decoded text (see the module docstring).
    """

    def __init__(self, pieces: Sequence[str]) -> None:
        bare = set()
        for i, piece in enumerate(pieces):
            body = piece[1:] if piece[:1] == " " else piece
            if any(c.isspace() for c in body):
                raise ValueError(f"pieces[{i}]={piece!r} holds whitespace after its first space")
            if piece and piece[0] != " ":
                if piece not in _BARE:
                    raise ValueError(
                        f"pieces[{i}]={piece!r} follows the previous token without a space and "
                        "is not a mark 13a always splits off; per-id tokens would not "
                        "concatenate to those of the decoded text"
                    )
                bare.add(piece)
        for i, piece in enumerate(pieces):
            for tail in ("", *sorted(bare)):
                if _normalise_13a(piece + tail) != piece + tail:
                    raise ValueError(f"pieces[{i}]={piece!r} holds a 13a rewrite")
        super().__init__([tokenize_13a(piece) for piece in pieces])

    @classmethod
    def from_tokenizer(cls, tokenizer: object) -> BleuTokenMap | None:
        """The map for an embedded word tokenizer, else ``None`` (score from text)."""
        pieces = word_pieces(tokenizer)
        if pieces is None:
            return None
        try:
            return cls(pieces)
        except ValueError:
            return None


class BleuIdBatch(NgramIdBatch):
    """Sentence BLEU (0-100) of ``num_rows`` growing hypotheses against their references.

    Args:
        token_map: Id -> 13a token types.
        num_rows: Number of hypotheses (envs).
        capacity: Number of reference-set slots (see :meth:`store`).
        max_reference_tokens: Longest reference :meth:`store` accepts.
        jit: Compiled loops (numba) or numpy; see :class:`~.ngram_ids.NgramIdBatch`.
    """

    #: The metric names :meth:`scores` returns.
    names = ("bleu",)

    def __init__(
        self,
        token_map: BleuTokenMap,
        num_rows: int,
        capacity: int = 1,
        max_reference_tokens: int = MAX_REFERENCE_TOKENS,
        jit: bool | None = None,
    ) -> None:
        super().__init__(
            token_map,
            num_rows,
            MAX_ORDER,
            merged=True,
            capacity=capacity,
            max_reference_symbols=max_reference_tokens,
            jit=jit,
        )
        self._tables = _BleuTables()

    def reference_symbols(self, reference: str) -> list[str]:
        return tokenize_13a(reference)

    def scores(self, rows: np.ndarray, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """``{"bleu": values}`` of ``rows``, each equal to ``sentence_bleu(decode(ids), refs)``."""
        return {"bleu": self.bleu(rows)}

    def bleu(self, rows: np.ndarray) -> np.ndarray:
        """Sentence BLEU (0-100) of ``rows``."""
        if not len(rows):
            return np.zeros(0)
        if self._jit is not None:
            return self._bleu_jit(rows)
        hyp_len = self._hyp_len[rows]
        ref_lens = self._ref_len[rows]
        correct = self._matches[rows, :, 0]
        # Closest reference length, ties to the shorter one: the smallest (|diff|, length).
        key = np.abs(hyp_len[:, None] - ref_lens) * _KEY + ref_lens
        key[ref_lens < 0] = np.iinfo(np.int64).max
        ref_len = np.take_along_axis(ref_lens, key.argmin(axis=1)[:, None], axis=1)[:, 0]
        scored = np.flatnonzero(correct.any(axis=1))  # no match at all: 0.0
        out = np.zeros(len(rows))
        if not len(scored):
            return out
        hyp_len, ref_len, correct = hyp_len[scored], ref_len[scored], correct[scored]
        tables = self._tables
        tables.fit(int(hyp_len.max()), int(ref_len.max()))
        total = np.maximum(hyp_len[:, None] - np.arange(MAX_ORDER), 0)
        # Effective order: the orders with hypothesis n-grams.
        order = np.minimum(hyp_len, MAX_ORDER)
        zero = correct == 0
        # The k-th order without a match gets precision 1 / (2^k * total).
        smoothing = np.cumsum(zero, axis=1)
        term = np.where(zero, tables.smooth[smoothing, total], tables.precision[correct, total])
        log_sum = 0.0 + term[:, 0]
        for n in range(1, MAX_ORDER):
            log_sum = np.where(order > n, log_sum + term[:, n], log_sum)
        mean = log_sum / order
        brevity = np.where(hyp_len < ref_len, tables.brevity[hyp_len, ref_len], 1.0)
        exps = np.fromiter(map(math.exp, mean.tolist()), np.float64, count=len(mean))
        out[scored] = brevity * exps
        return out

    def _bleu_jit(self, rows: np.ndarray) -> np.ndarray:
        mean = np.empty(len(rows))
        penalty = np.empty(len(rows))
        tables = self._tables
        args = (rows, self._hyp_len, self._ref_len, self._matches)
        while not self._jit.bleu_terms(  # type: ignore[union-attr]
            *args, tables.precision, tables.smooth, tables.brevity, mean, penalty
        ):
            tables.fit(int(self._hyp_len[rows].max()), int(self._ref_len[rows].max()))
        out = np.zeros(len(rows))
        scored = np.flatnonzero(~np.isnan(mean))
        # math.exp, as bleu_from_stats calls it (see the module docstring).
        exps = np.fromiter(map(math.exp, mean[scored].tolist()), np.float64, count=len(scored))
        out[scored] = penalty[scored] * exps
        return out


class _BleuTables:
    """``math.log`` / ``math.exp`` values of BLEU's integer-argument terms, grown on demand.

    ``precision[c, t] = log(100 * c / t)``, ``smooth[k, t] = log(100 / (2^k * t))`` and
    ``brevity[h, r] = exp(1 - r / h)``, each evaluated with the expression of
    :func:`~.bleu.bleu_from_stats` so the values are the ones it computes.
    """

    def __init__(self) -> None:
        self._hyp = self._ref = -1
        self.precision = self.smooth = self.brevity = np.zeros((0, 0))

    def fit(self, hyp_max: int, ref_max: int) -> None:
        if hyp_max <= self._hyp and ref_max <= self._ref:
            return
        # Doubling keeps the rebuilds few as longer hypotheses show up.
        hyp = max(hyp_max, 2 * self._hyp, 32)
        ref = max(ref_max, self._ref, hyp)
        self.precision = np.array(
            [[math.log(100.0 * c / t) if 0 < c <= t else 0.0 for t in range(hyp + 1)]
             for c in range(hyp + 1)]
        )  # fmt: skip
        rows = []
        for k in range(MAX_ORDER + 1):
            smooth = 2.0**k  # bleu_from_stats doubles a float from 1.0: exact powers of two
            rows.append([math.log(100.0 / (smooth * t)) if t else 0.0 for t in range(hyp + 1)])
        self.smooth = np.array(rows)
        self.brevity = np.array(
            [[math.exp(1 - r / h) if 0 < h < r else 1.0 for r in range(ref + 1)]
             for h in range(hyp + 1)]
        )  # fmt: skip
        self._hyp, self._ref = hyp, ref


def sentence_bleu_ids(
    token_map: BleuTokenMap,
    hypotheses: Sequence[Sequence[int]],
    references_list: Sequence[Sequence[str]],
    jit: bool | None = None,
) -> np.ndarray:
    """Sentence BLEU of hypotheses given as token ids (stateless convenience form).

    Equal to ``[sentence_bleu(decode(ids), refs) for ...]``.

    Raises:
        ValueError: If a reference is longer than :data:`MAX_REFERENCE_TOKENS` tokens.
    """
    batch = BleuIdBatch(token_map, len(hypotheses), capacity=max(1, len(hypotheses)), jit=jit)
    return score_id_lists(batch, hypotheses, references_list)["bleu"]
