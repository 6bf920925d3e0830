"""Tokenisers shared by the metrics.

Three tokenisations live here, each reproducing a reference implementation exactly:

* ``13a`` (mteval-v13a, the sacrebleu default used by BLEU), plus the "safe cut" rule that
  lets the incremental scorers re-tokenise only the tail of a growing hypothesis.
* The rouge-score tokeniser (lowercase, ASCII alphanumeric runs, optional Porter stems).
* SQuAD answer normalisation used by token F1.

nltk is imported lazily: the first stemmed ROUGE call pays for it, nobody else does.
"""

from __future__ import annotations

import re
import string

from ._porter import nltk_stem_many

# --------------------------------------------------------------------------------------------
# 13a
# --------------------------------------------------------------------------------------------

# Characters that 13a always isolates with spaces. A per-character replacement, so no regex is
# needed. The space itself is in the original class too, but padding a space with spaces cannot
# change any later step (spaces are only ever the "non-digit" side of the period/comma rules),
# so it is left out. Sentences hold few of these characters: one C substring test per character
# and a replace for those present is several times cheaper than str.translate's per-character
# dict lookups, and gives the same text (each replacement inserts only spaces and the character
# itself, and the characters are distinct, so no replacement sees another's output).
_13A_ISOLATED = '!"#$%&()*+/:;<=>?@[\\]^_`{|}~'
_13A_PADDED = tuple((ch, f" {ch} ") for ch in _13A_ISOLATED)

# Period/comma are split off unless they sit next to a digit; a dash is split off after a
# digit. These must run as separate left-to-right non-overlapping passes, in this order, to
# agree with mteval on inputs such as "a..." or "1.-2".
_13A_PUNCT_AFTER_NONDIGIT = re.compile(r"([^0-9])([.,])")
_13A_PUNCT_BEFORE_NONDIGIT = re.compile(r"([.,])([^0-9])")
_13A_DASH_AFTER_DIGIT = re.compile(r"([0-9])(-)")
# Each branch starts with a literal character class so the regex engine can skip ahead fast.
_13A_ONE_PASS = re.compile(r"[.,](?<![0-9][.,])|[.,](?![0-9])|-(?<=[0-9]-)")
# The same pattern as one capturing group: " ".join(split(text)) equals
# sub(r" \g<0> ", text) but stays in C (Python 3.11 expands a sub template in Python per match).
_13A_ONE_PASS_SPLIT = re.compile(f"({_13A_ONE_PASS.pattern})")

# A raw position q is a safe cut when text[q-1] is whitespace other than "\n" and text[q]
# can neither start a multi-character rewrite ("<skipped>", "-\n") nor be a period/comma that
# the preceding whitespace would split off. Tokens of text[:q] are then final whatever follows:
# no rewrite spans a whitespace character that is never deleted, and no regex pass can match
# across such a boundary. The property tests in tests/test_metrics_incremental.py check this.
SAFE_CUT_13A = re.compile(r"(?<=[^\S\n])(?=[^\s<\-.,])")


def _normalise_13a(text: str) -> str:
    """Language-independent 13a rewrites (markup removal, line joins, XML entities)."""
    if "<" in text:
        text = text.replace("<skipped>", "")
    if "\n" in text:
        text = text.replace("-\n", "").replace("\n", " ")
    if "&" in text:
        # The order matters: "&amp;lt;" must end up as "<", exactly like mteval.
        text = (
            text.replace("&quot;", '"')
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
        )
    return text


def _split_13a(text: str) -> list[str]:
    """Punctuation rules of 13a applied to already normalised text, then whitespace split."""
    for ch, padded in _13A_PADDED:
        if ch in text:
            text = text.replace(ch, padded)
    if "." in text or "," in text or "-" in text:
        if ".." in text or ".," in text or ",." in text or ",," in text:
            # Adjacent periods/commas interact through the non-overlapping scans: run the
            # original passes on the space-padded text.
            text = _13A_PUNCT_AFTER_NONDIGIT.sub(r"\1 \2 ", f" {text} ")
            text = _13A_PUNCT_BEFORE_NONDIGIT.sub(r" \1 \2", text)
            if "-" in text:
                text = _13A_DASH_AFTER_DIGIT.sub(r"\1 \2 ", text)
        elif _has_digit(text):
            # Without adjacent periods/commas no two matches can overlap, and the three passes
            # reduce to one: isolate "." / "," unless between two digits, "-" after a digit.
            text = " ".join(_13A_ONE_PASS_SPLIT.split(text))
        else:
            # No digit at all (most sentences): every "." and "," is isolated, no "-" is.
            text = text.replace(".", " . ").replace(",", " , ")
    return text.split()


def _has_digit(text: str) -> bool:
    # Ten C substring scans beat one regex search on sentence-length text.
    return any(map(text.__contains__, "0123456789"))


# A run without whitespace or ASCII punctuation is one 13a token as it stands; checking this
# first makes re-tokenising the growing last word of a dense-reward episode cheap.
_13A_PLAIN = re.compile(r"[^\s!-/:-@\[-`{-~]+")


def tokenize_13a(text: str) -> list[str]:
    """Tokenise a full segment the way sacrebleu's BLEU does (``rstrip`` then 13a).

    Args:
        text: A hypothesis or reference segment.

    Returns:
        The list of 13a tokens.
    """
    if _13A_PLAIN.fullmatch(text):
        return [text]
    return _split_13a(_normalise_13a(text.rstrip()))


# Joins many texts for one-pass ROUGE tokenisation (tokenize_rouge_many): not an [a-z0-9]
# character, so no token spans it, and matched on its own it marks where each text ends.
_BATCH_SEP = "\x00"


def _split_batch(tokens: list[str], n_texts: int) -> list[list[str]]:
    out = []
    start = 0
    for _ in range(n_texts - 1):
        end = tokens.index(_BATCH_SEP, start)
        out.append(tokens[start:end])
        start = end + 1
    out.append(tokens[start:])
    return out


def tokenize_13a_many(texts: list[str]) -> list[list[str]]:
    """:func:`tokenize_13a` of each of ``texts``.

    Text by text: one pass over all of them joined was 1.8x slower on real text (SciTLDR
    TLDRs), because the joined text holds every punctuation mark and some digit, so each
    replacement copies all of it and the digit-aware regex runs over all of it, where most
    single sentences skip both; on generated text the two were even.

    Args:
        texts: Segments to tokenise.

    Returns:
        One token list per text, equal to ``[tokenize_13a(t) for t in texts]``.
    """
    return [tokenize_13a(t) for t in texts]


def tokenize_13a_chunk(chunk: str) -> list[str]:
    """Tokenise a chunk that ends at a safe cut and is followed by more text.

    Unlike :func:`tokenize_13a` this does not ``rstrip``: trailing whitespace of an inner chunk
    is not trailing whitespace of the segment (it may complete a "-\\n" rewrite, for example).

    Args:
        chunk: Raw text between two safe cuts (or from the start to a safe cut).

    Returns:
        The tokens the chunk contributes to the whole segment.
    """
    word = chunk.rstrip()
    # Trailing whitespace after a plain word cannot take part in any rewrite.
    if _13A_PLAIN.fullmatch(word):
        return [word]
    return _split_13a(_normalise_13a(chunk))


# --------------------------------------------------------------------------------------------
# rouge-score
# --------------------------------------------------------------------------------------------

# rouge-score lowercases, turns every run of non [a-z0-9] characters into a space and splits.
# The same tokens, in C: lowercase, encode as ASCII with every other code point replaced by
# "?" (one separator character each), map each byte through a table (A-Z lowered, a-z and 0-9
# kept, anything else a space) and split on whitespace; 2.8x faster than a regex findall on
# SciTLDR's TLDRs. Lowercasing comes first because it can turn a non-ASCII letter into an ASCII
# one (the Kelvin sign into "k"); for ASCII text the table does it. The tests compare this with
# rouge-score's own tokenizer on arbitrary Unicode.
_ROUGE_VALID = re.compile(r"[a-z0-9]+")
_ROUGE_VALID_JOINED = re.compile(r"(?:[a-z0-9]+(?:\x00[a-z0-9]+)*)?")


def _rouge_table(keep: bytes) -> bytes:
    table = bytearray(b" " * 256)
    for ch in b"abcdefghijklmnopqrstuvwxyz0123456789" + keep:
        table[ch] = ch
    for ch in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[ch] = ch + 32
    return bytes(table)


_ROUGE_BYTES = _rouge_table(b"")
# For many texts joined by _BATCH_SEP: the separator survives as a token of its own.
_ROUGE_BYTES_JOINED = _rouge_table(_BATCH_SEP.encode("ascii"))


def _rouge_words(text: str, table: bytes = _ROUGE_BYTES) -> list[str]:
    """rouge-score's unstemmed tokens of ``text`` (lowercase ``[a-z0-9]+`` runs)."""
    data = text.encode("ascii") if text.isascii() else text.lower().encode("ascii", "replace")
    return data.translate(table).decode("ascii").split()


_STEM_CACHE: dict[str, str] = {}
_STEM_CACHE_LIMIT = 500_000

def stem_new(tokens: list[str]) -> None:
    """Put the stems of the tokens missing from the stem cache in it, in one batch (one call
    of the compiled stemmer when it is in use); :func:`stem_tokens` then finds them all."""
    cache = _STEM_CACHE
    if len(cache) > _STEM_CACHE_LIMIT:
        cache.clear()
    missing = set(tokens).difference(cache)
    if not missing:
        return
    # rouge-score only stems tokens longer than 3 characters and then drops anything that is
    # no longer a valid [a-z0-9]+ token; "" marks such a dropped token in the cache.
    long = [tok for tok in missing if len(tok) > 3]
    if len(long) < len(missing):
        short = missing.difference(long)
        cache.update(zip(short, short, strict=True))
    if not long:
        return
    # NLTK's PorterStemmer().stem, as rouge-score calls it, faster (compiled with numba).
    stems = nltk_stem_many(long)
    if _ROUGE_VALID_JOINED.fullmatch("\x00".join(stems)):  # the usual case: all valid
        cache.update(zip(long, stems, strict=True))
    else:
        for tok, stem in zip(long, stems, strict=True):
            cache[tok] = stem if _ROUGE_VALID.fullmatch(stem) else ""


def stem_tokens(tokens: list[str]) -> list[str]:
    """Map raw rouge tokens to their (cached) Porter stems, dropping invalid stems.

    Args:
        tokens: Lowercase ``[a-z0-9]+`` tokens.

    Returns:
        Stemmed tokens, as rouge-score's ``DefaultTokenizer(use_stemmer=True)`` yields them.
    """
    cache = _STEM_CACHE
    try:
        stems = list(map(cache.__getitem__, tokens))
    except KeyError:
        stem_new(tokens)
        stems = list(map(cache.__getitem__, tokens))
    if "" in stems:
        stems = [s for s in stems if s]
    return stems


def tokenize_rouge(text: str, stem: bool) -> list[str]:
    """Tokenise like rouge-score's default tokenizer.

    Args:
        text: Text to tokenise.
        stem: Whether to apply the Porter stemmer to tokens longer than 3 characters.

    Returns:
        The token list.
    """
    tokens = _rouge_words(text)
    return stem_tokens(tokens) if stem else tokens


def rouge_words_many(texts: list[str]) -> tuple[list[str], list[list[str]]]:
    """Unstemmed rouge tokens of many texts in one pass: (all of them, with a separator token
    between texts, for :func:`stem_new`; one list per text)."""
    if len(texts) < 2 or any(_BATCH_SEP in t for t in texts):
        parts = [_rouge_words(t) for t in texts]
        return [tok for part in parts for tok in part], parts
    tokens = _rouge_words(f" {_BATCH_SEP} ".join(texts), _ROUGE_BYTES_JOINED)
    return tokens, _split_batch(tokens, len(texts))


def tokenize_rouge_many(texts: list[str], stem: bool) -> list[list[str]]:
    """:func:`tokenize_rouge` of many texts with one tokenising pass over all of them."""
    words, parts = rouge_words_many(texts)
    if not stem:
        return parts
    # Every new word of every text in one batch (the separators, 1 character long, are cached
    # as themselves and never looked up for a text).
    stem_new(words)
    return [stem_tokens(part) for part in parts]


# --------------------------------------------------------------------------------------------
# SQuAD normalisation (token F1)
# --------------------------------------------------------------------------------------------

_PUNCT_DELETE = {ord(ch): None for ch in string.punctuation}
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


def tokenize_squad(text: str) -> list[str]:
    """SQuAD answer normalisation: lowercase, delete punctuation, drop articles, split.

    Punctuation is deleted rather than replaced by a space ("don't" -> "dont"), and articles are
    removed as regex words after that, exactly as the official SQuAD evaluation script does.

    Args:
        text: Text to normalise.

    Returns:
        The normalised tokens.
    """
    return _ARTICLES.sub(" ", text.lower().translate(_PUNCT_DELETE)).split()
