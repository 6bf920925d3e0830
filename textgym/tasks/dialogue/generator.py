"""Embedded dialogue data: chat contexts full of facts, ending with a question about one of them.

Structure of the task. A context is a user/assistant conversation (``user: ... assistant: ...``)
in which facts are stated: who the user's relatives are, pets' names, appointment times, item
prices, an order, a trip, where someone lives. Several facts share the asked fact's scenario
with different keys and values ("my sister is called x", "my brother is called y"): these are
the distractors. Facts of other scenarios, greetings, acknowledgements and small talk fill the
rest. The last turn is the user's question about one fact ("what is my sister called?"); the
reference reply restates that fact in a fixed form ("your sister is called x.").

Knobs (see :class:`DialogueConfig`): scenarios, number of same-scenario facts (one asked, the
rest distractors), facts of other scenarios, small-talk exchanges, greeting and
acknowledgement rates, and the world size (names, places, items, prices).

Ceiling. Emitting ``references[0]`` scores 1.0 on token F1, BLEU and ROUGE-L. A good policy must
read the question's scenario and key, find the one fact with that key among distractors of the
same form, copy its values, and use the reply template (which turns "my" into "your").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from textgym.tasks import _chat, _words
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

_MAX_FACTS = len(_chat.VEHICLES)  # the smallest key pool bounds distinct same-scenario facts
_SLOT_LEN = {"hour": 2}  # "7 pm"; every other slot is one token
Values = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class DialogueConfig:
    """Knobs of the conversations. Defaults are the ``"medium"`` setting.

    Attributes:
        scenarios: Fact types to draw from, a tuple of names of ``_chat.SCENARIOS``.
        min_facts: Fewest facts of the asked scenario (one asked, the rest distractors), in
            [2, 8].
        max_facts: Most facts of the asked scenario, in [min_facts, 8].
        max_other_facts: Most facts of other scenarios, in [0, 8].
        min_smalltalk: Fewest small-talk exchanges, in [0, 10].
        max_smalltalk: Most small-talk exchanges, in [min_smalltalk, 10].
        p_greeting: Chance the conversation opens with a greeting exchange.
        p_ack: Chance the assistant acknowledges a fact the user states.
        p_two_questions: Chance the user asks about two facts of two scenarios at once ("what
            is my sister called and when is my lesson?"); the second scenario gets
            ``min_facts`` facts. Needs two or more scenarios to have any effect.
        n_names: Pseudo-word names of people and pets, in [max_facts, 2000].
        n_places: Pseudo-word town names, in [max_facts, 2000].
        n_items: Shop items (from the word list), in [max_facts, 166].
        max_price: Highest price in dollars, in [9, 999].
    """

    scenarios: tuple[str, ...] = tuple(_chat.SCENARIOS)
    min_facts: int = 2
    max_facts: int = 3
    max_other_facts: int = 2
    min_smalltalk: int = 0
    max_smalltalk: int = 2
    p_greeting: float = 0.5
    p_ack: float = 0.5
    p_two_questions: float = 0.3
    n_names: int = 60
    n_places: int = 40
    n_items: int = 40
    max_price: int = 60

    def __post_init__(self) -> None:
        check_choices("scenarios", self.scenarios, tuple(_chat.SCENARIOS))
        check_int("min_facts", self.min_facts, 2, _MAX_FACTS)
        check_int("max_facts", self.max_facts, 2, _MAX_FACTS)
        check_range("min_facts", self.min_facts, "max_facts", self.max_facts)
        check_int("max_other_facts", self.max_other_facts, 0, 8)
        check_int("min_smalltalk", self.min_smalltalk, 0, 10)
        check_int("max_smalltalk", self.max_smalltalk, 0, 10)
        check_range("min_smalltalk", self.min_smalltalk, "max_smalltalk", self.max_smalltalk)
        check_prob("p_greeting", self.p_greeting)
        check_prob("p_ack", self.p_ack)
        check_prob("p_two_questions", self.p_two_questions)
        check_int("n_names", self.n_names, max(4, self.max_facts), 2000)
        check_int("n_places", self.n_places, max(4, self.max_facts), 2000)
        check_int("n_items", self.n_items, max(4, self.max_facts), len(_chat.ITEMS))
        check_int("max_price", self.max_price, 9, 999)


DIFFICULTIES: dict[str, DialogueConfig] = {
    "easy": DialogueConfig(
        scenarios=("family", "pet", "appointment", "price"), min_facts=2, max_facts=2,
        max_other_facts=1, min_smalltalk=0, max_smalltalk=1, p_greeting=0.2, p_ack=0.3,
        p_two_questions=0.0, n_names=16, n_places=4, n_items=12, max_price=20,
    ),
    "medium": DialogueConfig(),
    "hard": DialogueConfig(
        min_facts=4, max_facts=6, max_other_facts=4, min_smalltalk=2, max_smalltalk=4,
        p_greeting=0.7, p_two_questions=0.5, n_names=700, n_places=700,
        n_items=len(_chat.ITEMS), max_price=400,
    ),
}


class DialogueGenerator:
    """Samples (context, [reply], meta) triples of one seeded world.

    Args:
        config: The knobs; ``DIFFICULTIES["medium"]`` when omitted.
        seed: Fixes the world: the pseudo-word names of people, pets and towns.

    Attributes:
        max_source_tokens: Upper bound on the tokens of a context.
        max_reference_tokens: Upper bound on the tokens of a reply.
        reply_words: The reply templates' fixed words: every other reply token is copied from
            the context.
    """

    def __init__(self, config: DialogueConfig | None = None, seed: int = 0) -> None:
        self.config = cfg = config if config is not None else DialogueConfig()
        self.seed = seed
        self._scenarios = [_chat.SCENARIOS[name] for name in cfg.scenarios]
        items = _chat.ITEMS[: cfg.n_items]
        self._keys: dict[str, list[str]] = {
            "rel": list(_words.RELATIONS), "pet": list(_chat.PETS), "event": list(_chat.EVENTS),
            "item": [s for s, _ in items], "items": [p for _, p in items],
            "vehicle": list(_chat.VEHICLES),
        }
        self._fixed = template_words(
            [t for s in self._scenarios for t in (*s.facts, *s.questions, s.reply)]
            + [t for pair in (*_chat.GREETINGS, *_chat.SMALL_TALK) for t in pair]
            + list(_chat.ACKS)
        )
        self.reply_words = frozenset(template_words([s.reply for s in self._scenarios]))
        rng = np.random.default_rng(seed)
        english = set(self._fixed) | {w for g in self._english_groups() for w in g}
        names = pseudo_words(rng, cfg.n_names + cfg.n_places, (2, 3), avoid=english)
        self._names, self._places = names[: cfg.n_names], names[cfg.n_names :]
        self._set_bounds()

    def _set_bounds(self) -> None:
        cfg = self.config

        def tlen(t: Template) -> int:
            return template_max_len(t, _Len())

        ack = 2 + max(tlen(t) for t in _chat.ACKS) if cfg.p_ack > 0 else 0
        fact = max(2 + max(tlen(t) for t in s.facts) for s in self._scenarios) + ack
        pair = max(4 + tlen(u) + tlen(a) for u, a in _chat.SMALL_TALK)
        greet = max(4 + tlen(u) + tlen(a) for u, a in _chat.GREETINGS) if cfg.p_greeting else 0
        two = cfg.p_two_questions > 0 and len(self._scenarios) > 1
        asks = [max(tlen(t) for t in s.questions) for s in self._scenarios]
        replies = [tlen(s.reply) for s in self._scenarios]
        # Two questions share one "?" and add "and" (same for the replies' "."), so the
        # longest pair is the two longest singles.
        question = 2 + (sum(sorted(asks)[-2:]) if two else max(asks))
        others = cfg.max_other_facts if len(self._scenarios) > 1 else 0
        facts = fact * (cfg.max_facts + others + (cfg.min_facts if two else 0))
        self.max_source_tokens = greet + facts + cfg.max_smalltalk * pair + question
        self.max_reference_tokens = sum(sorted(replies)[-2:]) if two else max(replies)

    def _numbers(self) -> list[str]:
        names = {s.name for s in self._scenarios}
        top = 0
        if names & {"appointment", "travel"}:
            top = 12
        if "price" in names:
            top = max(top, self.config.max_price)
        if "order" in names:
            top = max(top, 9)
        return [str(i) for i in range(1, top + 1)]

    def _english_groups(self) -> list[list[str]]:
        slots = {s for sc in self._scenarios for t in sc.facts for is_slot, s in t if is_slot}
        groups = [self._keys[k] for k in self._keys if k in slots]
        if "hour" in slots:
            groups.append(["am", "pm"])
        if "day" in slots:
            groups.append(list(_words.DAYS))
        if "art" in slots:
            groups.append(["a", "an"])
        return [*groups, self._numbers()]

    def reference_template_words(self) -> frozenset[str]:
        """The reply templates' fixed words: what content-word metrics ignore (every other
        reply token is a key or value copied from the context)."""
        return self.reply_words | {"and"}

    def lexicon(self) -> list[str]:
        """Every token of a context or reply: speaker tags, template words, then the world."""
        names = {s.name for s in self._scenarios}
        world = [
            self._names if names & {"family", "pet"} else [],
            self._places if names & {"travel", "home"} else [],
        ]
        conj = ["and"] if self.config.p_two_questions > 0 and len(self._scenarios) > 1 else []
        words = ordered_unique(
            [["user", "assistant", ":"], self._fixed, conj, *self._english_groups(), *world]
        )
        check_tokens(words)
        return words

    # -- sampling -------------------------------------------------------------------------

    def _values(self, slot: str, d: Draws) -> tuple[str, ...]:
        cfg = self.config
        if slot == "name":
            return (d.pick(self._names),)
        if slot == "city":
            return (d.pick(self._places),)
        if slot == "day":
            return (d.pick(_words.DAYS),)
        if slot == "hour":
            return (str(d.between(1, 12)), "pm" if d.chance(0.7) else "am")
        if slot == "price":
            return (str(d.between(1, cfg.max_price)),)
        return (str(d.between(2, 9)),)  # count

    def _facts(self, scenario: _chat.Scenario, n: int, d: Draws) -> list[Values]:
        """``n`` facts of ``scenario`` with distinct keys and distinct answers."""
        out: list[Values] = []
        answers: set[tuple[tuple[str, ...], ...]] = set()
        for key in d.sample(self._keys[scenario.key], n):
            while True:
                vals = tuple(self._values(s, d) for s in scenario.values)
                if vals not in answers:
                    break
            answers.add(vals)
            v: Values = {scenario.key: (key,), **dict(zip(scenario.values, vals, strict=True))}
            if scenario.key == "pet":
                v["art"] = (_words.article(key),)
            out.append(v)
        return out

    def generate(self, rng: np.random.Generator) -> tuple[str, list[str], dict[str, Any]]:
        """Draw one conversation and its reference reply.

        Returns:
            ``(context, [reply], meta)``. ``meta["asked"]`` lists, per question, the scenario,
            the asked fact (``answer``: key and values) and its same-scenario ``distractors``;
            ``n_other_facts`` counts facts of scenarios nobody asks about.
        """
        cfg = self.config
        d = Draws(rng)
        n_asked = 2 if len(self._scenarios) > 1 and d.chance(cfg.p_two_questions) else 1
        asked_scenarios = d.sample(self._scenarios, n_asked)
        sizes = [d.between(cfg.min_facts, cfg.max_facts), cfg.min_facts][:n_asked]
        groups = [self._facts(sc, n, d) for sc, n in zip(asked_scenarios, sizes, strict=True)]
        items: list[tuple[_chat.Scenario | None, Any]] = [
            (sc, f) for sc, facts in zip(asked_scenarios, groups, strict=True) for f in facts
        ]
        others = [s for s in self._scenarios if s not in asked_scenarios]
        used: set[tuple[str, str]] = set()  # (scenario, key): never two facts on one key
        for _ in range(d.between(0, cfg.max_other_facts) if others else 0):
            other = d.pick(others)
            fact = self._facts(other, 1, d)[0]
            mark = (other.name, fact[other.key][0])
            if mark not in used:
                used.add(mark)
                items.append((other, fact))
        for pair in d.sample(_chat.SMALL_TALK, d.between(cfg.min_smalltalk, cfg.max_smalltalk)):
            items.append((None, pair))
        d.shuffle(items)
        if d.chance(cfg.p_greeting):
            items.insert(0, (None, d.pick(_chat.GREETINGS)))
        turns: list[tuple[str, list[str]]] = []
        for sc, item in items:
            if sc is None:
                turns += [("user", _tokens(item[0], {})), ("assistant", _tokens(item[1], {}))]
                continue
            turns.append((sc.speaker, _tokens(d.pick(sc.facts), item)))
            if sc.speaker == "user" and d.chance(cfg.p_ack):
                turns.append(("assistant", _tokens(d.pick(_chat.ACKS), {})))
        question: list[str] = []
        reply: list[str] = []
        for sc, facts in zip(asked_scenarios, groups, strict=True):
            if question:  # "... called and when is ...?": drop the first "?" and "."
                question[-1] = "and"
                reply[-1] = "and"
            question += _tokens(d.pick(sc.questions), facts[0])
            reply += _tokens(sc.reply, facts[0])
        turns.append(("user", question))
        context: list[str] = []
        speaker = ""
        for who, toks in turns:
            if who != speaker:  # consecutive sentences of one speaker share a turn
                context += [who, ":"]
                speaker = who
            context += toks
        meta = {
            "asked": [
                {
                    "scenario": sc.name,
                    "answer": _fact_meta(sc, facts[0]),
                    "distractors": [_fact_meta(sc, f) for f in facts[1:]],
                }
                for sc, facts in zip(asked_scenarios, groups, strict=True)
            ],
            "n_other_facts": len(used),
        }
        return detokenize(context), [detokenize(reply)], meta


def _fact_meta(scenario: _chat.Scenario, fact: Values) -> dict[str, str]:
    return {s: " ".join(fact[s]) for s in (scenario.key, *scenario.values)}


def _tokens(template: Template, values: Values) -> list[str]:
    out: list[str] = []
    render(template, values, out)
    return out


class _Len(dict):
    """Slot lengths for bounds: two tokens for an hour, else one."""

    def __missing__(self, key: str) -> int:
        return _SLOT_LEN.get(key, 1)
