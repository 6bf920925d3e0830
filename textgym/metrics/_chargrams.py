"""Vectorised character n-gram counting for chrF.

chrF needs the counts of every character n-gram of orders 1..6, roughly 6 x len(text) of them.
Building Python strings and Counters for each costs ~0.1 us per n-gram; instead every
character gets a small integer id, each n-gram becomes one int64 (its ids written in base
1448), and counting / intersecting is done with numpy sorts and searches.

Ids are assigned on first sight and never change, so reference encodings can be cached.
1447 ids fit (1448**6 < 2**63); a text with a character beyond that capacity is reported as
not encodable and the caller falls back to the exact pure-Python path.
"""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

BASE = 1448
MAX_ORDER = 6
_CAPACITY = BASE - 1
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
                _state["bounds"] = np.array(
                    [BASE**n for n in range(1, MAX_ORDER)], dtype=np.int64
                )
                _state["np"] = np
            module = np
    return module


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


def encode(chars: str):
    """Character ids (int64 array, values 1..1447) of ``chars``, or None if out of capacity."""
    np = _np()
    points = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32)
    if points.size and int(points.max()) >= _BMP:
        # Astral characters (emoji, rare CJK) bypass the lookup table.
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

    ``starts[o]:starts[o + 1]`` is the slice of ``ids`` holding n-grams of order ``o + 1``
    (an order-n id lies in [BASE**(n-1), BASE**n) because every digit is at least 1). The
    arrays end with a sentinel id larger than any n-gram (count 0), so a search never runs
    off the end.
    """

    __slots__ = ("ids", "counts", "starts", "n_distinct")

    def __init__(self, digits):
        np = _state["np"]
        size = len(digits)
        total = sum(max(0, size - n) for n in range(MAX_ORDER))
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
        first = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))
        self.ids = flat[first]
        counts = np.diff(first, append=len(flat))
        counts[-1] = 0
        self.counts = counts
        self.n_distinct = len(first) - 1
        inner = np.searchsorted(self.ids, _state["bounds"]).tolist()
        self.starts = [0, *inner, self.n_distinct]

    def matches(self, ref: GramCounts) -> list[int]:
        """Per-order sum of min(hypothesis count, reference count) over shared n-grams."""
        np = _state["np"]
        ids = self.ids[: self.n_distinct]
        pos = np.searchsorted(ref.ids, ids)
        clipped = np.minimum(self.counts[: self.n_distinct], ref.counts[pos])
        clipped *= ref.ids[pos] == ids
        cum = [0, *np.cumsum(clipped).tolist()]
        starts = self.starts
        return [cum[starts[o + 1]] - cum[starts[o]] for o in range(MAX_ORDER)]


def gram_counts(chars: str) -> GramCounts | None:
    """:class:`GramCounts` of a whitespace-free string, or None if it cannot be encoded."""
    digits = encode(chars)
    return None if digits is None else GramCounts(digits)
