"""Compiled (numba) loops of :class:`~textgym.metrics.ngram_ids.NgramIdBatch` and its metrics.

Same state arrays and the same counts as the numpy code (integer work is exact either way); the
score functions use the same float64 operations in the same order as the string metrics (no
fastmath), so results are equal bit for bit. The numpy code pays a fixed cost per numpy call,
these loops a few nanoseconds per row and symbol; the tests run both.

Imported only when numba is installed (the ``fast`` extra).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._rouge_ids_jit import _popcount

_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_TOP = np.uint64(63)


@njit(cache=True, nogil=True)
def reset(
    rows, slots, slot_syms, slot_len, row_syms, ref_len, table, present, prev, depth, counts,
    matches, hyp_len,
):  # fmt: skip
    for b in range(rows.shape[0]):
        r, s = rows[b], slots[b]
        # Clear the old references' bits, then set the new ones.
        for k in range(row_syms.shape[1]):
            for j in range(row_syms.shape[2]):
                t = row_syms[r, k, j]
                if t >= 0:
                    table[r, t, k, j >> 6] = _ZERO
                    present[r, t >> 6] = _ZERO
        for k in range(row_syms.shape[1]):
            for j in range(slot_syms.shape[2]):
                t = slot_syms[s, k, j]
                row_syms[r, k, j] = t
                if t >= 0:
                    table[r, t, k, j >> 6] |= _ONE << np.uint64(j & 63)
                    present[r, t >> 6] |= _ONE << np.uint64(t & 63)
            ref_len[r, k] = slot_len[s, k]
        prev[r] = _ZERO
        depth[r] = 0
        counts[r] = 0
        matches[r] = 0
        hyp_len[r] = 0


@njit(cache=True, nogil=True)
def append(
    rows, ids, id_types, id_counts, table, present, ref_len, prev, depth, counts, matches,
    hyp_len, merged,
):  # fmt: skip
    num_refs, words, orders = table.shape[2], table.shape[3], counts.shape[1]
    used = np.empty(num_refs, np.int64)  # words a row's reference spans (its masks' extent)
    first = np.empty((num_refs, words), np.uint64)
    below = np.empty((num_refs, words), np.uint64)  # order o-1's mask at the previous position
    ref_counts = np.empty(num_refs, np.int64)
    for b in range(rows.shape[0]):
        r, i = rows[b], ids[b]
        for k in range(num_refs):
            used[k] = (max(ref_len[r, k], 0) + 63) >> 6
        # prev[r, o] is zero from order `live` on: those need neither reading nor clearing.
        live = depth[r]
        for s in range(id_counts[i]):
            t = id_types[i, s]
            hyp_len[r] += 1
            if (present[r, t >> 6] >> np.uint64(t & 63)) & _ONE == _ZERO:
                # No reference has the symbol: no n-gram ends here in any of them.
                for o in range(live):
                    for k in range(num_refs):
                        for w in range(used[k]):
                            prev[r, o, k, w] = _ZERO
                live = 0
                continue
            for k in range(num_refs):
                for w in range(used[k]):
                    first[k, w] = table[r, t, k, w]
            # Lowest order first. An n-gram's mask (its end positions in a reference) lies
            # within its (n-1)-gram suffix's, so once an order has none, no higher order has
            # any: their masks here are all zero.
            reached = orders
            for o in range(orders):
                if o > live:  # the (n-1)-gram mask it extends is zero: so is this one
                    reached = o
                    break
                name = -1
                for k in range(num_refs):
                    count = 0
                    carry = _ZERO
                    for w in range(used[k]):  # masks are zero past the reference
                        x = first[k, w]
                        if o > 0:
                            # One position up, across words: where the (n-1)-gram ended
                            # before, the n-gram ends now.
                            x &= (below[k, w] << _ONE) | carry
                            carry = below[k, w] >> _TOP
                        if o < orders - 1:
                            below[k, w] = prev[r, o, k, w]
                            prev[r, o, k, w] = x
                        if x != _ZERO:
                            count += _popcount(x)
                            if name < 0:
                                # The n-gram's name: its first end position in the first
                                # reference that has it (equal n-grams, equal masks).
                                low = _popcount((x & (~x + _ONE)) - _ONE)
                                name = (k * words + w) * 64 + low
                    ref_counts[k] = count
                if name < 0:
                    for p in range(o + 1, live):
                        for k in range(num_refs):
                            for w in range(used[k]):
                                prev[r, p, k, w] = _ZERO
                    reached = o
                    break
                rank = counts[r, o, name] + 1
                counts[r, o, name] = rank
                if merged:
                    best = 0
                    for k in range(num_refs):
                        best = max(best, ref_counts[k])
                    if rank <= best:
                        matches[r, o, 0] += 1
                else:
                    for k in range(num_refs):
                        if rank <= ref_counts[k]:
                            matches[r, o, k] += 1
            live = min(reached, orders - 1)
        depth[r] = live


@njit(cache=True, nogil=True)
def bleu_terms(rows, hyp_len, ref_len, matches, precision, smooth, brevity, mean, penalty):
    """BLEU of each row but the final exp: ``bleu = penalty * exp(mean)`` where ``mean >= 0``
    is returned as not NaN (NaN: no match, BLEU 0). False if a table is too small."""
    orders = matches.shape[1]
    for b in range(rows.shape[0]):
        r = rows[b]
        h = hyp_len[r]
        # Closest reference length, ties to the shorter one.
        best_len, best_diff = -1, -1
        for k in range(ref_len.shape[1]):
            length = ref_len[r, k]
            if length < 0:
                continue
            diff = abs(h - length)
            if best_len < 0 or diff < best_diff or (diff == best_diff and length < best_len):
                best_len, best_diff = length, diff
        scored = False
        for n in range(orders):
            if matches[r, n, 0] > 0:
                scored = True
        if not scored:
            mean[b] = np.nan
            continue
        if h >= precision.shape[1] or best_len >= brevity.shape[1]:
            return False
        # bleu_from_stats, with its integer-argument logs read from the tables.
        log_sum = 0.0
        zeros = 0
        order = min(h, orders)  # the effective order: orders with hypothesis n-grams
        for n in range(order):
            total = h - n
            correct = matches[r, n, 0]
            if correct == 0:
                zeros += 1
                log_sum += smooth[zeros, total]
            else:
                log_sum += precision[correct, total]
        mean[b] = log_sum / order
        penalty[b] = brevity[h, best_len] if h < best_len else 1.0
    return True


@njit(cache=True, nogil=True)
def chrf(rows, hyp_len, ref_len, matches, beta, out):
    """Sentence chrF (0-100) of each row, the best over its references (chrf_from_stats)."""
    factor = beta**2
    orders = matches.shape[1]
    for b in range(rows.shape[0]):
        r = rows[b]
        size = hyp_len[r]
        best = -1.0
        for k in range(ref_len.shape[1]):
            ref_size = ref_len[r, k]
            if ref_size < 0:
                continue
            avg_prec = 0.0
            avg_rec = 0.0
            effective = 0
            for n in range(orders):
                hyp_n = max(0, size - n)
                ref_n = max(0, ref_size - n)
                if hyp_n > 0 and ref_n > 0:
                    avg_prec += matches[r, n, k] / hyp_n
                    avg_rec += matches[r, n, k] / ref_n
                    effective += 1
            score = 0.0
            if effective > 0:
                avg_prec /= effective
                avg_rec /= effective
                if avg_prec + avg_rec != 0:
                    score = (1 + factor) * avg_prec * avg_rec
                    score /= factor * avg_prec + avg_rec
                    score = 100 * score
            if score > best:
                best = score
        out[b] = best


@njit(cache=True, nogil=True)
def f1(rows, hyp_len, ref_len, matches, out):
    """Token F1 of each row, the best over its references (token_f1, f1_from_counts)."""
    for b in range(rows.shape[0]):
        r = rows[b]
        hyp = hyp_len[r]
        best = 0.0
        for k in range(ref_len.shape[1]):
            ref = ref_len[r, k]
            if ref < 0:
                continue
            common = matches[r, 0, k]
            if hyp == 0 or ref == 0:
                f = 1.0 if hyp == ref else 0.0
            elif common == 0:
                f = 0.0
            else:
                precision = common / hyp
                recall = common / ref
                f = 2 * precision * recall / (precision + recall)
            best = max(best, f)
        out[b] = best
