"""Embedded translation data: a synthetic, seeded source language into simple English.

Structure of the task. The source language is verb-final (subject, object, verb: SOV). A noun
phrase is ``noun adjective* [DEF]``: adjectives follow the noun and agree with it in number
(they take a plural suffix), and a definiteness particle closes definite phrases. The object is
followed by an object-case particle; an optional postpositional phrase (``noun ... POSTP``) comes
before the verb; negation is a particle before the verb; the verb carries a present or past
suffix but no agreement. The target is SVO English: ``det adjective* noun`` with the adjectives in
mirror order, ``the`` / ``a`` / ``an`` / ``some`` chosen from definiteness, number and the next
word, plural nouns, and a verb group that agrees with the subject ("the dog sees", "the dogs
see", "the dogs saw", "the dog does not see", "the dogs did not see"). Hard data joins two
clauses with a conjunction. Every source word is a pseudo-word built from CV/CVC syllables by
the generator seed, so each seed is a different language with the same grammar.

References. ``references[0]`` is the canonical active sentence; with ``n_references=2``,
``references[1]`` is the same meaning in the passive voice ("a cat is seen by the dog ."), a
legitimate variant that exercises multi-reference scoring.

Ceiling. The mapping is a deterministic function of the source, so emitting ``references[0]``
scores 1.0 on BLEU, ROUGE-L and token F1; a policy must learn the lexicon, the reordering and
the agreement rules to get there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from textgym.tasks import _words
from textgym.tasks._common import (
    Draws,
    check_int,
    check_prob,
    check_range,
    check_tokens,
    ordered_unique,
    pseudo_words,
)
from textgym.tokenizers.embedded import detokenize

_MAX_ADJECTIVES = 3
_SUFFIX_CONSONANTS = "klmnrstv"
_SUFFIX_VOWELS = "aeiou"


@dataclass(frozen=True)
class TranslationConfig:
    """Knobs of the synthetic language pair. Defaults are the ``"medium"`` setting.

    Attributes:
        n_nouns: Nouns in the lexicon (first entries of the word list), in [4, 266].
        n_verbs: Transitive verbs, in [2, 142].
        n_adjectives: Adjectives, in [0, 108].
        n_prepositions: Prepositions for prepositional phrases, in [0, 14].
        max_adjectives: Most adjectives per noun phrase, in [0, 3].
        p_adjective: Chance of adding each further adjective (a geometric count), in [0, 1].
        p_plural: Chance a noun is plural.
        p_definite: Chance a noun phrase is definite.
        p_past: Chance a clause is in the past tense.
        p_negation: Chance a clause is negated.
        p_pp: Chance a clause has a prepositional phrase (needs ``n_prepositions >= 1``).
        max_clauses: Most clauses per sentence, in [1, 2].
        p_extra_clause: Chance of each clause beyond the first.
        n_references: 1 (active only) or 2 (active, then passive).
        min_stem_syllables: Fewest syllables in a source stem, in [1, 4].
        max_stem_syllables: Most syllables in a source stem, in [min_stem_syllables, 4].
    """

    n_nouns: int = 80
    n_verbs: int = 40
    n_adjectives: int = 40
    n_prepositions: int = 6
    max_adjectives: int = 2
    p_adjective: float = 0.4
    p_plural: float = 0.5
    p_definite: float = 0.5
    p_past: float = 0.5
    p_negation: float = 0.15
    p_pp: float = 0.3
    max_clauses: int = 1
    p_extra_clause: float = 0.0
    n_references: int = 2
    min_stem_syllables: int = 1
    max_stem_syllables: int = 3

    def __post_init__(self) -> None:
        check_int("n_nouns", self.n_nouns, 4, len(_words.NOUNS))
        check_int("n_verbs", self.n_verbs, 2, len(_words.VERBS))
        check_int("n_adjectives", self.n_adjectives, 0, len(_words.ADJECTIVES))
        check_int("n_prepositions", self.n_prepositions, 0, len(_words.PREPOSITIONS))
        check_int("max_adjectives", self.max_adjectives, 0, _MAX_ADJECTIVES)
        if self.max_adjectives > self.n_adjectives:
            raise ValueError(
                f"max_adjectives: expected at most n_adjectives={self.n_adjectives}, "
                f"got {self.max_adjectives}"
            )
        for name in ("p_adjective", "p_plural", "p_definite", "p_past", "p_negation", "p_pp"):
            check_prob(name, getattr(self, name))
        check_prob("p_extra_clause", self.p_extra_clause)
        if self.p_pp > 0 and self.n_prepositions == 0:
            raise ValueError(f"p_pp: expected 0 when n_prepositions is 0, got {self.p_pp}")
        check_int("max_clauses", self.max_clauses, 1, 2)
        check_int("n_references", self.n_references, 1, 2)
        check_int("min_stem_syllables", self.min_stem_syllables, 1, 4)
        check_int("max_stem_syllables", self.max_stem_syllables, 1, 4)
        check_range(
            "min_stem_syllables", self.min_stem_syllables,
            "max_stem_syllables", self.max_stem_syllables,
        )


DIFFICULTIES: dict[str, TranslationConfig] = {
    "easy": TranslationConfig(
        n_nouns=16, n_verbs=10, n_adjectives=8, n_prepositions=0, max_adjectives=1,
        p_adjective=0.35, p_negation=0.0, p_pp=0.0,
    ),
    "medium": TranslationConfig(),
    "hard": TranslationConfig(
        n_nouns=240, n_verbs=120, n_adjectives=100, n_prepositions=14, max_adjectives=3,
        p_adjective=0.45, p_negation=0.2, p_pp=0.5, max_clauses=2, p_extra_clause=0.4,
        min_stem_syllables=2,
    ),
}


class TranslationGenerator:
    """Samples sentence pairs of one seeded language (see the module docstring).

    Args:
        config: The knobs; ``DIFFICULTIES["medium"]`` when omitted.
        seed: Fixes the source language: its syllables, stems, suffixes and particles.

    Attributes:
        max_source_tokens: Upper bound on the tokens of a source sentence.
        max_reference_tokens: Upper bound on the tokens of any reference.
        src_nouns: (singular, plural) source forms, aligned with the English noun list.
        src_adjectives: (singular-agreeing, plural-agreeing) source forms.
        src_verbs: (present, past) source forms.
        particles: Source particles by role: ``def``, ``obj``, ``neg``, ``conj``.
        postpositions: Source postpositions, aligned with the English prepositions.
        suffixes: The seeded suffix syllables (``plural``, ``agree``, ``present``, ``past``).
    """

    def __init__(self, config: TranslationConfig | None = None, seed: int = 0) -> None:
        self.config = cfg = config if config is not None else TranslationConfig()
        self.seed = seed
        self._nouns = _words.NOUNS[: cfg.n_nouns]
        self._verbs = _words.VERBS[: cfg.n_verbs]
        self._adjectives = _words.ADJECTIVES[: cfg.n_adjectives]
        self._preps = _words.PREPOSITIONS[: cfg.n_prepositions]
        self._build_language(np.random.default_rng(seed))
        a = cfg.max_adjectives
        np_len = a + 2  # determiner or particle, adjectives, noun
        pp = cfg.p_pp > 0
        neg = cfg.p_negation > 0
        src_clause = 2 * np_len + 1 + (np_len + 1 if pp else 0) + (1 if neg else 0) + 1
        active_verb = 3 if neg else 1
        passive_verb = (3 + (1 if neg else 0)) if cfg.n_references == 2 else 0  # aux not pp by
        tgt_clause = 2 * np_len + max(active_verb, passive_verb) + (np_len + 1 if pp else 0)
        k = cfg.max_clauses
        self.max_source_tokens = k * src_clause + (k - 1) + 1
        self.max_reference_tokens = k * tgt_clause + (k - 1) + 1

    def _build_language(self, rng: np.random.Generator) -> None:
        cfg = self.config
        syll = [c + v for c in _SUFFIX_CONSONANTS for v in _SUFFIX_VOWELS]
        picks = rng.choice(len(syll), size=4, replace=False).tolist()
        names = ("plural", "agree", "present", "past")
        self.suffixes = {name: syll[i] for name, i in zip(names, picks, strict=True)}
        english = {w for group in self._target_groups() for w in group}
        taken: set[str] = set(english)

        def claim(*forms: str) -> bool:
            # Accept a stem only if every inflected form is new; then reserve them all, so no
            # two source words (stems or inflections) ever share a spelling.
            if len(set(forms)) < len(forms) or any(f in taken for f in forms):
                return False
            taken.update(forms)
            return True

        sx = self.suffixes
        span = (cfg.min_stem_syllables, cfg.max_stem_syllables)
        particles = pseudo_words(rng, 4 + len(self._preps), (1, 2), avoid=taken)
        taken.update(particles)
        self.particles = dict(zip(("def", "obj", "neg", "conj"), particles[:4], strict=True))
        self.postpositions = particles[4:]
        nouns = pseudo_words(
            rng, len(self._nouns), span, taken, lambda w: claim(w, w + sx["plural"])
        )
        self.src_nouns = [(w, w + sx["plural"]) for w in nouns]
        adjs = pseudo_words(
            rng, len(self._adjectives), span, taken, lambda w: claim(w, w + sx["agree"])
        )
        self.src_adjectives = [(w, w + sx["agree"]) for w in adjs]
        verbs = pseudo_words(
            rng, len(self._verbs), span, taken,
            lambda w: claim(w + sx["present"], w + sx["past"]),
        )
        self.src_verbs = [(w + sx["present"], w + sx["past"]) for w in verbs]

    def reference_template_words(self) -> frozenset[str]:
        """English function words of the references (determiners, auxiliaries, negation,
        the passive's "by", the conjunction): what content-word metrics ignore. Nouns, verbs,
        adjectives and prepositions carry the meaning of the source and count."""
        return frozenset(
            ["the", "a", "an", "some", "does", "do", "did", "not", "is", "are", "was", "were",
             "by", "and", "."]
        )

    def _target_groups(self) -> list[list[str]]:
        cfg = self.config
        dets = ["the", "a", "an", "some"]
        verbs = [f for v in self._verbs for f in v[:3]]
        extra = []
        if cfg.p_negation > 0:
            extra += ["does", "do", "did", "not"]
        if cfg.n_references == 2:
            verbs += [v[3] for v in self._verbs]
            extra += ["is", "are", "was", "were", "by"]
        if cfg.max_clauses > 1:
            extra.append("and")
        nouns = [f for n in self._nouns for f in n]
        return [dets, nouns, list(self._adjectives), verbs, list(self._preps), extra, ["."]]

    def lexicon(self) -> list[str]:
        """Every source and target token, source language first, without duplicates."""
        cfg = self.config
        particles = [self.particles["def"], self.particles["obj"]]
        if cfg.p_negation > 0:
            particles.append(self.particles["neg"])
        if cfg.max_clauses > 1:
            particles.append(self.particles["conj"])
        source = [
            [f for n in self.src_nouns for f in n],
            [f for a in self.src_adjectives for f in a],
            [f for v in self.src_verbs for f in v],
            particles,
            self.postpositions if cfg.p_pp > 0 else [],
        ]
        words = ordered_unique([*source, *self._target_groups()])
        check_tokens(words)
        return words

    def _noun_phrase(self, d: Draws, exclude: int) -> dict[str, Any]:
        cfg = self.config
        if exclude < 0:
            n = d.index(len(self._nouns))
        else:  # skip the excluded noun so subject and object always differ
            n = d.index(len(self._nouns) - 1)
            n += n >= exclude
        k = 0
        while k < cfg.max_adjectives and d.chance(cfg.p_adjective):
            k += 1
        return {
            "n": n,
            "plural": d.chance(cfg.p_plural),
            "definite": d.chance(cfg.p_definite),
            "adjs": d.sample(range(len(self._adjectives)), k) if k else [],
        }

    def _src_np(self, p: dict[str, Any], out: list[str]) -> int:
        head = len(out)
        num = 1 if p["plural"] else 0
        out.append(self.src_nouns[p["n"]][num])
        out.extend(self.src_adjectives[a][num] for a in p["adjs"])
        if p["definite"]:
            out.append(self.particles["def"])
        return head

    def _tgt_np(self, p: dict[str, Any], out: list[str]) -> int:
        noun = self._nouns[p["n"]][1 if p["plural"] else 0]
        adjs = [self._adjectives[a] for a in reversed(p["adjs"])]
        if p["definite"]:
            out.append("the")
        elif p["plural"]:
            out.append("some")
        else:
            out.append(_words.article(adjs[0] if adjs else noun))
        out.extend(adjs)
        out.append(noun)
        return len(out) - 1

    def _clause(self, d: Draws) -> dict[str, Any]:
        cfg = self.config
        subj = self._noun_phrase(d, -1)
        obj = self._noun_phrase(d, subj["n"])
        pp = None
        if d.chance(cfg.p_pp):
            pp = {"prep": d.index(len(self._preps)), "np": self._noun_phrase(d, -1)}
        return {
            "subj": subj, "obj": obj, "pp": pp, "verb": d.index(len(self._verbs)),
            "past": d.chance(cfg.p_past), "neg": d.chance(cfg.p_negation),
        }

    def _source(self, c: dict[str, Any], out: list[str]) -> list[int]:
        s = self._src_np(c["subj"], out)
        o = self._src_np(c["obj"], out)
        out.append(self.particles["obj"])
        if c["pp"] is not None:
            self._src_np(c["pp"]["np"], out)
            out.append(self.postpositions[c["pp"]["prep"]])
        if c["neg"]:
            out.append(self.particles["neg"])
        out.append(self.src_verbs[c["verb"]][1 if c["past"] else 0])
        return [s, o, len(out) - 1]

    def _active(self, c: dict[str, Any], out: list[str]) -> list[int]:
        base, third, past, _ = self._verbs[c["verb"]]
        s = self._tgt_np(c["subj"], out)
        singular = not c["subj"]["plural"]
        if c["neg"]:
            out += ["did" if c["past"] else ("does" if singular else "do"), "not", base]
        else:
            out.append(past if c["past"] else (third if singular else base))
        v = len(out) - 1
        o = self._tgt_np(c["obj"], out)
        self._tgt_pp(c, out)
        return [s, o, v]

    def _passive(self, c: dict[str, Any], out: list[str]) -> None:
        self._tgt_np(c["obj"], out)
        plural = c["obj"]["plural"]
        if c["past"]:
            out.append("were" if plural else "was")
        else:
            out.append("are" if plural else "is")
        if c["neg"]:
            out.append("not")
        out += [self._verbs[c["verb"]][3], "by"]
        self._tgt_np(c["subj"], out)
        self._tgt_pp(c, out)

    def _tgt_pp(self, c: dict[str, Any], out: list[str]) -> None:
        if c["pp"] is not None:
            out.append(self._preps[c["pp"]["prep"]])
            self._tgt_np(c["pp"]["np"], out)

    def generate(self, rng: np.random.Generator) -> tuple[str, list[str], dict[str, Any]]:
        """Draw one sentence pair.

        Returns:
            ``(source, references, meta)``. ``meta["clauses"]`` lists, per clause, the lemmas,
            number, definiteness, tense and negation, and ``align``: the token indices of the
            subject noun, object noun and main verb in the source and in ``references[0]``.
        """
        cfg = self.config
        d = Draws(rng)
        n_clauses = 1
        while n_clauses < cfg.max_clauses and d.chance(cfg.p_extra_clause):
            n_clauses += 1
        clauses = [self._clause(d) for _ in range(n_clauses)]
        src: list[str] = []
        act: list[str] = []
        pas: list[str] = []
        meta_clauses = []
        for i, c in enumerate(clauses):
            if i:
                src.append(self.particles["conj"])
                act.append("and")
                pas.append("and")
            s_idx = self._source(c, src)
            t_idx = self._active(c, act)
            if cfg.n_references == 2:
                self._passive(c, pas)
            meta_clauses.append(self._meta(c, s_idx, t_idx))
        src.append(".")
        act.append(".")
        refs = [detokenize(act)]
        if cfg.n_references == 2:
            pas.append(".")
            refs.append(detokenize(pas))
        return detokenize(src), refs, {"clauses": meta_clauses, "order": ["SOV", "SVO"]}

    def _meta(self, c: dict[str, Any], s_idx: list[int], t_idx: list[int]) -> dict[str, Any]:
        def np_meta(p: dict[str, Any]) -> dict[str, Any]:
            return {
                "noun": self._nouns[p["n"]][0], "plural": p["plural"], "definite": p["definite"],
                "adjectives": [self._adjectives[a] for a in p["adjs"]],
            }

        return {
            "subject": np_meta(c["subj"]),
            "object": np_meta(c["obj"]),
            "verb": self._verbs[c["verb"]][0],
            "tense": "past" if c["past"] else "present",
            "negated": c["neg"],
            "preposition": None if c["pp"] is None else self._preps[c["pp"]["prep"]],
            "align": {"source": s_idx, "target": t_idx},
        }
