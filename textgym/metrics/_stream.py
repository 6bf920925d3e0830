"""Incremental building blocks: token streams and n-gram multisets with clipped matches.

A dense-reward episode scores every prefix of a growing hypothesis. Re-scoring from scratch
costs O(length) per step; these helpers keep the tokens that can no longer change and the
hypothesis n-gram counts, so an appended piece only costs work proportional to the piece.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

# A cut after any whitespace character is final for tokenisers whose tokens never span
# whitespace and whose per-character rewrites do not look across it (rouge, SQuAD, chrF++).
WHITESPACE_CUT = re.compile(r"(?<=\s)(?=\S)")


def common_prefix_len(a: Sequence, b: Sequence) -> int:
    """Length of the longest common prefix of two strings or lists (binary search, C compares)."""
    hi = min(len(a), len(b))
    if a[:hi] == b[:hi]:
        return hi
    lo = 0  # invariant: a[:lo] == b[:lo] and a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


class MemoizedTokenizer(Protocol):
    """A tokeniser with its results cache (``cache.clear()`` frees it)."""

    cache: dict[str, list]

    def __call__(self, text: str) -> list: ...


def memoize_tokenizer(fn: Callable[[str], list], limit: int = 200_000) -> MemoizedTokenizer:
    """Cache a tokeniser's results by input string (cleared wholesale past ``limit`` entries).

    Dense-reward episodes re-tokenise the same short words and tails over and over, across
    steps and episodes. The returned lists are shared and must not be mutated.
    """
    cache: dict[str, list] = {}

    def cached(text: str) -> list:
        tokens = cache.get(text)
        if tokens is None:
            if len(cache) >= limit:
                cache.clear()
            tokens = cache[text] = fn(text)
        return tokens

    # A closure, not a class with __call__: it is called on every dense-reward step.
    memoized = cast(MemoizedTokenizer, cached)
    memoized.cache = cache
    return memoized


class TokenStream:
    """Tokens of a growing text, committing tokens that later text can no longer change.

    Tokens before a *safe cut* (a position where tokenising the two sides separately gives the
    same tokens as tokenising the whole) are final. Each :meth:`update` re-tokenises only the
    text after the last cut that survives, so appending a word piece costs O(piece).

    Args:
        cut: Regex whose match positions are the safe cuts.
        chunk: Tokeniser for text between two cuts.
        tail: Tokeniser for the text after the last cut (it is the end of the segment).
    """

    __slots__ = ("_cut", "_chunk", "_tail", "_text", "_cuts", "_counts")

    def __init__(self, cut: re.Pattern, chunk: Callable[[str], list], tail: Callable[[str], list]):
        self._cut = cut
        self._chunk = chunk
        self._tail = tail
        self.reset()

    def reset(self) -> None:
        """Forget all text."""
        self._text = ""
        self._cuts: list[int] = []
        self._counts: list[int] = []

    def update(self, text: str) -> tuple[int, list]:
        """Tokenise ``text``, reusing the committed tokens of the previous text.

        Returns:
            ``(keep, suffix)``: the first ``keep`` tokens of the previous call's token list are
            unchanged and the new token list is ``previous[:keep] + suffix``.
        """
        prev = self._text
        cuts = self._cuts
        counts = self._counts
        if text.startswith(prev):
            # Positions before len(prev) were already examined for cuts (a cut at q depends
            # only on text[q - 1] and text[q]).
            search_from = len(prev)
        else:
            # A cut at q only depends on text[:q + 1], so it survives iff q < divergence point.
            lcp = common_prefix_len(prev, text)
            while cuts and cuts[-1] >= lcp:
                cuts.pop()
                counts.pop()
            search_from = 0
        self._text = text
        start = cuts[-1] if cuts else 0
        keep = total = counts[-1] if counts else 0
        suffix: list = []
        match = self._cut.search(text, search_from if search_from > start else start + 1)
        while match is not None:
            q = match.start()
            piece = self._chunk(text[start:q])
            suffix += piece
            total += len(piece)
            cuts.append(q)
            counts.append(total)
            start = q
            match = self._cut.search(text, q + 1)
        tail = self._tail(text[start:])
        return keep, (suffix + tail) if suffix else tail


class NgramTable:
    """Multiset of n-grams of a sequence with clipped match counts against K references.

    ``index`` maps an n-gram to ``((ref_idx, ref_count), ...)``; ``matched[k][o]`` is then
    sum over n-grams g of order ``orders[o]`` of min(count_hyp(g), count_ref_k(g)), maintained
    under appending and truncating the sequence.

    Args:
        index: n-gram -> tuple of (reference index, count in that reference).
        n_refs: Number of references K.
        orders: The n-gram orders tracked.
        as_tuple: Key token n-grams as tuples (token sequences); else as substrings (chars).
    """

    __slots__ = ("index", "orders", "as_tuple", "seq", "counts", "matched")

    def __init__(self, index: dict, n_refs: int, orders: Sequence[int], as_tuple: bool):
        self.index = index
        self.orders = tuple(orders)
        self.as_tuple = as_tuple
        # A list of tokens or a str of characters, never a mix of the two (which a union
        # type would allow).
        self.seq: Any = [] if as_tuple else ""
        self.counts: dict = {}
        self.matched = [[0] * len(self.orders) for _ in range(n_refs)]

    def __len__(self) -> int:
        return len(self.seq)

    def replace(self, keep: int, suffix: list | str) -> None:
        """Make the sequence ``seq[:keep] + suffix``, touching only n-grams that change."""
        seq = self.seq
        old = seq[keep:]
        j = 0
        limit = min(len(old), len(suffix))
        while j < limit and old[j] == suffix[j]:
            j += 1
        pos = keep + j
        counts, index, matched, orders = self.counts, self.index, self.matched, self.orders
        tup = self.as_tuple
        # Hot loop of every dense-reward step: kept flat (no helper calls) on purpose.
        for i in range(len(seq) - 1, pos - 1, -1):
            for o, n in enumerate(orders):
                if i < n - 1:
                    break
                gram = tuple(seq[i - n + 1 : i + 1]) if tup else seq[i - n + 1 : i + 1]
                c = counts[gram]
                owners = index.get(gram)
                if owners is not None:
                    for k, rc in owners:
                        if c <= rc:
                            matched[k][o] -= 1
                if c == 1:
                    del counts[gram]
                else:
                    counts[gram] = c - 1
        if j < len(suffix):
            seq = seq[:pos] + suffix[j:]
        elif pos < len(seq):
            seq = seq[:pos]
        self.seq = seq
        for i in range(pos, len(seq)):
            for o, n in enumerate(orders):
                if i < n - 1:
                    break
                gram = tuple(seq[i - n + 1 : i + 1]) if tup else seq[i - n + 1 : i + 1]
                c = counts.get(gram, 0) + 1
                counts[gram] = c
                owners = index.get(gram)
                if owners is not None:
                    for k, rc in owners:
                        if c <= rc:
                            matched[k][o] += 1


class MergedNgramTable(NgramTable):
    """:class:`NgramTable` against one merged reference table (BLEU's max-over-refs counts).

    ``index`` maps an n-gram straight to its count and ``matched`` has a single row; the
    loops are the same as the general case minus the per-reference indirection.
    """

    __slots__ = ()

    def __init__(self, index: dict, orders: Sequence[int]):
        super().__init__(index, 1, orders, as_tuple=True)

    def replace(self, keep: int, suffix: list | str) -> None:
        """Make the sequence ``seq[:keep] + suffix`` (see :meth:`NgramTable.replace`)."""
        seq = self.seq
        old = seq[keep:]
        j = 0
        limit = min(len(old), len(suffix))
        while j < limit and old[j] == suffix[j]:
            j += 1
        pos = keep + j
        counts, index, orders = self.counts, self.index, self.orders
        matched = self.matched[0]
        for i in range(len(seq) - 1, pos - 1, -1):
            for o, n in enumerate(orders):
                if i < n - 1:
                    break
                gram = tuple(seq[i - n + 1 : i + 1])
                c = counts[gram]
                if c <= index.get(gram, 0):
                    matched[o] -= 1
                if c == 1:
                    del counts[gram]
                else:
                    counts[gram] = c - 1
        if j < len(suffix):
            seq = seq[:pos] + suffix[j:]
        elif pos < len(seq):
            seq = seq[:pos]
        self.seq = seq
        for i in range(pos, len(seq)):
            for o, n in enumerate(orders):
                if i < n - 1:
                    break
                gram = tuple(seq[i - n + 1 : i + 1])
                c = counts.get(gram, 0) + 1
                counts[gram] = c
                if c <= index.get(gram, 0):
                    matched[o] += 1


def build_index(ref_counts: Sequence[Sequence[dict]], as_tuple: bool) -> dict:
    """Merge per-reference, per-order count dicts into an :class:`NgramTable` index.

    Args:
        ref_counts: ``ref_counts[k][o]`` maps n-grams of order ``o`` of reference ``k`` to
            counts. Token unigrams may be keyed by plain strings; they are re-keyed as
            1-tuples when ``as_tuple`` is set.
        as_tuple: Whether table keys are tuples.

    Returns:
        n-gram -> tuple of (reference index, count).
    """
    index: dict = {}
    for k, per_order in enumerate(ref_counts):
        for table in per_order:
            for gram, count in table.items():
                key = (gram,) if as_tuple and not isinstance(gram, tuple) else gram
                index[key] = index.get(key, ()) + ((k, count),)
    return index
