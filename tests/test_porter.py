"""textgym's Porter stemmer equals NLTK's ``PorterStemmer()``, which rouge-score stems with."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textgym.metrics._porter import nltk_stem

porter = pytest.importorskip("nltk.stem.porter")
NLTK_STEM = porter.PorterStemmer().stem

# Every suffix a rule of some step looks at, so that generated words reach every branch.
SUFFIXES = (
    "ational", "tional", "enci", "anci", "izer", "bli", "abli", "alli", "entli", "eli", "ousli",
    "ization", "ation", "ator", "alism", "iveness", "fulness", "ousness", "aliti", "iviti",
    "biliti", "fulli", "logi", "icate", "ative", "alize", "iciti", "ical", "ful", "ness", "al",
    "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "sion",
    "tion", "ou", "ism", "ate", "iti", "ous", "ive", "ize", "ies", "ied", "eed", "ed", "ing",
    "sses", "ss", "s", "y", "yy", "e", "ll", "at", "bl", "iz",
)  # fmt: skip


STDLIB = (
    "argparse", "asyncio", "calendar", "collections", "configparser", "csv", "datetime",
    "decimal", "difflib", "email", "fractions", "ftplib", "functools", "heapq", "http.client",
    "imaplib", "inspect", "ipaddress", "itertools", "json", "logging", "mailbox", "os",
    "pathlib", "pickle", "pydoc", "random", "re", "shutil", "smtplib", "socket", "sqlite3",
    "statistics", "string", "subprocess", "tarfile", "tempfile", "textwrap", "threading",
    "typing", "unittest", "urllib.request", "zipfile", "textgym", "textgym.metrics",
)  # fmt: skip


def real_words() -> list[str]:
    """The rouge tokens of the standard library's docstrings (some 4,700 distinct words of
    real English that no one on this project wrote) and of textgym's own docstrings."""
    words: set[str] = set()
    for name in STDLIB:
        module = importlib.import_module(name)
        for obj in [module, *vars(module).values()]:
            doc = inspect.getdoc(obj) if callable(obj) or obj is module else None
            if doc:
                words.update(re.findall(r"[a-z0-9]+", doc.lower()))
    return sorted(words)


def test_every_real_word_stems_as_nltk_does() -> None:
    words = real_words()
    assert len(words) > 4_000  # the docstrings were found
    wrong = [(w, NLTK_STEM(w), nltk_stem(w)) for w in words if nltk_stem(w) != NLTK_STEM(w)]
    assert wrong == []


@pytest.mark.parametrize(
    "word",
    [
        # NLTK's irregular forms, its 4-letter -ies/-ied, y after a vowel or as the first letter.
        "skies", "dying", "innings", "proceed", "succeeded", "lies", "dies", "died", "spied",
        "flies", "happy", "enjoy", "enjoyment", "sky", "syzygy", "yyyy", "yelling", "ayyy",
        # Step 2's -alli first (and again), -fulli, -logi with the l kept, -abli as -bli.
        "generalli", "rationalli", "hopefulli", "geologi", "theologi", "conformabli",
        # Step 4's first-match rule among -ement, -ment, -ent; -ion after s or t only.
        "replacement", "adjustment", "dependent", "cement", "adoption", "opinion",
        # Step 5; digits are consonants.
        "controll", "roll", "probate", "cease", "2019s", "h2oing", "mp3s",
    ],
)  # fmt: skip
def test_named_cases(word: str) -> None:
    assert nltk_stem(word) == NLTK_STEM(word)


def test_a_token_outside_the_rouge_alphabet_goes_to_nltk_itself() -> None:
    for word in ("café", "naïveties", "x-rays", "Running"):
        assert nltk_stem(word) == NLTK_STEM(word)


@settings(max_examples=1000, deadline=None)
@given(
    stem=st.text(alphabet="aeiouybcdlmnstgzrvwx0", max_size=7),
    suffixes=st.lists(st.sampled_from(SUFFIXES), max_size=3),
)
def test_generated_words_stem_as_nltk_does(stem: str, suffixes: list[str]) -> None:
    word = stem + "".join(suffixes)
    assert nltk_stem(word) == NLTK_STEM(word)


# The compiled stemmer (numba, the ``fast`` extra) stems many words per call with the same
# rules; nltk_stem_many uses it once numba is loaded, so both routes are forced here.
@pytest.fixture
def compiled_stemmer():  # noqa: ANN201
    pytest.importorskip("numba")
    from textgym.metrics import _porter

    _porter.use_jit(True)
    yield _porter.nltk_stem_many
    _porter.use_jit(None)


def test_compiled_stemmer_on_every_real_word(compiled_stemmer) -> None:  # noqa: ANN001
    words = [w for w in real_words() if len(w) >= 3]
    # Batches of several sizes, as texts of several lengths send them.
    stems: list[str] = []
    for start in range(0, len(words), 37):
        stems += compiled_stemmer(words[start : start + 37])
    assert [(w, s) for w, s in zip(words, stems, strict=True) if s != NLTK_STEM(w)] == []


def test_compiled_stemmer_leaves_other_words_to_the_python_route(compiled_stemmer) -> None:  # noqa: ANN001
    # Irregular forms, words outside [a-z0-9] and short words in one batch.
    words = ["skies", "running", "café", "dying", "ab", "abc", "x-rays", "generalli", "news"]
    assert compiled_stemmer(words) == [NLTK_STEM(w) for w in words]


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(
        st.tuples(
            st.text(alphabet="aeiouybcdlmnstgzrvwx0", max_size=7),
            st.lists(st.sampled_from(SUFFIXES), max_size=3),
        ).map(lambda t: t[0] + "".join(t[1])).filter(lambda w: len(w) >= 3),
        min_size=4, max_size=40,
    )
)
def test_compiled_stemmer_on_generated_words(words: list[str]) -> None:
    pytest.importorskip("numba")
    from textgym.metrics import _porter

    _porter.use_jit(True)
    try:
        assert _porter.nltk_stem_many(words) == [NLTK_STEM(w) for w in words]
    finally:
        _porter.use_jit(None)
