"""Incremental scorers for dense rewards.

Each scorer is created once per episode with the references and then fed the *full* current
hypothesis after every step; :meth:`update` returns exactly what the plain function returns
for that text. When the new text extends the previous one (the usual case: one more token
piece), only the tail after the last final token boundary is re-tokenised and only the n-grams
touching the changed tokens are updated. Any other text (edits, deletions, a new start) is
handled by rolling back to the divergence point, so results are exact for any sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from ._stream import (
    WHITESPACE_CUT,
    MergedNgramTable,
    NgramTable,
    TokenStream,
    build_index,
    common_prefix_len,
    memoize_tokenizer,
)
from ._tokenize import (
    SAFE_CUT_13A,
    tokenize_13a,
    tokenize_13a_chunk,
    tokenize_rouge,
    tokenize_squad,
)
from ._validate import check_hypothesis, check_references
from .bleu import MAX_ORDER, bleu_from_stats, bleu_ref_stats, closest_ref_length
from .chrf import CHAR_ORDER, chrf_from_stats, chrf_ref, chrf_words
from .f1 import f1_from_counts
from .rouge import check_variant, fmeasure, rouge_ref, rouge_scores
from .rouge155 import check_flavor
from .ter import sentence_ter

# Tokenisers used on the changing tail of a hypothesis; the same words recur constantly.
_CHUNK_13A = memoize_tokenizer(tokenize_13a_chunk)
_TAIL_13A = memoize_tokenizer(tokenize_13a)
_ROUGE_STEMMED = memoize_tokenizer(lambda text: tokenize_rouge(text, True))
_ROUGE_PLAIN = memoize_tokenizer(lambda text: tokenize_rouge(text, False))
_SQUAD = memoize_tokenizer(tokenize_squad)
_CHRF_WORDS = memoize_tokenizer(chrf_words)
MEMOIZED_TOKENIZERS = (_CHUNK_13A, _TAIL_13A, _ROUGE_STEMMED, _ROUGE_PLAIN, _SQUAD, _CHRF_WORDS)


class IncrementalScorer:
    """Base class: ``update(text) -> score`` of the full text; ``reset()`` for a new episode."""

    _score: float  # set by each subclass's reset() and update()

    def update(self, text: str) -> float:
        """Score the full current hypothesis ``text`` (not just the appended piece)."""
        raise NotImplementedError

    def reset(self) -> None:
        """Return to the state of an empty hypothesis, keeping the reference statistics."""
        raise NotImplementedError

    @property
    def score(self) -> float:
        """Score of the last text passed to :meth:`update` (of "" before the first call)."""
        return self._score


class IncrementalBLEU(IncrementalScorer):
    """Sentence BLEU of a growing hypothesis; equals :func:`sentence_bleu` after each update.

    Args:
        references: One or more reference strings.
    """

    def __init__(self, references: Sequence[str]):
        refs = check_references(references)
        self._ref_lengths = bleu_ref_stats(refs).lengths
        self._index = _bleu_index(refs)
        self.reset()

    def reset(self) -> None:
        """Forget the hypothesis; see :class:`IncrementalScorer`."""
        self._stream = TokenStream(SAFE_CUT_13A, _CHUNK_13A, _TAIL_13A)
        self._table = MergedNgramTable(self._index, range(1, MAX_ORDER + 1))
        self._score = self._compute()

    def _compute(self) -> float:
        size = len(self._table.seq)
        # Negative totals of too-short hypotheses are treated as 0 by bleu_from_stats.
        return bleu_from_stats(
            self._table.matched[0],
            (size, size - 1, size - 2, size - 3),
            size,
            closest_ref_length(size, self._ref_lengths),
        )

    def update(self, text: str) -> float:
        """Score the full current hypothesis ``text``; see :class:`IncrementalScorer`."""
        if type(text) is not str:
            check_hypothesis(text, "text")
        self._table.replace(*self._stream.update(text))
        self._score = self._compute()
        return self._score


@lru_cache(maxsize=1024)
def _bleu_index(refs: tuple[str, ...]) -> dict:
    # Shared by every scorer of the same reference set (e.g. one per env in a vector env).
    index = {}
    for table in bleu_ref_stats(refs).ngrams:
        for gram, count in table.items():
            index[gram if type(gram) is tuple else (gram,)] = count
    return index


class IncrementalChrF(IncrementalScorer):
    """chrF / chrF++ of a growing hypothesis; equals :func:`sentence_chrf` after each update.

    Args:
        references: One or more reference strings (the best-scoring one counts).
        word_order: 0 for chrF, 2 for chrF++.
    """

    def __init__(self, references: Sequence[str], word_order: int = 0):
        refs = check_references(references)
        if not isinstance(word_order, int) or word_order < 0:
            raise ValueError(f"`word_order` must be a non-negative int, got {word_order!r}")
        self._word_order = word_order
        stats = [chrf_ref(ref, word_order) for ref in refs]
        self._ref_totals = [s.totals for s in stats]
        self._char_index = build_index([s.counts[:CHAR_ORDER] for s in stats], as_tuple=False)
        self._word_index = build_index([s.counts[CHAR_ORDER:] for s in stats], as_tuple=True)
        self.reset()

    def reset(self) -> None:
        """Forget the hypothesis; see :class:`IncrementalScorer`."""
        n_refs = len(self._ref_totals)
        self._text = ""
        self._chars = NgramTable(self._char_index, n_refs, range(1, CHAR_ORDER + 1), False)
        self._words = NgramTable(self._word_index, n_refs, range(1, self._word_order + 1), True)
        self._stream = TokenStream(WHITESPACE_CUT, _CHRF_WORDS, _CHRF_WORDS)
        self._score = self._compute()

    def _compute(self) -> float:
        n_chars = len(self._chars)
        hyp_totals = [max(0, n_chars - n) for n in range(CHAR_ORDER)]
        n_words = len(self._words)
        hyp_totals += [max(0, n_words - n) for n in range(self._word_order)]
        best = -1.0
        for k, ref_totals in enumerate(self._ref_totals):
            n_hyp = [h if r else 0 for h, r in zip(hyp_totals, ref_totals, strict=False)]
            matched = self._chars.matched[k] + self._words.matched[k]
            score = chrf_from_stats(n_hyp, ref_totals, matched)
            if score > best:
                best = score
        return best

    def update(self, text: str) -> float:
        """Score the full current hypothesis ``text``; see :class:`IncrementalScorer`."""
        check_hypothesis(text, "text")
        prev = self._text
        # Whitespace removal is per character, so the whitespace-free string of the common
        # raw prefix is a prefix of the new whitespace-free string.
        lcp = len(prev) if text.startswith(prev) else common_prefix_len(prev, text)
        keep = len(self._chars) if lcp == len(prev) else len("".join(text[:lcp].split()))
        self._chars.replace(keep, "".join(text[lcp:].split()))
        self._text = text
        if self._word_order:
            self._words.replace(*self._stream.update(text))
        self._score = self._compute()
        return self._score


class IncrementalTokenF1(IncrementalScorer):
    """SQuAD token F1 of a growing hypothesis; equals :func:`token_f1` after each update.

    Args:
        references: One or more reference strings.
    """

    def __init__(self, references: Sequence[str]):
        refs = [tokenize_squad(ref) for ref in check_references(references)]
        self._ref_lengths = [len(r) for r in refs]
        counts = []
        for tokens in refs:
            table: dict = {}
            for tok in tokens:
                table[tok] = table.get(tok, 0) + 1
            counts.append([table])
        self._index = build_index(counts, as_tuple=True)
        self.reset()

    def reset(self) -> None:
        """Forget the hypothesis; see :class:`IncrementalScorer`."""
        self._stream = TokenStream(WHITESPACE_CUT, _SQUAD, _SQUAD)
        self._table = NgramTable(self._index, len(self._ref_lengths), (1,), as_tuple=True)
        self._score = self._compute()

    def _compute(self) -> float:
        size = len(self._table)
        return max(
            f1_from_counts(m[0], size, ref_len)
            for m, ref_len in zip(self._table.matched, self._ref_lengths, strict=False)
        )

    def update(self, text: str) -> float:
        """Score the full current hypothesis ``text``; see :class:`IncrementalScorer`."""
        self._table.replace(*self._stream.update(check_hypothesis(text, "text")))
        self._score = self._compute()
        return self._score


class IncrementalRouge(IncrementalScorer):
    """ROUGE F-measure of a growing hypothesis; equals :func:`rouge` after each update.

    ROUGE-N keeps n-gram match counts; ROUGE-L keeps one bit-parallel LCS row per hypothesis
    token and reference, so a new token costs one big-int row step per reference. ROUGE-Lsum
    depends on sentence structure and is re-scored from scratch (still exact), and so is the
    ``"rouge155"`` flavor (its references are pooled, as the perl script's ``-f A``, which the
    per-reference rows here do not model).

    Args:
        references: One or more reference strings.
        variant: rouge1..rouge9, rougeL or rougeLsum.
        stem: Apply the Porter stemmer to tokens longer than 3 characters.
        flavor: ``"rouge-score"`` or ``"rouge155"``, as for :func:`rouge`.
    """

    def __init__(
        self,
        references: Sequence[str],
        variant: str = "rougeL",
        stem: bool = True,
        flavor: str = "rouge-score",
    ):
        self._refs = check_references(references)
        self._variant = check_variant(variant)
        self._stem = stem
        self._flavor = check_flavor(flavor)
        self._ref_data = [rouge_ref(ref, stem) for ref in self._refs]
        if variant not in ("rougeL", "rougeLsum"):
            self._n = int(variant[5:])
            self._index = build_index([[r.ngrams(self._n)] for r in self._ref_data], True)
        self.reset()

    def reset(self) -> None:
        """Forget the hypothesis; see :class:`IncrementalScorer`."""
        tok = _ROUGE_STEMMED if self._stem else _ROUGE_PLAIN
        self._stream = TokenStream(WHITESPACE_CUT, tok, tok)
        self._tokens: list[str] = []
        if self._variant == "rougeL":
            self._fulls = [(1 << len(r.tokens)) - 1 for r in self._ref_data]
            # _rows[i][k]: LCS bit vector against reference k after i hypothesis tokens.
            self._rows = [list(self._fulls)]
        elif self._variant != "rougeLsum":
            self._table = NgramTable(self._index, len(self._ref_data), (self._n,), True)
        self._score = 0.0

    def update(self, text: str) -> float:
        """Score the full current hypothesis ``text``; see :class:`IncrementalScorer`."""
        check_hypothesis(text, "text")
        if self._flavor != "rouge-score" or self._variant == "rougeLsum":
            scores = rouge_scores(text, self._refs, (self._variant,), self._stem, self._flavor)
            self._score = scores[self._variant]
            return self._score
        keep, suffix = self._stream.update(text)
        if self._variant == "rougeL":
            self._score = self._update_lcs(keep, suffix)
        else:
            table = self._table
            table.replace(keep, suffix)
            n = self._n
            hyp_total = max(0, len(table) - n + 1)
            best = 0.0
            for k, ref in enumerate(self._ref_data):
                overlap = table.matched[k][0]
                ref_total = max(0, len(ref.tokens) - n + 1)
                score = fmeasure(overlap / max(hyp_total, 1), overlap / max(ref_total, 1))
                best = max(best, score)
            self._score = best
        return self._score

    def _update_lcs(self, keep: int, suffix: list[str]) -> float:
        tokens = self._tokens
        old = tokens[keep:]
        j = 0
        limit = min(len(old), len(suffix))
        while j < limit and old[j] == suffix[j]:
            j += 1
        pos = keep + j
        rows = self._rows
        del rows[pos + 1 :]
        del tokens[pos:]
        fulls = self._fulls
        refs = self._ref_data
        for tok in suffix[j:]:
            tokens.append(tok)
            prev = rows[-1]
            row = []
            for k, ref in enumerate(refs):
                state = prev[k]
                match = ref.masks.get(tok)
                if match is not None:
                    u = state & match
                    state = ((state + u) | (state - u)) & fulls[k]
                row.append(state)
            rows.append(row)
        size = len(tokens)
        if not size:
            return 0.0
        best = 0.0
        for k, ref in enumerate(refs):
            ref_len = len(ref.tokens)
            if ref_len:
                lcs = ref_len - rows[-1][k].bit_count()
                best = max(best, fmeasure(lcs / size, lcs / ref_len))
        return best


class RescoringScorer(IncrementalScorer):
    """Exact fallback for metrics without an incremental form: rescores the full text.

    Used for TER, whose greedy shift search has no cheap update rule. Repeated texts are
    not rescored.

    Args:
        score_fn: ``score_fn(hypothesis, references) -> float``.
        references: One or more reference strings.
    """

    def __init__(self, score_fn: Callable[[str, Sequence[str]], float], references: Sequence[str]):
        self._fn = score_fn
        self._refs = check_references(references)
        self.reset()

    def reset(self) -> None:
        """Forget the hypothesis; see :class:`IncrementalScorer`."""
        self._text = ""
        self._score = self._fn("", self._refs)

    def update(self, text: str) -> float:
        """Score the full current hypothesis ``text``; see :class:`IncrementalScorer`."""
        check_hypothesis(text, "text")
        if text != self._text:
            self._text = text
            self._score = self._fn(text, self._refs)
        return self._score


_FACTORIES = {
    "bleu": lambda refs, **kw: IncrementalBLEU(refs, **kw),
    "chrf": lambda refs, **kw: IncrementalChrF(refs, **kw),
    "chrf++": lambda refs, **kw: IncrementalChrF(refs, word_order=2, **kw),
    "ter": lambda refs, **kw: RescoringScorer(sentence_ter, refs, **kw),
    "token_f1": lambda refs, **kw: IncrementalTokenF1(refs, **kw),
    "f1": lambda refs, **kw: IncrementalTokenF1(refs, **kw),
}


def incremental(metric_name: str, references: Sequence[str], **kwargs) -> IncrementalScorer:
    """Create an incremental scorer by metric name.

    Args:
        metric_name: "bleu", "chrf", "chrf++", "token_f1" (alias "f1"), a ROUGE variant
            ("rouge1".."rouge9", "rougeL", "rougeLsum"), or "ter" (exact but rescored in full
            on every update).
        references: One or more reference strings.
        **kwargs: Extra options of the scorer class (``word_order`` for chrF, ``stem`` and
            ``flavor`` for ROUGE).

    Returns:
        A fresh :class:`IncrementalScorer`.

    Raises:
        ValueError: If the metric name is unknown.
    """
    factory = _FACTORIES.get(metric_name)
    if factory is not None:
        return factory(references, **kwargs)
    if isinstance(metric_name, str) and metric_name.startswith("rouge"):
        return IncrementalRouge(references, variant=metric_name, **kwargs)
    raise ValueError(
        f"unknown metric {metric_name!r}; valid: {sorted(_FACTORIES)} or a ROUGE variant "
        "(rouge1..rouge9, rougeL, rougeLsum)"
    )


__all__ = [
    "IncrementalBLEU",
    "IncrementalChrF",
    "IncrementalRouge",
    "IncrementalScorer",
    "IncrementalTokenF1",
    "RescoringScorer",
    "incremental",
]
