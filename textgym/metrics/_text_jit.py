"""Compiled (numba) loops of the string-path metrics: ROUGE-N and ROUGE-L of a hypothesis
against its references in one call (:func:`textgym.metrics.rouge_scores`, from the texts'
bytes, tokenised, stemmed and numbered here: :func:`rouge_text_scores`, and of many pairs
in one call, :func:`rouge_text_scores_many`), and BLEU's clipped n-gram matches of a
reference set met for the first time (:mod:`textgym.metrics.bleu`).

On sentence-length text the Python route's cost is its fixed work per text (``Counter``
objects, a dict of LCS bit masks or of n-gram sets, a dozen small calls per variant or order)
more than the arithmetic. Here one call does it all: for BLEU the caller maps the tokens of the
hypothesis and its references to small integers (equal tokens, equal integers); for ROUGE the
call takes the texts' bytes, splits the words, stems them (Porter's rules compiled, or a
table of the words stemmed before) and numbers the stems itself. Then it counts:

* clipped n-gram matches, ``sum min(hyp count, ref count)``: for ROUGE by numbering the
  n-grams (a small open-addressing table per call) and counting per number, linear in the
  lengths; for BLEU (the largest count over the references) as the number of hypothesis
  positions whose n-gram's rank among the equal n-grams before it is at most that count
  (quadratic in the text length, which is tens of tokens here);
* the LCS length bit-parallel (a row of the table in one machine word) for references of up
  to 63 tokens, else by the textbook dynamic programme, one row at a time.

The ROUGE F-measures use the same float64 operations in the same order as
:mod:`textgym.metrics.rouge` (and rouge-score); BLEU's statistics are integers, scored by the
same Python code. So the scores are bit for bit the same; the tests compare the routes.
Imported only when numba is installed (the ``fast`` extra).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._porter_jit import _stem


@njit(cache=True, nogil=True)
def _fmeasure(precision, recall):  # noqa: ANN001, ANN202 - numba signatures
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


@njit(cache=True, nogil=True)
def _same(ids, a, b, n):  # noqa: ANN001, ANN202
    for t in range(n):  # noqa: SIM110 - an explicit loop compiles best
        if ids[a + t] != ids[b + t]:
            return False
    return True


@njit(cache=True, nogil=True)
def _rank(ids, h0, i, n):  # noqa: ANN001, ANN202
    """How many hypothesis n-grams starting at ``h0 .. i`` equal the one starting at ``i``."""
    rank = 0
    for j in range(h0, i + 1):
        if _same(ids, j, i, n):
            rank += 1
    return rank


@njit(cache=True, nogil=True)
def _has(ids, i, n, r0, r1, rank):  # noqa: ANN001, ANN202
    """Whether ``ids[r0:r1]`` holds the n-gram starting at ``i`` at least ``rank`` times."""
    count = 0
    for j in range(r0, r1 - n + 1):
        if _same(ids, j, i, n):
            count += 1
            if count >= rank:
                return True
    return False


@njit(cache=True, nogil=True)
def _bleu_matches(ids, bounds, first, last, correct):  # noqa: ANN001, ANN202
    """``correct[n - 1]``: BLEU's clipped n-gram matches of text ``first`` (the hypothesis)
    against texts ``first + 1 .. last - 1`` (its references), for n = 1..len(correct)."""
    h0, h1 = bounds[first], bounds[first + 1]
    for n in range(1, correct.shape[0] + 1):
        if n > 1 and correct[n - 2] == 0:
            break  # no (n-1)-gram is shared, so no n-gram is (its prefix would be)
        total = 0
        for i in range(h0, h1 - n + 1):
            rank = _rank(ids, h0, i, n)
            for k in range(first + 1, last):
                if _has(ids, i, n, bounds[k], bounds[k + 1], rank):
                    total += 1
                    break
        correct[n - 1] = total


@njit(cache=True, nogil=True)
def bleu_matches(ids, bounds, max_order):  # noqa: ANN001, ANN201
    """BLEU's clipped matches per order 1..``max_order`` of text 0 (the hypothesis) against
    texts 1.. (the references), ``ids[bounds[k]:bounds[k + 1]]`` being text ``k``: each
    hypothesis n-gram counts at most its largest count in any one reference."""
    correct = np.zeros(max_order, dtype=np.int64)
    _bleu_matches(ids, bounds, 0, bounds.shape[0] - 1, correct)
    return correct


@njit(cache=True, nogil=True)
def bleu_matches_many(ids, bounds, pairs, max_order):  # noqa: ANN001, ANN201
    """:func:`bleu_matches` of many hypotheses: pair ``p``'s texts are ``pairs[p]`` (its
    hypothesis) to ``pairs[p + 1] - 1`` (its references). Returns int64 ``(pairs, max_order)``."""
    num_pairs = pairs.shape[0] - 1
    out = np.zeros((num_pairs, max_order), dtype=np.int64)
    for p in range(num_pairs):
        _bleu_matches(ids, bounds, pairs[p], pairs[p + 1], out[p])
    return out


@njit(cache=True, nogil=True)
def _lcs(ids, h0, h1, r0, r1, row):  # noqa: ANN001, ANN202
    """Length of the longest common subsequence of ``ids[h0:h1]`` and ``ids[r0:r1]``."""
    width = r1 - r0
    for j in range(width + 1):
        row[j] = 0
    for i in range(h0, h1):
        token = ids[i]
        diagonal = 0
        for j in range(1, width + 1):
            above = row[j]
            if token == ids[r0 + j - 1]:
                row[j] = diagonal + 1
            elif row[j - 1] > above:
                row[j] = row[j - 1]
            diagonal = above
    return row[width]


# Fibonacci hashing: the integer part of 2**64 / golden ratio spreads consecutive keys (the
# token numbers are handed out consecutively) over the table's slots.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def _number(keys, out, bits):  # noqa: ANN001, ANN202
    """``out[i]``: a number per distinct non-negative ``keys[i]`` (0, 1, ... in order of first
    sight), -1 where ``keys[i]`` is negative; returns how many distinct keys there were. An
    open-addressing table of ``2**bits`` slots (at least twice the keys: short probes)."""
    size = 1 << bits
    mask = size - 1
    shift = np.uint64(64 - bits)
    slot_keys = np.full(size, -1, dtype=np.int64)
    slot_numbers = np.empty(size, dtype=np.int64)
    count = 0
    for i in range(keys.shape[0]):
        key = keys[i]
        if key < 0:
            out[i] = -1
            continue
        s = np.int64((np.uint64(key) * _GOLDEN) >> shift)
        while True:
            if slot_keys[s] == -1:
                slot_keys[s] = key
                slot_numbers[s] = count
                out[i] = count
                count += 1
                break
            if slot_keys[s] == key:
                out[i] = slot_numbers[s]
                break
            s = (s + 1) & mask
    return count


@njit(cache=True, nogil=True)
def _lcs_bits(numbers, h0, h1, r0, r1, masks):  # noqa: ANN001, ANN202
    """:func:`_lcs` of ``numbers[h0:h1]`` and ``numbers[r0:r1]`` (at most 63 tokens, numbered
    by :func:`_number`) by the bit-parallel recurrence (Allison-Dix, Hyyro): one machine word
    holds a row of the table, so the cost is one step per hypothesis token. ``masks`` (one
    word per number, all zero) is left all zero again."""
    one = np.uint64(1)
    width = r1 - r0
    for j in range(r0, r1):
        masks[numbers[j]] |= one << np.uint64(j - r0)
    full = (one << np.uint64(width)) - one
    row = full  # a 0 bit per column where the LCS row steps up
    for i in range(h0, h1):
        match = row & masks[numbers[i]]
        row = ((row + match) | (row - match)) & full  # no carry out: width <= 63
    for j in range(r0, r1):
        masks[numbers[j]] = np.uint64(0)
    ones = 0
    while row:
        row &= row - one
        ones += 1
    return width - ones


@njit(cache=True, nogil=True)
def _best(ids, bounds, first, last, orders, out, row):  # noqa: ANN001, ANN202
    """``out[v]``: the best F-measure of text ``first`` (the hypothesis) against texts
    ``first + 1 .. last - 1`` (its references) for variant ``v``.

    Every n-gram of these texts gets a small number first (equal n-grams, equal numbers; an
    n-gram's number from its (n-1)-gram prefix's number and its last token's), so that a
    clipped count is one pass over the hypothesis (counts per number) and one over the
    reference (taking from them): linear in the lengths instead of quadratic.
    """
    base = bounds[first]
    h0, h1 = 0, bounds[first + 1] - base
    size = bounds[last] - base
    hyp_len = h1 - h0
    max_n = 1
    for v in range(orders.shape[0]):
        max_n = max(max_n, orders[v])
    bits = 4
    while (1 << bits) < 2 * size:
        bits += 1
    # grams[n - 1, p]: the number of the n-gram starting at p (-1 past its text's end).
    grams = np.empty((max_n, size), dtype=np.int64)
    keys = np.empty(size, dtype=np.int64)
    for p in range(size):
        keys[p] = ids[base + p]
    unigrams = _number(keys, grams[0], bits)
    for n in range(2, max_n + 1):
        for k in range(first, last):
            a, b = bounds[k] - base, bounds[k + 1] - base
            for p in range(a, b):
                # Below unigrams * unigrams <= size**2: no overflow for any text length here.
                keys[p] = grams[n - 2, p] * unigrams + grams[0, p + n - 1] if p + n <= b else -1
        _number(keys, grams[n - 1], bits)
    counts = np.zeros(size + 1, dtype=np.int64)
    masks = np.zeros(size + 1, dtype=np.uint64)
    for v in range(orders.shape[0]):
        n = orders[v]
        best = -1.0
        for k in range(first + 1, last):
            r0, r1 = bounds[k] - base, bounds[k + 1] - base
            ref_len = r1 - r0
            if n == 0:
                if hyp_len == 0 or ref_len == 0:
                    score = 0.0
                else:
                    lcs = (
                        _lcs_bits(grams[0], h0, h1, r0, r1, masks) if ref_len <= 63
                        else _lcs(ids, h0 + base, h1 + base, r0 + base, r1 + base, row)
                    )  # fmt: skip
                    score = _fmeasure(lcs / hyp_len, lcs / ref_len)
            else:
                numbers = grams[n - 1]
                for p in range(h0, h1 - n + 1):
                    counts[numbers[p]] += 1
                overlap = 0  # sum over n-grams of min(hyp count, ref count)
                for p in range(r0, r1 - n + 1):
                    if counts[numbers[p]] > 0:
                        counts[numbers[p]] -= 1
                        overlap += 1
                for p in range(h0, h1 - n + 1):
                    counts[numbers[p]] = 0
                hyp_total = max(max(0, hyp_len - n + 1), 1)
                ref_total = max(max(0, ref_len - n + 1), 1)
                score = _fmeasure(overlap / hyp_total, overlap / ref_total)
            if score > best:
                best = score
        out[v] = best


@njit(cache=True, nogil=True)
def _longest(bounds):  # noqa: ANN001, ANN202
    longest = 0
    for k in range(bounds.shape[0] - 1):
        longest = max(longest, bounds[k + 1] - bounds[k])
    return longest


def _irregular_table() -> tuple[np.ndarray, np.ndarray]:
    """NLTK's irregular forms that rouge-score stems (over 3 characters) as (bytes, offsets):
    form ``r`` is ``bytes[offsets[r, 0]:offsets[r, 1]]``, its stem
    ``bytes[offsets[r, 1]:offsets[r, 2]]``."""
    from ._porter import _IRREGULAR

    data = bytearray()
    offsets = []
    for word, stem in _IRREGULAR.items():
        if len(word) > 3:
            start = len(data)
            data += word.encode("ascii")
            middle = len(data)
            data += stem.encode("ascii")
            offsets.append((start, middle, len(data)))
    return np.frombuffer(bytes(data), dtype=np.uint8).copy(), np.array(offsets, dtype=np.int64)


_IRREGULAR_BYTES, _IRREGULAR_OFFSETS = _irregular_table()


@njit(cache=True, nogil=True)
def _same_bytes(a, a0, b, b0, k):  # noqa: ANN001, ANN202
    """Whether ``a[a0:a0 + k]`` and ``b[b0:b0 + k]`` hold the same bytes."""
    for i in range(k):  # noqa: SIM110 - a loop numba compiles, not a generator
        if a[a0 + i] != b[b0 + i]:
            return False
    return True


@njit(cache=True, nogil=True)
def _irregular(w, k):  # noqa: ANN001, ANN202
    """If the ``k`` letters of ``w`` are an irregular form, its stem in place and its length;
    else -1."""
    for r in range(_IRREGULAR_OFFSETS.shape[0]):
        start = _IRREGULAR_OFFSETS[r, 0]
        middle = _IRREGULAR_OFFSETS[r, 1]
        end = _IRREGULAR_OFFSETS[r, 2]
        if middle - start == k and _same_bytes(w, 0, _IRREGULAR_BYTES, start, k):
            w[: end - middle] = _IRREGULAR_BYTES[middle:end]
            return end - middle
    return -1


#: Words longer than this are stemmed without the stem table (a table entry's lengths).
STEM_TABLE_WORD = 64
# The stem table's layout (one int64 array): its header, then the slots, then the entries.
_COUNT, _USED, _BITS, _CAPACITY, _HEADER = 0, 1, 2, 3, 4


def new_stem_table(bits: int = 16, store_bytes: int = 1 << 20) -> tuple[np.ndarray, np.ndarray]:
    """An empty stem table for :func:`rouge_text_scores`: ``(table, store)``.

    ``table`` (int64): a header (entries used, store bytes used, ``bits``, capacity), then
    ``2**bits`` slots (an entry's index, -1 if free), then two numbers per entry: where its
    word's bytes start in ``store`` (its stem's follow them) and ``word length * 256 + stem
    length``. It holds up to ``2**(bits - 1)`` words; when full (or ``store`` is) it empties
    and fills again.
    """
    capacity = 1 << (bits - 1)
    table = np.empty(_HEADER + (1 << bits) + 2 * capacity, dtype=np.int64)
    table[:_HEADER] = (0, 0, bits, capacity)
    table[_HEADER : _HEADER + (1 << bits)] = -1
    return table, np.empty(store_bytes, dtype=np.uint8)


def clear_stem_table(table: np.ndarray) -> None:
    """Empty a table of :func:`new_stem_table`."""
    table[_COUNT] = table[_USED] = 0
    table[_HEADER : _HEADER + (1 << int(table[_BITS]))] = -1


@njit(cache=True, nogil=True)
def _hash(w, start, k):  # noqa: ANN001, ANN202
    h = 0
    for i in range(start, start + k):
        h = (h * 131 + w[i]) & 0xFFFFFFFFFFFF
    return h ^ (h >> 17)


@njit(cache=True, nogil=True)
def _stem_word(data, word, k, w, cv, table, store):  # noqa: ANN001, ANN202
    """The stem of the ``k > 3`` letters ``data[word:word + k]`` into ``w``, its length;
    from the stem table when it holds the word, else made and put there."""
    cacheable = k <= STEM_TABLE_WORD and 2 * k <= store.shape[0]  # a stem is no longer
    bits = table[_BITS]
    mask = (1 << bits) - 1
    entries = _HEADER + (1 << bits)
    s = 0
    if cacheable:
        s = _hash(data, word, k) & mask
        while True:
            e = table[_HEADER + s]
            if e < 0:
                break
            start = table[entries + 2 * e]
            lengths = table[entries + 2 * e + 1]
            if lengths >> 8 == k and _same_bytes(store, start, data, word, k):
                n = lengths & 255
                w[:n] = store[start + k : start + k + n]
                return n
            s = (s + 1) & mask
    w[:k] = data[word : word + k]
    irregular = _irregular(w, k)
    n = irregular if irregular >= 0 else _stem(w, k, cv)
    if cacheable:
        if table[_COUNT] >= table[_CAPACITY] or table[_USED] + k + n > store.shape[0]:
            table[_COUNT] = table[_USED] = 0
            for i in range(1 << bits):
                table[_HEADER + i] = -1
            s = _hash(data, word, k) & mask
        e = table[_COUNT]
        start = table[_USED]
        table[_HEADER + s] = e
        table[entries + 2 * e] = start
        table[entries + 2 * e + 1] = k * 256 + n
        store[start : start + k] = data[word : word + k]
        store[start + k : start + k + n] = w[:n]
        table[_COUNT] = e + 1
        table[_USED] = start + k + n
    return n


@njit(cache=True, nogil=True)
def _orders_of(data):  # noqa: ANN001, ANN202
    """The header of :func:`rouge_text_scores`' ``data``: (stem, orders, where texts start)."""
    num_variants = np.int64(data[1])
    orders = np.empty(num_variants, dtype=np.int64)
    for v in range(num_variants):
        orders[v] = data[2 + v]
    return data[0] != 0, orders, 2 + num_variants


@njit(cache=True, nogil=True)
def _text_ids(data, first, stem, table, store):  # noqa: ANN001, ANN202
    """(ids, bounds) of the texts of ``data[first:]`` (see :func:`rouge_text_scores`): text
    ``k``'s tokens are ``ids[bounds[k]:bounds[k + 1]]``, equal stems equal numbers."""
    size = data.shape[0]
    num_texts = 1
    for p in range(first, size):
        if data[p] == 0:
            num_texts += 1
    most = (size - first) // 2 + 1  # tokens and distinct stems: at most one per 2 bytes
    ids = np.empty(most, dtype=np.int64)
    bounds = np.zeros(num_texts + 1, dtype=np.int64)
    w = np.empty(size + 1, dtype=np.uint8)
    cv = np.empty(size + 1, dtype=np.uint8)
    stems = np.empty(size, dtype=np.uint8)  # the distinct stems' bytes, one after another
    starts = np.zeros(most + 1, dtype=np.int64)  # stem s is stems[starts[s]:starts[s + 1]]
    bits = 4
    while (1 << bits) < 2 * most:
        bits += 1
    mask = (1 << bits) - 1
    slots = np.full(1 << bits, -1, dtype=np.int64)
    distinct = 0
    count = 0
    text = 0
    word = -1
    for p in range(first, size + 1):
        byte = data[p] if p < size else 0
        if byte != 32 and byte != 0:
            if word < 0:
                word = p
            continue
        if word >= 0:
            k = p - word
            if stem and k > 3:
                k = _stem_word(data, word, k, w, cv, table, store)
            else:
                w[:k] = data[word : word + k]
            word = -1
            if k > 0:  # rouge-score drops a token whose stem is not [a-z0-9]+
                s = _hash(w, 0, k) & mask
                while True:
                    e = slots[s]
                    if e < 0:
                        e = slots[s] = distinct
                        at = starts[distinct]
                        stems[at : at + k] = w[:k]
                        starts[distinct + 1] = at + k
                        distinct += 1
                        break
                    at = starts[e]
                    if starts[e + 1] - at == k and _same_bytes(stems, at, w, 0, k):
                        break
                    s = (s + 1) & mask
                ids[count] = e
                count += 1
        if byte == 0:
            text += 1
            bounds[text] = count
    return ids[:count], bounds


@njit(cache=True, nogil=True)
def _short(bounds, first, last, max_tokens):  # noqa: ANN001, ANN202
    """Whether texts ``first .. last - 1`` have at most ``max_tokens`` tokens each."""
    for k in range(first, last):  # noqa: SIM110 - a loop numba compiles, not a generator
        if bounds[k + 1] - bounds[k] > max_tokens:
            return False
    return True


@njit(cache=True, nogil=True)
def rouge_text_scores(data, max_tokens, table, store):  # noqa: ANN001, ANN201
    """Best F-measure over the references for each variant, for one hypothesis, from the
    texts' bytes: tokens, stems and numbers made here.

    Args:
        data: uint8: ``stem`` (0 or 1), the number of variants, per variant ``n`` for ROUGE-N
            and 0 for ROUGE-L; then the hypothesis and its references, each as rouge-score's
            tokeniser sees it (lowercase ASCII letters and digits, every other character a
            space), separated by single 0 bytes.
        max_tokens: The most tokens a text may have.
        table, store: A stem table (:func:`new_stem_table`), read and filled; one caller at
            a time (the loops release the GIL).

    Returns:
        float64 array, one F-measure per variant; empty if a text has more than
        ``max_tokens`` tokens (the caller then scores by another route).

    Each word of more than 3 letters is stemmed (when ``stem``) as rouge-score stems it
    (NLTK's irregular forms first, then Porter's rules: :func:`._porter_jit._stem`), or found
    in the stem table; a stem gets the number of the first equal stem of the call (a table
    of the stems' bytes), which is all :func:`_best` needs of a token.
    """
    stem, orders, first = _orders_of(data)
    ids, bounds = _text_ids(data, first, stem, table, store)
    num_texts = bounds.shape[0] - 1
    if not _short(bounds, 0, num_texts, max_tokens):
        return np.empty(0)
    out = np.zeros(orders.shape[0])
    row = np.empty(_longest(bounds) + 1, dtype=np.int64)
    _best(ids, bounds, 0, num_texts, orders, out, row)
    return out


@njit(cache=True, nogil=True)
def rouge_text_scores_many(data, pairs, max_tokens, table, store):  # noqa: ANN001, ANN201
    """:func:`rouge_text_scores` of many pairs: ``data`` holds every pair's texts, one after
    another, and pair ``p``'s are texts ``pairs[p]`` (its hypothesis) to ``pairs[p + 1] - 1``.

    Returns:
        float64 ``(pairs, variants)``; NaN in the rows of pairs with a text over
        ``max_tokens`` tokens.
    """
    stem, orders, first = _orders_of(data)
    ids, bounds = _text_ids(data, first, stem, table, store)
    num_pairs = pairs.shape[0] - 1
    out = np.full((num_pairs, orders.shape[0]), np.nan)
    row = np.empty(_longest(bounds) + 1, dtype=np.int64)
    for p in range(num_pairs):
        if _short(bounds, pairs[p], pairs[p + 1], max_tokens):
            out[p, :] = 0.0
            _best(ids, bounds, pairs[p], pairs[p + 1], orders, out[p], row)
    return out
