"""Tests of the embedded data generators (translation, summarization, dialogue)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textgym.tasks import _words
from textgym.tasks.dialogue.generator import DIFFICULTIES as DIAL
from textgym.tasks.dialogue.generator import DialogueConfig, DialogueGenerator
from textgym.tasks.summarization.generator import DIFFICULTIES as SUMM
from textgym.tasks.summarization.generator import SummarizationConfig, SummarizationGenerator
from textgym.tasks.translation.generator import DIFFICULTIES as TRANS
from textgym.tasks.translation.generator import TranslationConfig, TranslationGenerator
from textgym.tokenizers.embedded import detokenize, split_tokens

FAMILIES: dict[str, tuple[type, dict[str, Any]]] = {
    "translation": (TranslationGenerator, TRANS),
    "summarization": (SummarizationGenerator, SUMM),
    "dialogue": (DialogueGenerator, DIAL),
}
LEVELS = ("easy", "medium", "hard")
CASES = [(f, lvl) for f in FAMILIES for lvl in LEVELS]
N_SAMPLES = 2000
#: Lexicon size targets per difficulty (the tokenizer's vocabulary, less special tokens).
VOCAB_RANGES = {"easy": (100, 250), "medium": (400, 800), "hard": (1500, 3000)}

Sample = tuple[str, list[str], dict[str, Any]]


@cache
def generator(family: str, level: str, seed: int = 0) -> Any:
    cls, difficulties = FAMILIES[family]
    return cls(difficulties[level], seed=seed)


@cache
def samples(family: str, level: str) -> list[Sample]:
    gen = generator(family, level)
    rng = np.random.default_rng(1234)
    return [gen.generate(rng) for _ in range(N_SAMPLES)]


def draw(gen: Any, rng_seed: int, n: int) -> list[Sample]:
    rng = np.random.default_rng(rng_seed)
    return [gen.generate(rng) for _ in range(n)]


# -- properties shared by the three families ------------------------------------------------


def test_difficulty_names() -> None:
    for _, difficulties in FAMILIES.values():
        assert list(difficulties) == list(LEVELS)


@pytest.mark.parametrize(("family", "level"), CASES)
def test_deterministic(family: str, level: str) -> None:
    cls, difficulties = FAMILIES[family]
    a, b = cls(difficulties[level], seed=7), cls(difficulties[level], seed=7)
    assert a.lexicon() == b.lexicon()
    assert draw(a, 3, 50) == draw(b, 3, 50)
    assert draw(a, 3, 50) != draw(a, 4, 50)


@pytest.mark.parametrize(("family", "level"), CASES)
def test_seed_changes_world(family: str, level: str) -> None:
    cls, difficulties = FAMILIES[family]
    a, b = cls(difficulties[level], seed=0), cls(difficulties[level], seed=1)
    assert a.lexicon() != b.lexicon()
    assert [s for s, _, _ in draw(a, 5, 20)] != [s for s, _, _ in draw(b, 5, 20)]


def test_translation_seed_is_a_new_language_with_the_same_grammar() -> None:
    a, b = TranslationGenerator(TRANS["medium"], 0), TranslationGenerator(TRANS["medium"], 1)
    for (src_a, refs_a, meta_a), (src_b, refs_b, meta_b) in zip(
        draw(a, 9, 30), draw(b, 9, 30), strict=True
    ):
        # The draws do not depend on the lexicon: same meaning, same English, other words.
        assert refs_a == refs_b and meta_a == meta_b
        assert set(split_tokens(src_a)) != set(split_tokens(src_b))
    assert set(a.src_nouns).isdisjoint(b.src_nouns)


@pytest.mark.parametrize(("family", "level"), CASES)
def test_lexicon(family: str, level: str) -> None:
    gen = generator(family, level)
    lexicon = gen.lexicon()
    assert len(lexicon) == len(set(lexicon)), "duplicates in the lexicon"
    assert all(split_tokens(w) == [w] and w == w.lower() for w in lexicon)
    low, high = VOCAB_RANGES[level]
    assert low <= len(lexicon) <= high
    known = set(lexicon)
    for source, references, _ in samples(family, level):
        for text in (source, *references):
            missing = set(split_tokens(text)) - known
            assert not missing, f"{missing} not in the lexicon: {text!r}"


@pytest.mark.parametrize(("family", "level"), CASES)
def test_text_format_and_bounds(family: str, level: str) -> None:
    gen = generator(family, level)
    for source, references, meta in samples(family, level):
        assert references and all(r.strip() for r in references)
        for text in (source, *references):
            assert detokenize(split_tokens(text)) == text
            assert text == text.lower() and text.strip() == text
        assert len(split_tokens(source)) <= gen.max_source_tokens
        assert max(len(split_tokens(r)) for r in references) <= gen.max_reference_tokens
        json.dumps(meta)


@pytest.mark.parametrize(("family", "level"), CASES)
def test_sources_are_varied(family: str, level: str) -> None:
    sources = [s for s, _, _ in samples(family, level)]
    assert len(set(sources)) >= 0.95 * len(sources)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), family=st.sampled_from(sorted(FAMILIES)))
def test_any_rng_seed_gives_a_valid_sample(seed: int, family: str) -> None:
    gen = generator(family, "medium")
    source, references, _ = gen.generate(np.random.default_rng(seed))
    known = set(gen.lexicon())
    for text in (source, *references):
        tokens = split_tokens(text)
        assert detokenize(tokens) == text and set(tokens) <= known
    assert len(split_tokens(source)) <= gen.max_source_tokens


# -- translation ----------------------------------------------------------------------------

_VERBS = {v[0]: v for v in _words.VERBS}
_NOUNS = {n[0]: n for n in _words.NOUNS}


@pytest.mark.parametrize("level", LEVELS)
def test_translation_structure(level: str) -> None:
    gen = generator("translation", level)
    lemmas = [n for n, _ in _words.NOUNS[: gen.config.n_nouns]]
    seen = set()
    for source, references, meta in samples("translation", level):
        src, tgt = split_tokens(source), split_tokens(references[0])
        for c in meta["clauses"]:
            s, o, v = c["align"]["source"]
            ts, to, tv = c["align"]["target"]
            assert s < o < v and ts < tv < to  # SOV source, SVO target
            subj, obj = c["subject"], c["object"]
            # Number: the noun's form in both languages follows meta.
            for np_meta, i, j in ((subj, s, ts), (obj, o, to)):
                num = int(np_meta["plural"])
                assert tgt[j] == _NOUNS[np_meta["noun"]][num]
                assert src[i] == gen.src_nouns[lemmas.index(np_meta["noun"])][num]
                det = tgt[j - len(np_meta["adjectives"]) - 1]
                assert det == "the" if np_meta["definite"] else det in ("a", "an", "some")
                if np_meta["adjectives"]:  # adjectives follow the noun, mirrored in English
                    adjs = tgt[j - len(np_meta["adjectives"]) : j]
                    assert adjs == np_meta["adjectives"][::-1]
            base, third, past, _ = _VERBS[c["verb"]]
            if c["negated"]:
                aux = "did" if c["tense"] == "past" else "do" if subj["plural"] else "does"
                assert tgt[tv - 2 : tv + 1] == [aux, "not", base]
            elif c["tense"] == "past":
                assert tgt[tv] == past
            else:  # subject-verb agreement
                assert tgt[tv] == (base if subj["plural"] else third)
            seen.add((c["tense"], subj["plural"], c["negated"]))
        if gen.config.n_references == 2:
            assert " by " in references[1] and references[1] != references[0]
    expected = 8 if gen.config.p_negation > 0 else 4
    assert len(seen) == expected, "every tense x number (x negation) combination shows up"


# -- summarization --------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_summary_is_derivable_and_selective(level: str) -> None:
    gen = generator("summarization", level)
    events = set()
    for document, (summary,), meta in samples("summarization", level):
        doc_tokens = set(split_tokens(document))
        for value in meta["facts"].values():
            assert set(value.split()) <= doc_tokens
        assert set(split_tokens(summary)) <= doc_tokens | gen.summary_words
        assert document.count(".") == meta["n_sentences"]
        key = meta["key_sentences"]
        assert 1 <= len(key) == gen.config.summary_facts + 1
        assert meta["n_sentences"] > len(key), "the document has sentences the summary skips"
        assert len(split_tokens(summary)) < len(split_tokens(document))
        events.add(meta["event"])
    assert events == set(gen.config.event_types)


# -- dialogue -------------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_reply_uses_the_asked_fact(level: str) -> None:
    gen = generator("dialogue", level)
    scenarios = set()
    for context, (reply,), meta in samples("dialogue", level):
        ctx = split_tokens(context)
        assert ctx[:2] in (["user", ":"], ["assistant", ":"]) and ctx[-1] == "?"
        last_turn = ctx[len(ctx) - ctx[::-1].index(":") :]
        reply_tokens = split_tokens(reply)
        assert set(reply_tokens) <= set(ctx) | gen.reply_words
        for asked in meta["asked"]:
            scenarios.add(asked["scenario"])
            key, *values = asked["answer"].values()
            assert key in last_turn  # the question names the fact
            for value in values:
                assert set(value.split()) <= set(ctx) and set(value.split()) <= set(reply_tokens)
            assert asked["distractors"], "at least one same-scenario distractor"
            for distractor in asked["distractors"]:
                assert distractor != asked["answer"]
                assert all(set(x.split()) <= set(ctx) for x in distractor.values())
    assert scenarios == set(gen.config.scenarios)


# -- config validation ----------------------------------------------------------------------

BAD_CONFIGS = [
    (TranslationConfig, {"n_nouns": 2}, "n_nouns"),
    (TranslationConfig, {"n_nouns": True}, "n_nouns"),
    (TranslationConfig, {"p_plural": 1.5}, "p_plural"),
    (TranslationConfig, {"max_clauses": 3}, "max_clauses"),
    (TranslationConfig, {"n_references": 0}, "n_references"),
    (TranslationConfig, {"n_prepositions": 0, "p_pp": 0.5}, "p_pp"),
    (TranslationConfig, {"n_adjectives": 1, "max_adjectives": 2}, "max_adjectives"),
    (TranslationConfig, {"min_stem_syllables": 3, "max_stem_syllables": 2}, "min_stem_syllables"),
    (SummarizationConfig, {"event_types": ("match", "wedding")}, "event_types"),
    (SummarizationConfig, {"event_types": ()}, "event_types"),
    (SummarizationConfig, {"summary_facts": 4}, "summary_facts"),
    (SummarizationConfig, {"min_distractors": 5, "max_distractors": 2}, "min_distractors"),
    (SummarizationConfig, {"p_same_type": -0.1}, "p_same_type"),
    (SummarizationConfig, {"max_number": 5}, "max_number"),
    (SummarizationConfig, {"n_places": 3}, "n_places"),
    (DialogueConfig, {"scenarios": ("weather",)}, "scenarios"),
    (DialogueConfig, {"min_facts": 1}, "min_facts"),
    (DialogueConfig, {"max_facts": 9}, "max_facts"),
    (DialogueConfig, {"n_names": 3}, "n_names"),
    (DialogueConfig, {"p_ack": 2.0}, "p_ack"),
    (DialogueConfig, {"min_smalltalk": 3, "max_smalltalk": 1}, "min_smalltalk"),
    (DialogueConfig, {"max_price": "60"}, "max_price"),
]


@pytest.mark.parametrize(("cls", "kwargs", "knob"), BAD_CONFIGS)
def test_config_validation_names_the_knob(cls: type, kwargs: dict[str, Any], knob: str) -> None:
    with pytest.raises(ValueError, match=knob):
        cls(**kwargs)


@settings(max_examples=25, deadline=None)
@given(
    knobs=st.fixed_dictionaries(
        {
            "n_nouns": st.integers(4, 30),
            "n_adjectives": st.integers(3, 20),
            "max_adjectives": st.integers(0, 3),
            "p_adjective": st.floats(0, 1),
            "p_negation": st.floats(0, 1),
            "p_pp": st.floats(0, 1),
            "max_clauses": st.integers(1, 2),
            "p_extra_clause": st.floats(0, 1),
            "n_references": st.integers(1, 2),
        }
    ),
    seed=st.integers(0, 1000),
)
def test_translation_bounds_hold_for_any_config(knobs: dict[str, Any], seed: int) -> None:
    gen = TranslationGenerator(TranslationConfig(**knobs), seed=seed)
    known = set(gen.lexicon())
    for source, references, _ in draw(gen, seed, 30):
        assert len(split_tokens(source)) <= gen.max_source_tokens
        for ref in references:
            assert len(split_tokens(ref)) <= gen.max_reference_tokens
            assert set(split_tokens(ref)) <= known
        assert set(split_tokens(source)) <= known
