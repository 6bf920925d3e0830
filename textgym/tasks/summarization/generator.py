"""Embedded summarization data: short fictional news reports and their one-line summaries.

Structure of the task. A document reports one event (a match, an election, a company deal, a
storm or a concert, by config) about entities of a seeded fictional world: people, places,
teams, companies and bands with pseudo-word names. Its sentences are the lead (the event), the
key facts the summary needs (the place, a scorer, a crowd size...), and distractors: same-type
background facts marked as old or future news ("last season , x beat y 2 to 0 .") and generic
filler. The reference selects the lead and the key facts and compresses them into a fixed
template, e.g. ``"x beat y 3 to 1 in z ; tarsi scored 2 ."``: full names shrink to last names,
facts are rephrased and joined with ";". Every summary word is copied from the document or is
one of the template's fixed words, so the summary is derivable from the document.

Knobs (see :class:`SummarizationConfig`): event types, how many key facts the summary carries,
how many distractors, how often distractors are same-type (harder to reject), whether the lead
comes first, and the world size (names, places, organisations, filler words, numbers).

Ceiling. Emitting ``references[0]`` scores 1.0 on ROUGE-L, BLEU and token F1. A good policy must
find the lead, ignore distractors even when they share the event's vocabulary, copy the right
entities and numbers, and apply the template's compressions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from textgym.tasks import _news, _words
from textgym.tasks._common import (
    Draws,
    Template,
    check_choices,
    check_int,
    check_prob,
    check_range,
    check_tokens,
    ordered_unique,
    pseudo_words,
    render,
    template_max_len,
    template_words,
)
from textgym.tokenizers.embedded import detokenize

_MAX_FACTS = 3


@dataclass(frozen=True)
class SummarizationConfig:
    """Knobs of the news world and its documents. Defaults are the ``"medium"`` setting.

    Attributes:
        event_types: Event types to draw from, a tuple of names of ``_news.EVENTS``.
        summary_facts: Key facts beyond the lead in the document and the summary, in [0, 3].
        min_distractors: Fewest distractor sentences, in [1, 30].
        max_distractors: Most distractor sentences, in [min_distractors, 30].
        p_same_type: Chance a distractor is a same-type background fact rather than filler.
        p_lead_first: Chance the lead opens the document (else it goes anywhere).
        n_first_names: First names in the world (also storm names), in [4, 2000].
        n_last_names: Last names, in [4, 2000].
        n_places: Place names, in [4, 2000].
        n_orgs: Names of each kind of organisation (teams, companies, bands), in [4, 2000].
        n_common_words: Nouns and adjectives used by filler sentences, in [2, 100].
        max_number: Largest count written in a document (scores stay in 0..7), in [12, 999].
    """

    event_types: tuple[str, ...] = tuple(_news.EVENTS)
    summary_facts: int = 2
    min_distractors: int = 4
    max_distractors: int = 6
    p_same_type: float = 0.5
    p_lead_first: float = 1.0
    n_first_names: int = 50
    n_last_names: int = 50
    n_places: int = 50
    n_orgs: int = 30
    n_common_words: int = 40
    max_number: int = 60

    def __post_init__(self) -> None:
        check_choices("event_types", self.event_types, tuple(_news.EVENTS))
        check_int("summary_facts", self.summary_facts, 0, _MAX_FACTS)
        check_int("min_distractors", self.min_distractors, 1, 30)
        check_int("max_distractors", self.max_distractors, 1, 30)
        check_range(
            "min_distractors", self.min_distractors, "max_distractors", self.max_distractors
        )
        check_prob("p_same_type", self.p_same_type)
        check_prob("p_lead_first", self.p_lead_first)
        for name in ("n_first_names", "n_last_names", "n_places", "n_orgs"):
            check_int(name, getattr(self, name), 4, 2000)
        check_int("n_common_words", self.n_common_words, 2, 100)
        check_int("max_number", self.max_number, 12, 999)


DIFFICULTIES: dict[str, SummarizationConfig] = {
    "easy": SummarizationConfig(
        event_types=("match", "storm", "concert"), summary_facts=1, min_distractors=2,
        max_distractors=3, p_same_type=0.4, n_first_names=12, n_last_names=12, n_places=12,
        n_orgs=12, n_common_words=6, max_number=20,
    ),
    "medium": SummarizationConfig(),
    "hard": SummarizationConfig(
        summary_facts=3, min_distractors=9, max_distractors=14, p_same_type=0.6,
        p_lead_first=0.5, n_first_names=300, n_last_names=300, n_places=300, n_orgs=150,
        n_common_words=100, max_number=250,
    ),
}

#: Version 1 (``TextSumm-v1``): the lead goes anywhere in the document, not first, so copying
#: the opening sentence no longer summarises it and a policy has to find the event.
DIFFICULTIES_V1: dict[str, SummarizationConfig] = {
    name: dataclasses.replace(config, p_lead_first=0.0) for name, config in DIFFICULTIES.items()
}

Values = dict[str, tuple[str, ...]]


class SummarizationGenerator:
    """Samples (document, [summary], meta) triples of one seeded news world.

    Args:
        config: The knobs; ``DIFFICULTIES["medium"]`` when omitted.
        seed: Fixes the world: the pseudo-word names of people, places and organisations.

    Attributes:
        max_source_tokens: Upper bound on the tokens of a document.
        max_reference_tokens: Upper bound on the tokens of a summary.
        summary_words: The summary templates' fixed words: every other summary token is copied
            from the document.
    """

    def __init__(self, config: SummarizationConfig | None = None, seed: int = 0) -> None:
        self.config = cfg = config if config is not None else SummarizationConfig()
        self.seed = seed
        self._events = [_news.EVENTS[name] for name in cfg.event_types]
        k = cfg.summary_facts
        fixed = [
            t for e in self._events for t in (*e.leads, e.head, *e.distractors)
        ] + [t for e in self._events for docs, frag in e.facts[:k] for t in (*docs, frag)]
        self._fixed_words = template_words([*fixed, *_news.GENERIC])
        self.summary_words = frozenset(
            template_words([e.head for e in self._events])
            + template_words([frag for e in self._events for _, frag in e.facts[:k]])
            + ["."]
        )
        nouns = _words.NOUNS[: cfg.n_common_words]
        self._nouns = [(n,) for n, _ in nouns]
        self._plurals = [(p,) for _, p in nouns]
        self._adjs = [(a,) for a in _words.ADJECTIVES[: cfg.n_common_words]]
        self._numbers = [str(i) for i in range(cfg.max_number + 1)]
        self._build_world(np.random.default_rng(seed))

        slot_max = {name: 2 for name in _news.TWO_TOKEN_SLOTS}

        def longest(templates: list[Template]) -> int:
            return max(template_max_len(t, _Default(slot_max)) for t in templates)

        distract = longest([*(t for e in self._events for t in e.distractors), *_news.GENERIC])
        self.max_source_tokens = max(
            longest(list(e.leads)) + sum(longest(list(docs)) for docs, _ in e.facts[:k])
            for e in self._events
        ) + cfg.max_distractors * distract
        self.max_reference_tokens = max(
            template_max_len(e.head, _Default(slot_max))
            + sum(template_max_len(frag, _Default(slot_max)) for _, frag in e.facts[:k])
            + 1
            for e in self._events
        )

    def _build_world(self, rng: np.random.Generator) -> None:
        cfg = self.config
        english = set(self._fixed_words) | {w for group in self._word_groups() for w in group}
        # One draw for every pool keeps all names distinct: a town never shares a team's name.
        orgs = [cfg.n_orgs] * 3  # teams, companies, bands
        sizes = [cfg.n_first_names, cfg.n_last_names, cfg.n_places, *orgs]
        names = pseudo_words(rng, sum(sizes), (2, 3), avoid=english)
        pools: list[list[str]] = []
        start = 0
        for size in sizes:
            pools.append(names[start : start + size])
            start += size
        firsts, lasts, places, teams, companies, bands = pools
        kinds = rng.integers(0, len(_news.COMPANY_KINDS), size=len(companies)).tolist()
        self._firsts = [(w,) for w in firsts]
        self._lasts = lasts
        self._places = [(w,) for w in places]
        # Slot values are word tuples: one word for a team, (name, kind) for a company.
        self._teams: list[tuple[str, ...]] = [(w,) for w in teams]
        kind_names = [_news.COMPANY_KINDS[i] for i in kinds]
        self._companies: list[tuple[str, ...]] = list(zip(companies, kind_names, strict=True))
        self._bands = [(w,) for w in bands]

    def _word_groups(self) -> list[list[str]]:
        return [
            list(_words.DAYS), self._numbers, list(_news.YEARS), list(_words.JOBS),
            list(_words.WEATHER), list(_news.BODY_PARTS), [n for (n,) in self._nouns],
            [p for (p,) in self._plurals], [a for (a,) in self._adjs],
        ]

    def reference_template_words(self) -> frozenset[str]:
        """The summary templates' fixed words: what content-word metrics ignore (every other
        summary token is a fact copied from the document)."""
        return self.summary_words

    def lexicon(self) -> list[str]:
        """Every token a document or summary can contain: template words, then the world."""
        names = {e.name for e in self._events}
        world = [[f for (f,) in self._firsts], self._lasts, [p for (p,) in self._places]]
        if "match" in names:
            world.append([t for (t,) in self._teams])
        if "deal" in names:
            world.append([w for c in self._companies for w in c])
        if "concert" in names:
            world.append([b for (b,) in self._bands])
        words = ordered_unique([self._fixed_words, *self._word_groups(), *world])
        check_tokens(words)
        return words

    # -- sampling -------------------------------------------------------------------------

    def _person(self, d: Draws) -> tuple[str, str]:
        return d.pick(self._firsts)[0], d.pick(self._lasts)

    def _count(self, d: Draws) -> tuple[str]:
        return (self._numbers[d.between(2, self.config.max_number)],)

    def _event_values(self, name: str, d: Draws) -> Values:
        v: Values = {"day": (d.pick(_words.DAYS),), "city": d.pick(self._places)}
        count = self._count
        if name == "match":
            a, b = d.sample(self._teams, 2)
            ws = d.between(2, 7)
            v.update(win_team=a, lose_team=b, ws=(str(ws),), ls=(str(d.index(ws)),))
            v.update(scorer=self._person(d), goals=(str(d.between(2, ws)),), crowd=count(d))
        elif name == "election":
            v.update(winner=self._person(d), runner=self._person(d), votes=count(d))
            v.update(rvotes=count(d), start=(d.pick(_words.DAYS),))
        elif name == "deal":
            a, b = d.sample(self._companies, 2)
            v.update(buyer=a, target=b, price=count(d), workers=_small(d), ceo=self._person(d))
        elif name == "storm":
            v.update(storm=d.pick(self._firsts), hurt=count(d), homes=_small(d), wind=count(d))
        else:  # concert
            a, b = d.sample(self._bands, 2)
            v.update(band=a, opener=b, fans=count(d), songs=count(d))
        for slot in ("winner", "runner", "scorer", "ceo"):
            if slot in v:
                v[slot + "_last"] = v[slot][1:]
        return v

    def _filler_slot(self, slot: str, d: Draws, v: Values) -> tuple[str, ...]:
        # Paired slots (team/team2...) differ so that no sentence reads "x beat x".
        if slot in _PAIRED:
            first = _PAIRED[slot]
            pool = self._pool(first)
            if first not in v:
                v[first] = d.pick(pool)
            value = d.pick(pool)
            return value if value != v[first] else pool[(pool.index(value) + 1) % len(pool)]
        if slot == "lo":
            return (str(d.index(int(v["hi"][0]))),)
        return _FILLERS[slot](self, d)

    def _pool(self, slot: str) -> list[tuple[str, ...]]:
        return self._teams if slot == "team" else self._companies

    def _render_filler(self, template: Template, d: Draws) -> list[str]:
        v: Values = {}
        for is_slot, name in template:
            if is_slot and name not in v:
                v[name] = self._filler_slot(name, d, v)
        out: list[str] = []
        render(template, v, out)
        return out

    def generate(self, rng: np.random.Generator) -> tuple[str, list[str], dict[str, Any]]:
        """Draw one document and its summary.

        Returns:
            ``(document, [summary], meta)``. ``meta`` has the event type, the summary's slot
            values (``facts``), the document's sentence count and the indices of the sentences
            the summary uses (``key_sentences``: the lead and the key facts).
        """
        cfg = self.config
        d = Draws(rng)
        event = self._events[d.index(len(self._events))]
        v = self._event_values(event.name, d)
        key: list[list[str]] = []
        for docs, _ in event.facts[: cfg.summary_facts]:
            out: list[str] = []
            render(d.pick(docs), v, out)
            key.append(out)
        lead: list[str] = []
        render(d.pick(event.leads), v, lead)
        seen = {tuple(lead), *(tuple(s) for s in key)}
        body: list[tuple[bool, list[str]]] = [(True, s) for s in key]
        n_distractors = d.between(cfg.min_distractors, cfg.max_distractors)
        while len(body) < len(key) + n_distractors:
            pool = event.distractors if d.chance(cfg.p_same_type) else _news.GENERIC
            sentence = self._render_filler(d.pick(pool), d)
            if tuple(sentence) not in seen:  # an exact repeat would be an odd document
                seen.add(tuple(sentence))
                body.append((False, sentence))
        d.shuffle(body)
        at = 0 if d.chance(cfg.p_lead_first) else d.index(len(body) + 1)
        body.insert(at, (True, lead))
        summary: list[str] = []
        render(event.head, v, summary)
        used = [s for is_slot, s in event.head if is_slot]
        for _, frag in event.facts[: cfg.summary_facts]:
            render(frag, v, summary)
            used += [s for is_slot, s in frag if is_slot]
        summary.append(".")
        meta = {
            "event": event.name,
            "facts": {s: " ".join(v[s]) for s in dict.fromkeys(used)},
            "n_sentences": len(body),
            "key_sentences": [i for i, (is_key, _) in enumerate(body) if is_key],
        }
        document = detokenize(tok for _, s in body for tok in s)
        return document, [detokenize(summary)], meta


def _small(d: Draws) -> tuple[str]:
    # Counts said in hundreds stay below ten ("5 hundred homes"), as a reporter would write.
    return (str(d.between(2, 9)),)


class _Default(dict):
    """Slot lengths: the given ones, else one token."""

    def __missing__(self, key: str) -> int:
        return 1


_PAIRED = {"team2": "team", "company2": "company"}

_FILLERS: dict[str, Callable[[SummarizationGenerator, Draws], tuple[str, ...]]] = {
    "person": lambda g, d: g._person(d),
    "city2": lambda g, d: d.pick(g._places),
    "day2": lambda g, d: (d.pick(_words.DAYS),),
    "team": lambda g, d: d.pick(g._teams),
    "company": lambda g, d: d.pick(g._companies),
    "storm2": lambda g, d: d.pick(g._firsts),
    "band2": lambda g, d: d.pick(g._bands),
    "n": lambda g, d: g._count(d),
    "hi": lambda g, d: (str(d.between(1, 7)),),
    "pct": lambda g, d: (str(d.between(2, 12)),),
    "year": lambda g, d: (d.pick(_news.YEARS),),
    "hour": lambda g, d: (str(d.between(1, 12)),),
    "job": lambda g, d: (d.pick(_words.JOBS),),
    "weather": lambda g, d: (d.pick(_words.WEATHER),),
    "adj": lambda g, d: d.pick(g._adjs),
    "noun": lambda g, d: d.pick(g._nouns),
    "nouns": lambda g, d: d.pick(g._plurals),
    "body": lambda g, d: (d.pick(_news.BODY_PARTS),),
}
