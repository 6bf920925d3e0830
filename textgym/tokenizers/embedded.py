"""The embedded word-level tokenizer, built from a generator's closed lexicon.

Embedded texts are sequences of lowercase words and single punctuation marks. Words are joined by
one space and closing punctuation sticks to the word before it, so that
``detokenize(split_tokens(text)) == text`` for every text the generators write, and a tokenizer
built from their lexicon round-trips references exactly (the reference policy scores 1.0).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

PAD, EOS, UNK = "<pad>", "<eos>", "<unk>"
SPECIAL_TOKENS = (PAD, EOS, UNK)

#: Punctuation written without a space before it.
CLOSING_PUNCTUATION = frozenset(".,?!:;")

_TOKEN_RE = re.compile(r"[^\W_]+|[^\w\s]|_")


def split_tokens(text: str) -> list[str]:
    """Split text into words (runs of letters and digits) and single punctuation marks."""
    return _TOKEN_RE.findall(text)


def detokenize(tokens: Iterable[str]) -> str:
    """Join tokens into text: one space between words, none before closing punctuation."""
    out: list[str] = []
    for token in tokens:
        if out and token not in CLOSING_PUNCTUATION:
            out.append(" ")
        out.append(token)
    return "".join(out)


class WordTokenizer:
    """A closed-vocabulary word tokenizer.

    Ids 0, 1 and 2 are ``<pad>``, ``<eos>`` and ``<unk>``; the words follow in the order given.
    The object is immutable after construction, picklable and cheap to share between envs.

    Args:
        words: The vocabulary, without special tokens. Duplicates are an error, so that two
            tokenizers built from the same lexicon always agree on ids.

    Raises:
        ValueError: If ``words`` repeats a token, contains a special token, or contains a string
            that :func:`split_tokens` would not keep as one token.
    """

    def __init__(self, words: Iterable[str]) -> None:
        words = list(words)
        vocab = [*SPECIAL_TOKENS, *words]
        index: dict[str, int] = {}
        for i, token in enumerate(vocab):
            if token in index:
                raise ValueError(f"words: token {token!r} appears more than once")
            if i >= len(SPECIAL_TOKENS) and split_tokens(token) != [token]:
                raise ValueError(
                    f"words: {token!r} is not a single word or punctuation mark "
                    "(expected letters/digits only, or one punctuation character)"
                )
            index[token] = i
        self._vocab = tuple(vocab)
        self._index = index
        # Each id's text as it appears after a previous token, so that decoding is one join:
        # words carry their separating space, closing punctuation none, PAD and EOS nothing.
        self._pieces = tuple(
            "" if i < 2 else (t if t in CLOSING_PUNCTUATION else " " + t)
            for i, t in enumerate(vocab)
        )
        self._piece_array = np.array(self._pieces, dtype=object)

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def eos_id(self) -> int:
        return 1

    @property
    def unk_id(self) -> int:
        return 2

    @property
    def vocab(self) -> tuple[str, ...]:
        """All tokens, indexed by id."""
        return self._vocab

    def token_to_id(self, token: str) -> int:
        """The id of ``token``, or ``unk_id`` when it is not in the vocabulary."""
        return self._index.get(token, self.unk_id)

    def encode(self, text: str) -> list[int]:
        """Ids of the words and punctuation marks of ``text``; unknown ones map to ``unk_id``."""
        index, unk = self._index, self.unk_id
        return [index.get(token, unk) for token in split_tokens(text)]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``. PAD and EOS produce nothing; ``<unk>`` is written out."""
        pieces = self._pieces
        ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        try:
            text = "".join([pieces[i] for i in ids])
        except (IndexError, TypeError):
            text = None
        if text is None or (ids and min(ids) < 0):
            size = len(pieces)
            bad = next(i for i in ids if not (isinstance(i, int) and 0 <= i < size))
            raise ValueError(f"ids: {bad!r} is not a token id in [0, {size})")
        return text[1:] if text.startswith(" ") else text

    def decode_rows(self, ids: np.ndarray) -> list[str]:
        """:meth:`decode` of each row of a 2-D id array, with one join for all rows.

        PAD and EOS decode to nothing, so rows may be padded with either.

        Raises:
            ValueError: If ``ids`` is not a 2-D integer array of ids in ``[0, vocab_size)``.
        """
        array = np.asarray(ids)
        if array.ndim != 2 or array.dtype.kind not in "iu":
            raise ValueError(
                f"ids: expected a 2-D integer array, got shape {array.shape} of {array.dtype}"
            )
        if array.size and (array.min() < 0 or array.max() >= len(self._pieces)):
            bad = int(array[(array < 0) | (array >= len(self._pieces))][0])
            raise ValueError(f"ids: {bad!r} is not a token id in [0, {len(self._pieces)})")
        # A newline ends each row: no piece contains one (words and marks hold no whitespace),
        # so a single join and split replaces a join per row.
        pieces = np.empty((array.shape[0], array.shape[1] + 1), dtype=object)
        pieces[:, :-1] = self._piece_array[array]
        pieces[:, -1] = "\n"
        texts = "".join(pieces.ravel().tolist()).split("\n")[:-1]
        return [text[1:] if text[:1] == " " else text for text in texts]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WordTokenizer) and self._vocab == other._vocab

    def __hash__(self) -> int:
        return hash(self._vocab)

    def __repr__(self) -> str:
        return f"WordTokenizer(vocab_size={self.vocab_size})"
