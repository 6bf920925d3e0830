"""Vectorised character n-gram counting for chrF.

chrF needs the counts of every character n-gram of orders 1..6, roughly 6 x len(text) of them.
Building Python strings and Counters for each costs ~0.1 us per n-gram; instead every
character gets a small integer id, each n-gram becomes one int64 (its ids written in base
1448), and counting / intersecting is done with numpy sorts and searches.

Ids are assigned on first sight and never change, so reference encodings can be cached.
1447 ids fit (1448**6 < 2**63); a text with a character beyond that capacity is reported as
not encodable and the caller falls back to the exact pure-Python path.

With numba installed (the ``fast`` extra), :class:`GramCounts` builds its arrays and counts
matches in compiled loops (:mod:`textgym.metrics._chargrams_jit`): the same arrays and counts
in two calls instead of some 25 numpy calls, whose fixed cost dominates on sentence-length
text.
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

BASE = 1448
MAX_ORDER = 6
_CAPACITY = BASE - 1
# Number of n-grams of orders 1..MAX_ORDER of a text of length size: MAX_ORDER * size -
# _TRIANGLE once size >= MAX_ORDER, from the table below for shorter texts.
_TRIANGLE = MAX_ORDER * (MAX_ORDER - 1) // 2
_SHORT_TOTAL = [sum(max(0, size - n) for n in range(MAX_ORDER)) for size in range(MAX_ORDER)]
_BMP = 0x10000

_ids: dict[str, int] = {}
_state: dict[str, Any] = {}
# Two threads registering different new characters must never hand out the same id.
_lock = threading.Lock()


def _np() -> ModuleType:
    module = _state.get("np")
    if module is None:
        with _lock:
            import numpy as np

            if "np" not in _state:
                # BMP code point -> id (0 = not registered yet).
                _state["lut"] = np.zeros(_BMP, dtype=np.int64)
                _state["bounds"] = np.array([BASE**n for n in range(1, MAX_ORDER)], dtype=np.int64)
                _state["jit"] = _load_jit(None)
                _state["np"] = np
            module = np
    return module


def _load_jit(enabled: bool | None) -> ModuleType | None:
    from .ngram_ids import load_jit

    return load_jit(enabled, "_chargrams_jit", "compiled chrF n-gram loops")


def use_jit(enabled: bool | None) -> None:
    """Pick the compiled loops (``True``: an ``ImportError`` naming the ``fast`` extra if numba
    is missing), the numpy code (``False``) or the default, compiled if numba imports
    (``None``). Results are the same; the tests run both."""
    _np()
    _state["jit"] = _load_jit(enabled)


def _register(text: str) -> bool:
    """Give ids to unseen characters of ``text``; False if the id space is exhausted."""
    lut = _state["lut"]
    with _lock:
        for ch in set(text):
            if ch not in _ids:
                if len(_ids) >= _CAPACITY:
                    return False
                _ids[ch] = len(_ids) + 1
            if ord(ch) < _BMP:
                lut[ord(ch)] = _ids[ch]
    return True


def _bmp_points(chars: str):
    """The code points of ``chars`` (its bytes if ASCII), or None if one lies beyond the BMP
    (astral characters, emoji and rare CJK, bypass the lookup table)."""
    np = _np()
    # isascii() is a flag test: most text needs no scan for astral characters.
    if chars.isascii():
        return np.frombuffer(chars.encode("ascii"), dtype=np.uint8)
    points = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32)
    return None if points.size and int(points.max()) >= _BMP else points


def encode(chars: str):
    """Character ids (int64 array, values 1..1447) of ``chars``, or None if out of capacity."""
    np = _np()
    points = _bmp_points(chars)
    if points is None:
        if not _register(chars):
            return None
        return np.fromiter(map(_ids.__getitem__, chars), dtype=np.int64, count=len(chars))
    digits = _state["lut"][points]
    if points.size and not digits.all():
        if not _register(chars):
            return None
        digits = _state["lut"][points]
    return digits


class GramCounts:
    """Sorted distinct n-gram ids of all orders with their counts and order boundaries.

    ``starts[o - 1]`` is where the n-grams of order ``o + 1`` begin in ``ids`` (o = 1..5;
    order 1 begins at 0, and order 6 ends at ``n_distinct``): an order-n id lies in
    [BASE**(n-1), BASE**n) because every digit is at least 1. The arrays end with a sentinel
    id larger than any n-gram (count 0), so a search never runs off the end.
    """

    __slots__ = ("ids", "counts", "starts", "n_distinct")

    # Every step writes into preallocated arrays: on sentence-length text (~1000 n-grams) the
    # cost is the number of numpy calls, not the work inside them.
    def __init__(self, digits):
        np = _state["np"]
        size = len(digits)
        total = MAX_ORDER * size - _TRIANGLE if size >= MAX_ORDER else _SHORT_TOTAL[size]
        flat = np.empty(total + 1, dtype=np.int64)
        flat[:size] = digits
        prev, at = 0, size
        for n in range(1, MAX_ORDER):
            # Order n+1 ids = order n ids (minus the last) * BASE + next digit, written in place.
            length = size - n
            if length <= 0:
                break
            out = flat[at : at + length]
            np.multiply(flat[prev : prev + length], BASE, out=out)
            out += digits[n:]
            prev, at = at, at + length
        flat[-1] = BASE**MAX_ORDER  # sentinel, sorts last
        flat.sort()
        # Run-length encode the sorted ids: run starts give distinct ids, gaps give counts.
        new_run = np.empty(total + 1, dtype=bool)
        new_run[0] = True
        np.not_equal(flat[1:], flat[:-1], out=new_run[1:])
        first = new_run.nonzero()[0]
        self.ids = ids = flat[first]
        n_distinct = len(first) - 1
        counts = np.empty(n_distinct + 1, dtype=np.int64)
        np.subtract(first[1:], first[:-1], out=counts[:-1])
        counts[-1] = 0
        self.counts = counts
        self.n_distinct = n_distinct
        self.starts = ids.searchsorted(_state["bounds"])

    @classmethod
    def from_arrays(cls, ids, counts, starts) -> GramCounts:
        """The counts of arrays built elsewhere (the compiled loops), in this class's layout."""
        grams = cls.__new__(cls)
        grams.ids, grams.counts, grams.starts = ids, counts, starts
        grams.n_distinct = len(ids) - 1
        return grams

    def matches(self, ref: GramCounts) -> list[int]:
        """Per-order sum of min(hypothesis count, reference count) over shared n-grams."""
        jit = _state["jit"]
        if jit is not None:
            return jit.matches(
                self.ids, self.counts, ref.ids, ref.counts, _state["bounds"], MAX_ORDER
            ).tolist()
        np = _state["np"]
        ids = self.ids[: self.n_distinct]
        pos = ref.ids.searchsorted(ids)  # the method skips numpy's Python wrapper
        clipped = np.minimum(self.counts[: self.n_distinct], ref.counts[pos])
        clipped *= ref.ids[pos] == ids
        # Cumulative sums at the order boundaries (cum[0] = 0) give the per-order sums.
        cum = np.empty(self.n_distinct + 1, dtype=np.int64)
        cum[0] = 0
        np.cumsum(clipped, out=cum[1:])
        edges = [0, *cum[self.starts].tolist(), int(cum[-1])]
        return [edges[o + 1] - edges[o] for o in range(MAX_ORDER)]


def gram_counts(chars: str) -> GramCounts | None:
    """:class:`GramCounts` of a whitespace-free string, or None if it cannot be encoded."""
    _np()
    jit = _state["jit"]
    if jit is None:
        digits = encode(chars)
        return None if digits is None else GramCounts(digits)
    bounds = _state["bounds"]
    points = _bmp_points(chars)
    if points is None:
        digits = encode(chars)
        if digits is None:
            return None
        return GramCounts.from_arrays(*jit.gram_table(digits, BASE, MAX_ORDER, bounds))
    # The compiled call looks the characters up itself: no ids if one has none yet.
    lut = _state["lut"]
    arrays = jit.gram_table_of_points(points, lut, BASE, MAX_ORDER, bounds)
    if not len(arrays[0]):
        if not _register(chars):
            return None
        arrays = jit.gram_table_of_points(points, lut, BASE, MAX_ORDER, bounds)
    return GramCounts.from_arrays(*arrays)


def chrf_matches_many(
    hyp_chars: list[str], ref_chars: list[str], pair_refs: list[list[int]]
) -> Any:
    """chrF's per-order character n-gram matches of every hypothesis against each of its
    references, in one compiled call; ``None`` without the compiled loops or when a text cannot
    be encoded.

    Args:
        hyp_chars: The hypotheses, whitespace removed.
        ref_chars: The distinct references, whitespace removed.
        pair_refs: For each hypothesis, the indices of its references in ``ref_chars``.

    Returns:
        An int64 array of one row of ``MAX_ORDER`` match counts per entry of ``pair_refs``, in
        order (hypothesis by hypothesis): what :meth:`GramCounts.matches` gives for each.
    """
    np = _np()
    jit = _state["jit"]
    if jit is None:
        return None
    texts = hyp_chars + ref_chars
    digits = encode("".join(texts))
    if digits is None:
        return None
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    starts = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    num_hyps = len(hyp_chars)
    counts = np.fromiter(map(len, pair_refs), dtype=np.int64, count=num_hyps)
    ref_start = np.zeros(num_hyps + 1, dtype=np.int64)
    np.cumsum(counts, out=ref_start[1:])
    total = int(ref_start[-1])
    flat = np.fromiter((num_hyps + k for refs in pair_refs for k in refs), np.int64, count=total)
    out = np.empty((total, MAX_ORDER), dtype=np.int64)
    jit.chrf_matches_many(
        digits, starts, lengths, num_hyps, flat, ref_start, BASE, MAX_ORDER, _state["bounds"], out
    )
    return out
