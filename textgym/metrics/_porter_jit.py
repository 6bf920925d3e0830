"""Compiled (numba) loops of :mod:`textgym.metrics._porter`: many words stemmed in one call.

A cold ROUGE call spends a large share of its time stemming words it has not seen (2-4 us a
word in Python on an idle machine, even with the rules picked by the last letters, against
0.35 us here). These loops run the same
rules, in the same order, on the bytes of lowercase ASCII words: one call stems every new word
of a text for a few microseconds of call overhead plus a fraction of a microsecond per word.
The caller (:func:`textgym.metrics._porter.nltk_stem_many`) sends only batches of such words
without NLTK's irregular forms (any other batch goes to the Python stemmer, rarely). The
tests compare both implementations with NLTK's stemmer itself.

Imported only when numba is installed (the ``fast`` extra).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._porter import STEP2_RULES, STEP3_RULES, STEP4_RULES


def _rule_table(rules: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """(bytes, offsets): rule ``r``'s suffix is ``bytes[offsets[r, 0]:offsets[r, 1]]`` and
    its replacement ``bytes[offsets[r, 1]:offsets[r, 2]]``, in the rules' order."""
    data = bytearray()
    offsets = np.empty((len(rules), 3), dtype=np.int64)
    for r, (suffix, replacement) in enumerate(rules):
        offsets[r, 0] = len(data)
        data += suffix.encode("ascii")
        offsets[r, 1] = len(data)
        data += replacement.encode("ascii")
        offsets[r, 2] = len(data)
    return np.frombuffer(bytes(data), dtype=np.uint8).copy(), offsets


_S2, _O2 = _rule_table(STEP2_RULES)
_S3, _O3 = _rule_table(STEP3_RULES)
_S4, _O4 = _rule_table(STEP4_RULES)

_A, _B, _D, _E, _G, _I, _L, _N, _O, _S, _T, _U, _W, _X, _Y, _Z = (
    ord(c) for c in "abdegilnostuwxyz"
)


@njit(cache=True, nogil=True)
def _consonants(w, k, cv):  # noqa: ANN001, ANN202 - numba signatures
    """``cv[i]`` = 1 where ``w[i]`` is a consonant: not a, e, i, o, u, and a ``y`` only when
    the letter before it is not a consonant (a leading ``y`` is one). Digits are consonants.
    The pattern of a prefix is the prefix of the pattern, so one pass serves every stem."""
    previous = 0
    for i in range(k):
        ch = w[i]
        if ch == _A or ch == _E or ch == _I or ch == _O or ch == _U:  # noqa: SIM109
            c = 0
        elif ch == _Y:
            c = 1 - previous
        else:
            c = 1
        cv[i] = c
        previous = c


@njit(cache=True, nogil=True)
def _measure(cv, j):  # noqa: ANN001, ANN202
    """Porter's m of the first ``j`` letters: the number of vowel-consonant transitions."""
    m = 0
    for i in range(1, j):
        if cv[i] == 1 and cv[i - 1] == 0:
            m += 1
    return m


@njit(cache=True, nogil=True)
def _has_vowel(cv, j):  # noqa: ANN001, ANN202
    # Explicit loops, here and below: they are what numba compiles best.
    for i in range(j):  # noqa: SIM110
        if cv[i] == 0:
            return True
    return False


@njit(cache=True, nogil=True)
def _ends_cvc(w, cv, j):  # noqa: ANN001, ANN202
    """Porter's ``*o`` for the first ``j`` letters, with NLTK's two-letter vowel-consonant."""
    if j >= 3:
        last = w[j - 1]
        return (
            cv[j - 3] == 1 and cv[j - 2] == 0 and cv[j - 1] == 1
            and last != _W and last != _X and last != _Y
        )
    return j == 2 and cv[0] == 0 and cv[1] == 1


@njit(cache=True, nogil=True)
def _ends(w, k, table, start, stop):  # noqa: ANN001, ANN202
    """Whether the ``k`` letters of ``w`` end with ``table[start:stop]``."""
    n = stop - start
    if n > k:
        return False
    for i in range(n):  # noqa: SIM110
        if w[k - n + i] != table[start + i]:
            return False
    return True


@njit(cache=True, nogil=True)
def _ends3(w, k, a, b, c):  # noqa: ANN001, ANN202
    return k >= 3 and w[k - 3] == a and w[k - 2] == b and w[k - 1] == c


@njit(cache=True, nogil=True)
def _apply(w, k, cv, table, offsets, measure):  # noqa: ANN001, ANN202
    """The first rule whose suffix the word ends with, applied if its stem's m exceeds
    ``measure``; the new length (``k`` when no rule applies: no later rule is tried)."""
    for r in range(offsets.shape[0]):
        if _ends(w, k, table, offsets[r, 0], offsets[r, 1]):
            j = k - (offsets[r, 1] - offsets[r, 0])
            _consonants(w, k, cv)
            if _measure(cv, j) <= measure:
                return k
            for i in range(offsets[r, 2] - offsets[r, 1]):
                w[j + i] = table[offsets[r, 1] + i]
            return j + offsets[r, 2] - offsets[r, 1]
    return k


@njit(cache=True, nogil=True)
def _tidy_1b(w, k, j, cv):  # noqa: ANN001, ANN202
    """Step 1b once the word ends with -ed or -ing (``j`` letters without it)."""
    _consonants(w, k, cv)
    if not _has_vowel(cv, j):
        return k
    if j >= 2:
        a, b = w[j - 2], w[j - 1]
        if (a == _A and b == _T) or (a == _B and b == _L) or (a == _I and b == _Z):
            w[j] = _E
            return j + 1
        if a == b and cv[j - 1] == 1:
            return j if (b == _L or b == _S or b == _Z) else j - 1  # noqa: SIM109
    if _measure(cv, j) == 1 and _ends_cvc(w, cv, j):
        w[j] = _E
        return j + 1
    return j


@njit(cache=True, nogil=True)
def _stem(w, k, cv):  # noqa: ANN001, ANN202
    """The stem of the ``k >= 3`` letters of ``w``, in place; its length."""
    # Step 1a.
    if w[k - 1] == _S:
        if _ends3(w, k, _I, _E, _S):
            k = 3 if k == 4 else k - 2
        elif k >= 4 and w[k - 4] == _S and w[k - 3] == _S and w[k - 2] == _E:
            k -= 2
        elif w[k - 2] != _S:
            k -= 1
    # Step 1b.
    last = w[k - 1]
    if last == _D and w[k - 2] == _E:
        if _ends3(w, k, _I, _E, _D):
            k = 3 if k == 4 else k - 2
        elif _ends3(w, k, _E, _E, _D):
            _consonants(w, k, cv)
            if _measure(cv, k - 3) > 0:
                k -= 1
        else:
            k = _tidy_1b(w, k, k - 2, cv)
    elif last == _G and _ends3(w, k, _I, _N, _G):
        k = _tidy_1b(w, k, k - 3, cv)
    # Step 1c.
    if w[k - 1] == _Y and k > 2:
        _consonants(w, k, cv)
        if cv[k - 2] == 1:
            w[k - 1] = _I
    # Step 2: -alli first (and again on the result), -logi keeping its l, then the table.
    while True:
        if k >= 4 and w[k - 4] == _A and w[k - 3] == _L and w[k - 2] == _L and w[k - 1] == _I:
            _consonants(w, k, cv)
            if _measure(cv, k - 4) > 0:
                k -= 2
                continue
        if k >= 4 and w[k - 4] == _L and w[k - 3] == _O and w[k - 2] == _G and w[k - 1] == _I:
            _consonants(w, k, cv)
            if _measure(cv, k - 3) > 0:
                k -= 1
        else:
            k = _apply(w, k, cv, _S2, _O2, 0)
        break
    # Step 3.
    k = _apply(w, k, cv, _S3, _O3, 0)
    # Step 4: -ion after s or t when m > 1, then the table.
    if _ends3(w, k, _I, _O, _N):
        j = k - 3
        if j >= 1 and (w[j - 1] == _S or w[j - 1] == _T):
            _consonants(w, k, cv)
            if _measure(cv, j) > 1:
                k = j
    else:
        k = _apply(w, k, cv, _S4, _O4, 1)
    # Step 5a.
    if k >= 1 and w[k - 1] == _E:
        _consonants(w, k, cv)
        m = _measure(cv, k - 1)
        if m > 1 or (m == 1 and not _ends_cvc(w, cv, k - 1)):
            k -= 1
    # Step 5b.
    if k >= 2 and w[k - 1] == _L and w[k - 2] == _L:
        _consonants(w, k, cv)
        if _measure(cv, k - 1) > 1:
            k -= 1
    return k


@njit(cache=True, nogil=True)
def stem_joined(data):  # noqa: ANN001, ANN201
    """The stems of the words of ``data`` (lowercase ASCII letters and digits, each of 3 or
    more letters, separated by single 0 bytes), joined the same way."""
    size = data.shape[0]
    out = np.empty(size, dtype=np.uint8)
    w = np.empty(size + 1, dtype=np.uint8)
    cv = np.empty(size + 1, dtype=np.uint8)
    pos = 0
    start = 0
    for end in range(size + 1):
        if end < size and data[end] != 0:
            continue
        k = end - start
        for i in range(k):
            w[i] = data[start + i]
        if k >= 3:  # shorter words have no stem of their own (the caller sends none)
            k = _stem(w, k, cv)
        if start > 0:
            out[pos] = 0
            pos += 1
        for i in range(k):
            out[pos + i] = w[i]
        pos += k
        start = end + 1
    return out[:pos]
