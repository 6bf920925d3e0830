"""Compiled (numba) loops of :class:`~textgym.metrics._chargrams.GramCounts`.

The numpy code makes some 25 numpy calls per text, and on sentence-length text (~1000
character n-grams) their fixed cost, not the work, is most of a chrF call. These loops do the
same integer work in two calls: the same arrays (sorted distinct n-gram ids ending with the
sentinel, their counts, the order boundaries) and the same per-order match counts, so scores
are unchanged. The tests compare both paths.

Imported only when numba is installed (the ``fast`` extra).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def gram_table(digits, base, max_order, bounds):  # noqa: ANN001, ANN201 - numba signatures
    """(ids, counts, starts) of every n-gram of orders 1..max_order of the digit string.

    ``ids`` holds the sorted distinct n-gram ids followed by the sentinel ``base**max_order``,
    ``counts`` their counts followed by 0, ``starts[o - 1]`` the index where order ``o + 1``
    begins (``ids.searchsorted(bounds)``): the arrays the numpy code builds.

    Instead of sorting all ~6 x len n-grams, the positions are sorted once by the window of
    ``max_order`` digits starting there (0-padded past the end; every digit is at least 1, so
    a short window sorts before its extensions). Sorting by the whole window sorts by each of
    its prefixes too, so for every order the equal n-grams are then adjacent and ascending:
    one pass per order counts them.
    """
    size = digits.shape[0]
    top = np.int64(1)
    for _ in range(max_order):
        top *= base
    keys = np.empty(size, dtype=np.int64)
    # prefixes[n - 1, i]: the first n digits of the window at i, which is the id of the order-n
    # n-gram there (key // base**(max_order - n), without an integer division per n-gram).
    prefixes = np.empty((max_order, size), dtype=np.int64)
    for i in range(size):
        value = np.int64(0)
        for n in range(max_order):
            value = value * base + (digits[i + n] if i + n < size else 0)
            prefixes[n, i] = value
        keys[i] = value
    order = np.argsort(keys)
    total = 0
    for n in range(max_order):
        if size > n:
            total += size - n
    ids = np.empty(total + 1, dtype=np.int64)
    counts = np.empty(total + 1, dtype=np.int64)
    starts = np.empty(max_order - 1, dtype=np.int64)
    d = 0
    for n in range(1, max_order + 1):
        if n > 1:
            starts[n - 2] = d
        previous = np.int64(-1)
        for k in range(size):
            p = order[k]
            if p + n > size:
                continue  # the window is shorter than n
            gram = prefixes[n - 1, p]
            if gram == previous:
                counts[d - 1] += 1
            else:
                ids[d] = gram
                counts[d] = 1
                d += 1
                previous = gram
    ids[d] = top  # the sentinel
    counts[d] = 0
    return ids[: d + 1].copy(), counts[: d + 1].copy(), starts


@njit(cache=True, nogil=True)
def gram_table_of_points(points, lut, base, max_order, bounds):  # noqa: ANN001, ANN201
    """:func:`gram_table` of the characters with code points ``points``, looked up in ``lut``
    (code point -> id, 0 = none yet); empty arrays if a character has no id yet."""
    digits = np.empty(points.shape[0], dtype=np.int64)
    for i in range(points.shape[0]):
        digit = lut[points[i]]
        if digit == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        digits[i] = digit
    return gram_table(digits, base, max_order, bounds)


@njit(cache=True, nogil=True)
def matches(hyp_ids, hyp_counts, ref_ids, ref_counts, bounds, max_order):  # noqa: ANN001, ANN201
    """Per order, the sum over shared n-grams of min(hypothesis count, reference count).

    Both id arrays are sorted and end with the same sentinel, which stops the merge.
    """
    out = np.zeros(max_order, dtype=np.int64)
    i = 0
    j = 0
    order = 0
    last_h = hyp_ids.shape[0] - 1  # the sentinel's index
    while i < last_h:
        h = hyp_ids[i]
        while j < ref_ids.shape[0] - 1 and ref_ids[j] < h:
            j += 1
        if ref_ids[j] == h:
            while order < max_order - 1 and h >= bounds[order]:
                order += 1
            c = hyp_counts[i]
            r = ref_counts[j]
            out[order] += c if c < r else r
        i += 1
    return out


@njit(cache=True, nogil=True)
def chrf_matches_many(
    digits, text_start, text_len, num_hyps, pair_refs, pair_ref_start, base, max_order, bounds,
    out,
):  # noqa: ANN001, ANN201 - numba signatures  # fmt: skip
    """chrF's per-order character n-gram matches of every pair of hypothesis and reference.

    ``digits`` holds every text's character ids end to end (text ``t`` at ``text_start[t]``,
    ``text_len[t]`` long): the ``num_hyps`` hypotheses first, then the distinct references.
    Pair ``i``'s references are ``pair_refs[pair_ref_start[i]:pair_ref_start[i + 1]]`` (text
    numbers); ``out[r]`` gets the matches of ``pair_refs[r]``'s entry. Each reference's n-gram
    table is built once however many pairs share it.
    """
    num_texts = text_start.shape[0]
    num_refs = num_texts - num_hyps
    # The references' tables end to end (each with its sentinel).
    room = 0
    for t in range(num_hyps, num_texts):
        room += max_order * text_len[t] + 1
    ref_ids = np.empty(room, dtype=np.int64)
    ref_counts = np.empty(room, dtype=np.int64)
    ref_at = np.empty(num_refs + 1, dtype=np.int64)
    at = 0
    for k in range(num_refs):
        start, size = text_start[num_hyps + k], text_len[num_hyps + k]
        ids, counts, _ = gram_table(digits[start : start + size], base, max_order, bounds)
        ref_at[k] = at
        ref_ids[at : at + ids.shape[0]] = ids
        ref_counts[at : at + ids.shape[0]] = counts
        at += ids.shape[0]
    ref_at[num_refs] = at
    for i in range(num_hyps):
        start, size = text_start[i], text_len[i]
        ids, counts, _ = gram_table(digits[start : start + size], base, max_order, bounds)
        for r in range(pair_ref_start[i], pair_ref_start[i + 1]):
            k = pair_refs[r] - num_hyps
            lo, hi = ref_at[k], ref_at[k + 1]
            out[r] = matches(ids, counts, ref_ids[lo:hi], ref_counts[lo:hi], bounds, max_order)
