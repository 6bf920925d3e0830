"""Compiled (numba) loops of :class:`~textgym.metrics.rouge_ids.RougeIdBatch`.

Same state arrays and same results, bit for bit, as the numpy code of that class: integer
counts are exact either way, and the F-measures use the same float64 operations in the same
order (no fastmath). The numpy code pays a fixed cost per numpy call and step, these loops a
few nanoseconds per row and token; ``tests/test_metrics_batch_ids.py`` runs both.

Imported only when numba is installed (the ``fast`` extra).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Typed constants: numba promotes uint64 mixed with int64 literals to float64.
_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_ZERO = np.uint64(0)
_S1, _S2, _S4, _S56 = np.uint64(1), np.uint64(2), np.uint64(4), np.uint64(56)


@njit(cache=True, nogil=True)
def _popcount(x: np.uint64) -> int:
    x = x - ((x >> _S1) & _M1)
    x = (x & _M2) + ((x >> _S2) & _M2)
    x = (x + (x >> _S4)) & _M4
    return int((x * _H01) >> _S56)


@njit(cache=True, nogil=True)
def reset(
    rows, slots, table, row_offsets, slot_offsets, slot_masks,
    ref_len, slot_len, lcs_full, lcs_state, slot_full, hyp_len,
):  # fmt: skip
    num_types = table.shape[2]
    for b in range(rows.shape[0]):
        r, s = rows[b], slots[b]
        for u in range(row_offsets.shape[1]):  # clear the old references' entries
            off = row_offsets[r, u]
            table[r, off // num_types, off % num_types] = _ZERO
        for u in range(slot_offsets.shape[1]):
            off = slot_offsets[s, u]
            table[r, off // num_types, off % num_types] = slot_masks[s, u]
            row_offsets[r, u] = off
        for k in range(ref_len.shape[1]):
            ref_len[r, k] = slot_len[s, k]
            lcs_full[r, k] = slot_full[s, k]
            lcs_state[r, k] = slot_full[s, k]
        hyp_len[r] = 0


@njit(cache=True, nogil=True)
def append(rows, ids, id_types, id_counts, hyp, hyp_len, table, masks, lcs_state, lcs_full):
    num_refs = table.shape[1]
    for b in range(rows.shape[0]):
        r, i = rows[b], ids[b]
        for w in range(id_counts[i]):
            t = id_types[i, w]
            pos = hyp_len[r]
            hyp[r, pos] = t
            hyp_len[r] = pos + 1
            for k in range(num_refs):
                match = table[r, k, t]
                masks[r, k, pos] = match
                state = lcs_state[r, k]
                u = state & match
                # Hyyro's bit-parallel LCS step; uint64 addition wraps as in numpy.
                lcs_state[r, k] = ((state + u) | (state - u)) & lcs_full[r, k]


@njit(cache=True, nogil=True)
def scores(rows, orders, hyp, hyp_len, ref_len, masks, lcs_state, out):
    """Best F-measure over references of each variant (``orders``: 0 = L) and row, in ``out``."""
    for b in range(rows.shape[0]):
        r = rows[b]
        h = hyp_len[r]
        for v in range(orders.shape[0]):
            n = orders[v]
            shift = max(n - 1, 0)
            best = -np.inf
            for k in range(ref_len.shape[1]):
                m_ref = ref_len[r, k]
                if m_ref < 0:  # no such reference
                    continue
                if n == 0:
                    matches = m_ref - _popcount(lcs_state[r, k])
                else:
                    # A hypothesis n-gram counts when its rank among equal n-grams at or
                    # before it is at most its count in the reference: the clipped count.
                    matches = 0
                    for i in range(h - n + 1):
                        acc = masks[r, k, i]
                        for t in range(1, n):
                            acc &= masks[r, k, i + t] >> np.uint64(t)
                        in_ref = _popcount(acc)
                        if in_ref == 0:
                            continue
                        rank = 0
                        for j in range(i + 1):
                            same = True
                            for t in range(n):
                                if hyp[r, j + t] != hyp[r, i + t]:
                                    same = False
                                    break
                            if same:
                                rank += 1
                        if rank <= in_ref:
                            matches += 1
                precision = float(matches) / float(max(h - shift, 1))
                recall = float(matches) / float(max(m_ref - shift, 1))
                total = precision + recall
                f = 2 * precision * recall / total if total > 0 else 0.0
                if f > best:
                    best = f
            out[v, b] = best
