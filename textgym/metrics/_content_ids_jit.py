"""Compiled (numba) loops of :class:`~textgym.metrics.content_ids.ContentIdBatch`.

Same state arrays and the same results, bit for bit, as the numpy code of that class: the LCS
rows are integer work, and the F-measure uses the float64 operations of
:func:`~textgym.metrics.content.lcs_f1` in the same order (no fastmath).

Imported only when numba is installed (the ``fast`` extra).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._rouge_ids_jit import _popcount

_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True, nogil=True)
def reset(rows, slots, slot_types, slot_len, row_types, ref_len, full, state, hyp_len):
    for b in range(rows.shape[0]):
        r, s = rows[b], slots[b]
        for k in range(slot_len.shape[1]):
            for j in range(slot_types.shape[2]):
                row_types[r, k, j] = slot_types[s, k, j]
            length = slot_len[s, k]
            ref_len[r, k] = length
            # All ones over the reference's positions: no position matched yet (LCS 0).
            if length >= 64:
                ones = _ALL
            elif length > 0:
                ones = (_ONE << np.uint64(length)) - _ONE
            else:
                ones = _ZERO
            full[r, k] = ones
            state[r, k] = ones
        hyp_len[r] = 0


@njit(cache=True, nogil=True)
def append(rows, ids, id_type, row_types, ref_len, state, full, hyp_len):
    for b in range(rows.shape[0]):
        r = rows[b]
        t = id_type[ids[b]]
        if t < 0:  # no content token
            continue
        hyp_len[r] += 1
        for k in range(ref_len.shape[1]):
            match = _ZERO
            for j in range(max(ref_len[r, k], 0)):
                if row_types[r, k, j] == t:
                    match |= _ONE << np.uint64(j)
            x = state[r, k]
            u = x & match
            # Hyyro's bit-parallel LCS step; uint64 arithmetic wraps as in numpy.
            state[r, k] = ((x + u) | (x - u)) & full[r, k]


@njit(cache=True, nogil=True)
def scores(rows, hyp_len, ref_len, state, out):
    """Best content F1 over references of each row (lcs_f1's rules and float operations)."""
    for b in range(rows.shape[0]):
        r = rows[b]
        hyp = hyp_len[r]
        best = -np.inf
        for k in range(ref_len.shape[1]):
            length = ref_len[r, k]
            if length < 0:
                continue
            if length == 0:
                f = 1.0
            elif hyp == 0:
                f = 0.0
            else:
                lcs = length - _popcount(state[r, k])
                if lcs == 0:
                    f = 0.0
                else:
                    precision = lcs / hyp
                    recall = lcs / length
                    f = 2 * precision * recall / (precision + recall)
            if f > best:
                best = f
        out[b] = best
