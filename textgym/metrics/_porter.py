"""The Porter stemmer as rouge-score applies it: NLTK's ``PorterStemmer()`` (its default
``NLTK_EXTENSIONS`` mode), re-implemented for speed.

rouge-score stems every token longer than 3 characters with ``nltk.stem.porter.PorterStemmer``;
that stemmer was most of a cold ROUGE call (about 40 us per new word). This module computes the
same stems for the tokens the rouge tokeniser yields (lowercase ASCII letters and digits) at a
fraction of the cost: each step finds its rule by the word's last two letters (a dict lookup
instead of trying every suffix in turn), and a word's consonant/vowel pattern is built once
per step with ``str.translate``, so that a measure is a substring count.

The rules are Porter's (1980) with the NLTK extensions that mode adds: a table of irregular
forms, ``-ies``/``-ied`` of 4-letter words to ``-ie``, step 1c turning ``y`` into ``i`` only
after a consonant that is not the first letter, step 2 trying ``-alli`` first and knowing
``-fulli`` and ``-logi`` (the ``l`` kept with the stem), and a two-letter vowel-consonant stem
counting as ``*o``. NLTK's stemmer is the oracle: ``tests/test_porter.py`` compares the two on
every word of the bundled data and on generated strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from ._jit import AutoJit

__all__ = ["nltk_stem", "nltk_stem_many", "use_jit"]

# NLTK's irregular forms: looked up before any rule.
_IRREGULAR = {
    "sky": "sky", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie", "news": "news",
    "innings": "inning", "inning": "inning", "outings": "outing", "outing": "outing",
    "cannings": "canning", "canning": "canning", "howe": "howe", "proceed": "proceed",
    "exceed": "exceed", "succeed": "succeed",
}  # fmt: skip

# Letters to "v" (a, e, i, o, u), "c" (other letters and digits) or "y" (resolved by position).
_CV_TABLE = str.maketrans(
    {**{ch: "c" for ch in "bcdfghjklmnpqrstvwxz0123456789"}, **dict.fromkeys("aeiou", "v")}
)
_STEMMABLE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


def _cv(word: str) -> str:
    """The word's consonant ("c") / vowel ("v") pattern: a ``y`` is a vowel exactly when the
    letter before it is a consonant (so a leading ``y`` is a consonant)."""
    cv = word.translate(_CV_TABLE)
    if "y" not in cv:
        return cv
    chars = list(cv)
    previous = "v"
    for k, ch in enumerate(chars):
        if ch == "y":
            ch = chars[k] = "v" if previous == "c" else "c"
        previous = ch
    return "".join(chars)


def _ends_cvc(stem: str, cv: str) -> bool:
    """Porter's ``*o`` for ``stem`` (``cv`` its pattern, or a longer word's: only the first
    ``len(stem)`` entries are read), with NLTK's two-letter vowel-consonant case."""
    k = len(stem)
    if k >= 3:
        return cv[k - 3 : k] == "cvc" and stem[-1] not in "wxy"
    return k == 2 and cv[:2] == "vc"


# Steps 2 to 4: per last two letters, the (suffix, replacement) rules that can match, in NLTK's
# order (the first suffix that matches decides, whether or not its condition holds).
def _by_ending(rules: list[tuple[str, str]]) -> dict[str, tuple[tuple[str, str], ...]]:
    table: dict[str, list[tuple[str, str]]] = {}
    for suffix, replacement in rules:
        table.setdefault(suffix[-2:], []).append((suffix, replacement))
    return {ending: tuple(group) for ending, group in table.items()}


#: Step 2's rules in NLTK's order (``-logi`` is handled apart: its measure is not its stem's).
STEP2_RULES = [
    ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"),
    ("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"),
    ("ization", "ize"), ("ation", "ate"), ("ator", "ate"), ("alism", "al"), ("iveness", "ive"),
    ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"),
    ("fulli", "ful"),
]  # fmt: skip
#: Step 3's rules.
STEP3_RULES = [
    ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""),
    ("ness", ""),
]  # fmt: skip
#: Step 4's rules (``-ion`` is handled apart: it has its own condition).
STEP4_RULES = [
    (suffix, "") for suffix in (
        "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent",
        "ou", "ism", "ate", "iti", "ous", "ive", "ize",
    )
]  # fmt: skip
_STEP2 = _by_ending(STEP2_RULES)
_STEP3 = _by_ending(STEP3_RULES)
_STEP4 = _by_ending(STEP4_RULES)


def _apply(word: str, rules: dict[str, tuple[tuple[str, str], ...]], measure: int) -> str:
    """The first rule of ``rules`` whose suffix ``word`` ends with, applied if the stem's
    measure exceeds ``measure``; ``word`` unchanged otherwise (no later rule is tried)."""
    for suffix, replacement in rules.get(word[-2:], ()):
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            return stem + replacement if _cv(stem).count("vc") > measure else word
    return word


def _step2(word: str) -> str:
    # NLTK tries -alli first and, when it applies, runs the result through step 2 again.
    if word.endswith("alli") and _cv(word[:-4]).count("vc") > 0:
        return _step2(word[:-2])
    if word.endswith("logi"):  # the only rule for -gi: its l stays with the measured stem
        return word[:-1] if _cv(word[:-3]).count("vc") > 0 else word
    return _apply(word, _STEP2, 0)


def _step3(word: str) -> str:
    return _apply(word, _STEP3, 0)


def _step4(word: str) -> str:
    if word.endswith("ion"):  # the only rule for -on: (m>1 and (*s or *t)) -ion goes
        stem = word[:-3]
        return stem if stem[-1:] in ("s", "t") and _cv(stem).count("vc") > 1 else word
    return _apply(word, _STEP4, 1)


def _step1b_tidy(word: str, stem: str) -> str:
    """Step 1b once ``word`` ends with -ed or -ing (``stem`` without it): the suffix goes if
    ``stem`` has a vowel, then -at, -bl, -iz get their e back, a double consonant other than
    l, s, z is undoubled, and an (m=1 and *o) stem gets an e."""
    cv = _cv(stem)
    if "v" not in cv:
        return word
    if stem.endswith(("at", "bl", "iz")):
        return stem + "e"
    if len(stem) >= 2 and stem[-1] == stem[-2] and cv[-1] == "c":
        return stem[:-1] if stem[-1] not in "lsz" else stem
    if cv.count("vc") == 1 and _ends_cvc(stem, cv):
        return stem + "e"
    return stem


@lru_cache(maxsize=1)
def _nltk_stemmer() -> Callable[[str], str]:
    from nltk.stem.porter import PorterStemmer  # importing nltk costs ~0.3 s: on first need

    return PorterStemmer().stem


def nltk_stem(word: str) -> str:
    """The stem NLTK's ``PorterStemmer().stem(word)`` returns, for a lowercase token.

    Args:
        word: A token; one of lowercase ASCII letters and digits takes the fast path, any
            other is passed to NLTK's stemmer itself.

    Returns:
        Its stem.
    """
    stem = _IRREGULAR.get(word)
    if stem is not None:
        return stem
    if len(word) <= 2:
        return word
    if not _STEMMABLE.issuperset(word):
        return _nltk_stemmer()(word)

    # Each step first tests the last letter its rules end with: most words match no rule.
    # Step 1a: -sses -> -ss, -ies -> -i (-ie for a 4-letter word), -ss stays, -s goes.
    if word[-1] == "s":
        if word.endswith("ies"):
            word = word[:-3] + "ie" if len(word) == 4 else word[:-2]
        elif word.endswith("sses"):
            word = word[:-2]
        elif word[-2] != "s":
            word = word[:-1]

    # Step 1b: -ied -> -ie/-i, (m>0) -eed -> -ee, (*v*) -ed and -ing go, then tidy up.
    last = word[-1]
    if last == "d" and word[-2] == "e":
        if word.endswith("ied"):
            word = word[:-3] + "ie" if len(word) == 4 else word[:-2]
        elif word.endswith("eed"):
            if _cv(word[:-3]).count("vc") > 0:
                word = word[:-1]
        else:
            word = _step1b_tidy(word, word[:-2])
    elif last == "g" and word.endswith("ing"):
        word = _step1b_tidy(word, word[:-3])

    # Step 1c: -y -> -i after a consonant that is not the word's first letter.
    if word[-1] == "y" and len(word) > 2 and _cv(word[:-1])[-1] == "c":
        word = word[:-1] + "i"

    word = _step4(_step3(_step2(word)))

    # Step 5a: (m>1) -e goes; so does (m=1 and not *o) -e.
    if word[-1:] == "e":
        stem = word[:-1]
        cv = _cv(stem)
        m = cv.count("vc")
        if m > 1 or (m == 1 and not _ends_cvc(stem, cv)):
            word = stem
    # Step 5b: (m>1) -ll -> -l, measured on the word less one l.
    if word[-2:] == "ll" and _cv(word[:-1]).count("vc") > 1:
        word = word[:-1]
    return word


# The compiled loops (numba, the ``fast`` extra), in the default mode once numba is loaded or
# this process has stemmed some 30,000 words in Python (about what importing numba costs).
_JIT = AutoJit("_porter_jit", "the compiled Porter stemmer", after=30_000)
_JOINABLE = re.compile(r"[a-z0-9]{3,}(?:\x00[a-z0-9]{3,})*")


def use_jit(enabled: bool | None) -> None:
    """Pick the compiled stemmer (``True``), the Python one (``False``) or the default
    (``None``, see :mod:`textgym.metrics._jit`). Stems are the same."""
    _JIT.use(enabled)


def nltk_stem_many(words: list[str]) -> list[str]:
    """:func:`nltk_stem` of each of ``words``, those of 3 or more lowercase ASCII letters
    and digits in one call of the compiled loops when they are in use.

    Args:
        words: Tokens.

    Returns:
        Their stems, in order.
    """
    # A compiled call's fixed cost (about 4 us with its joining and checks, on an AMD EPYC)
    # is about what stemming one word costs in Python (3.6 us): from 2 words on it wins.
    jit = _JIT.get(len(words)) if len(words) > 1 else None
    if jit is None:
        return [nltk_stem(word) for word in words]
    joined = "\x00".join(words)
    if not _JOINABLE.fullmatch(joined) or not _IRREGULAR.keys().isdisjoint(words):
        return [nltk_stem(word) for word in words]  # rare: NLTK's own or irregular words
    import numpy as np

    data = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    return jit.stem_joined(data).tobytes().decode("ascii").split("\x00")
