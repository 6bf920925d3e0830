"""Translation Edit Rate, numerically identical to sacrebleu's TER with default settings.

Defaults reproduced: case-insensitive, no normalisation, punctuation kept, no Asian support.
TER is not a plain edit distance: Tercom greedily applies the block shift that most reduces a
*beam-restricted* word-level Levenshtein distance until no shift helps, and both the beam and
the shift-candidate heuristics change the result on real text. They are reproduced exactly:

* the DP row ``i`` only fills columns within ``beam`` of ``floor(i * len(ref) / len(hyp))``
  (the last row is complete), cells outside are infinite;
* ties in the DP prefer substitution/match, then deletion, then insertion, which fixes the
  alignment used to pick shift candidates;
* candidates are matching word blocks of length <= 10 within distance 50, tried at each
  alignment target, ranked by (gain, length, earliest start, earliest target), and the search
  stops for good once 1000 candidates have been evaluated (without applying the last round).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ._validate import check_hypothesis, check_references

_MAX_SHIFT_SIZE = 10
_MAX_SHIFT_DIST = 50
_BEAM_WIDTH = 25
_MAX_SHIFT_CANDIDATES = 1000
_MAX_CACHE_NODES = 10000
_INF = 10**16


class _BandedDistance:
    """Beam-restricted Levenshtein distance to a fixed reference for equal-length hypotheses.

    All hypotheses scored by one instance have the same length (shifts permute words), so the
    band of every row is fixed up front. DP rows are cached in a trie keyed by the hypothesis
    prefix: shift candidates share long prefixes with the current hypothesis.
    """

    __slots__ = ("_ref", "_m", "_bands", "_root", "_row0", "_nodes")

    def __init__(self, ref: list[int], hyp_len: int):
        self._ref = ref
        m = self._m = len(ref)
        ratio = m / hyp_len if hyp_len else 1
        beam = math.ceil(ratio / 2 + _BEAM_WIDTH) if ratio / 2 > _BEAM_WIDTH else _BEAM_WIDTH
        bands = [(0, m + 1)]
        for i in range(1, hyp_len + 1):
            diag = math.floor(i * ratio)
            hi = m + 1 if i == hyp_len else min(m + 1, diag + beam)
            bands.append((max(0, diag - beam), hi))
        self._bands = bands
        self._row0 = list(range(m + 1))
        self._root: dict = {}
        self._nodes = 0

    def _next_row(self, prev: list[int], i: int, word: int) -> list[int]:
        lo, hi = self._bands[i]
        row = [_INF] * (self._m + 1)
        if lo == 0:
            row[0] = prev[0] + 1
            lo = 1
        ref = self._ref
        left = row[lo - 1]
        for j in range(lo, hi):
            best = prev[j - 1] if ref[j - 1] == word else prev[j - 1] + 1
            up = prev[j] + 1
            if up < best:
                best = up
            if left + 1 < best:
                best = left + 1
            row[j] = left = best
        return row

    def rows(self, words: list[int]) -> list[list[int]]:
        """All DP rows for ``words`` (row 0 = empty hypothesis), computing uncached ones."""
        node = self._root
        rows = [self._row0]
        n = len(words)
        i = 0
        while i < n:
            entry = node.get(words[i])
            if entry is None:
                break
            node, row = entry
            rows.append(row)
            i += 1
        row = rows[-1]
        for k in range(i, n):
            row = self._next_row(row, k + 1, words[k])
            rows.append(row)
            if self._nodes < _MAX_CACHE_NODES:
                child: dict = {}
                node[words[k]] = (child, row)
                node = child
                self._nodes += 1
        return rows

    def distance(self, words: list[int]) -> int:
        """Beam-restricted edit distance of ``words`` to the reference."""
        return self.rows(words)[-1][self._m]

    def alignment(self, words: list[int]) -> tuple[int, list[int], list[int], list[int]]:
        """Distance plus the Tercom alignment derived from the preferred DP path.

        Returns:
            ``(distance, align, ref_err, hyp_err)``: ``align[r]`` is the hypothesis position
            aligned to (or last before) reference word ``r``; the error lists flag positions
            not matched exactly.
        """
        rows = self.rows(words)
        ref = self._ref
        i, j = len(words), self._m
        ops = []
        while i > 0 or j > 0:
            if i == 0:
                op = "r"  # reference word without hypothesis counterpart
            elif j == 0:
                op = "h"  # hypothesis word without reference counterpart
            else:
                value = rows[i][j]
                same = ref[j - 1] == words[i - 1]
                if rows[i - 1][j - 1] + (0 if same else 1) == value:
                    op = "=" if same else "s"
                elif rows[i - 1][j] + 1 == value:
                    op = "h"
                else:
                    op = "r"
            ops.append(op)
            if op == "r":
                j -= 1
            elif op == "h":
                i -= 1
            else:
                i -= 1
                j -= 1
        align: list[int] = []
        ref_err: list[int] = []
        hyp_err: list[int] = []
        pos_h = -1
        for op in reversed(ops):
            if op == "h":
                pos_h += 1
                hyp_err.append(1)
            elif op == "r":
                align.append(pos_h)
                ref_err.append(1)
            else:
                pos_h += 1
                align.append(pos_h)
                err = 0 if op == "=" else 1
                hyp_err.append(err)
                ref_err.append(err)
        return rows[-1][self._m], align, ref_err, hyp_err


def _shift_words(words: list[int], start: int, length: int, target: int) -> list[int]:
    """Move ``words[start:start+length]`` so that it begins before old position ``target``."""
    if target < start:
        return (words[:target] + words[start : start + length] + words[target:start]
                + words[start + length :])
    if target > start + length:
        return (words[:start] + words[start + length : target] + words[start : start + length]
                + words[target:])
    # Tercom quirk kept for exactness: a target inside the block is read relative to its end.
    return (words[:start] + words[start + length : length + target]
            + words[start : start + length] + words[length + target :])


def _prefix_sums(flags: list[int]) -> list[int]:
    out = [0]
    for flag in flags:
        out.append(out[-1] + flag)
    return out


def _best_shift(
    words: list[int], ref: list[int], ref_pos: dict[int, list[int]], dist: _BandedDistance,
    checked: int,
) -> tuple[int, list[int], int]:
    """One greedy round: the best-gain shift, its result, and the updated candidate count."""
    score, align, ref_err, hyp_err = dist.alignment(words)
    hyp_cum = _prefix_sums(hyp_err)
    ref_cum = _prefix_sums(ref_err)
    n_h, n_r = len(words), len(ref)
    best_key = None
    best_words = words
    for start_h in range(n_h):
        for start_r in ref_pos.get(words[start_h], ()):
            if abs(start_r - start_h) > _MAX_SHIFT_DIST:
                continue
            length = 0
            while True:
                length += 1
                # Only blocks that are wrong in the hypothesis and unmatched at the target.
                if (hyp_cum[start_h + length] != hyp_cum[start_h]
                        and ref_cum[start_r + length] != ref_cum[start_r]
                        and not start_h <= align[start_r] < start_h + length):
                    prev_idx = -1
                    for offset in range(-1, length):
                        idx = 0 if start_r + offset == -1 else align[start_r + offset] + 1
                        if idx == prev_idx:
                            continue
                        prev_idx = idx
                        shifted = _shift_words(words, start_h, length, idx)
                        key = (score - dist.distance(shifted), length, -start_h, -idx)
                        checked += 1
                        if best_key is None or key > best_key:
                            best_key, best_words = key, shifted
                # Tercom checks the candidate budget after every (start, start, length) block.
                if checked >= _MAX_SHIFT_CANDIDATES:
                    return _result(best_key, best_words, words, checked)
                if (length >= _MAX_SHIFT_SIZE or start_h + length == n_h
                        or start_r + length == n_r
                        or words[start_h + length] != ref[start_r + length]):
                    break
    return _result(best_key, best_words, words, checked)


def _result(best_key, best_words, words, checked) -> tuple[int, list[int], int]:
    if best_key is None:
        return 0, words, checked
    return best_key[0], best_words, checked


def edit_count(hyp: list[str], ref: list[str]) -> int:
    """Tercom edit count (shifts + beam edit distance after shifting) of ``hyp`` to ``ref``."""
    if not ref:
        return len(hyp)
    ids: dict[str, int] = {}
    ref_ids = [ids.setdefault(w, len(ids)) for w in ref]
    words = [ids.setdefault(w, len(ids)) for w in hyp]
    ref_pos: dict[int, list[int]] = {}
    for r, w in enumerate(ref_ids):
        ref_pos.setdefault(w, []).append(r)
    dist = _BandedDistance(ref_ids, len(words))
    shifts = 0
    checked = 0
    while True:
        gain, shifted, checked = _best_shift(words, ref_ids, ref_pos, dist, checked)
        if checked >= _MAX_SHIFT_CANDIDATES or gain <= 0:
            break
        shifts += 1
        words = shifted
    return shifts + dist.distance(words)


def ter_words(text: str) -> list[str]:
    """TER's default tokenisation: lowercase and split on whitespace."""
    return text.lower().split()


def sentence_ter(hypothesis: str, references: Sequence[str]) -> float:
    """Sentence TER, equal to ``sacrebleu.sentence_ter(hypothesis, references).score``.

    The edit count is the minimum over references, normalised by the *average* reference
    length (Tercom's convention); lower is better and scores above 100 are possible.

    Args:
        hypothesis: The system output.
        references: One or more reference strings.

    Returns:
        TER on a 0-100+ scale.

    Raises:
        TypeError: On a non-string hypothesis or malformed references.
        ValueError: On empty references.
    """
    check_hypothesis(hypothesis)
    refs = [ter_words(ref) for ref in check_references(references)]
    hyp = ter_words(hypothesis)
    edits = min(edit_count(hyp, ref) for ref in refs)
    avg_len = sum(len(ref) for ref in refs) / len(refs)
    if avg_len > 0:
        return 100 * (edits / avg_len)
    return 100.0 if edits > 0 else 0.0
