"""Sentence templates of the fictional news reports used by the summarization generator.

Each event type has lead sentences (the event itself), key facts (each with several document
phrasings and the compressed fragment the summary uses) and same-type distractors. Distractors
carry a cue that they are background, not news ("last season", "in 2014", "will play"), so a
policy can learn which sentences are summary-worthy. Slot names in braces are filled with token
lists; ``X_last`` is the last name of person slot ``X``.
"""

from __future__ import annotations

from dataclasses import dataclass

from textgym.tasks._common import Template, compile_template


@dataclass(frozen=True)
class Event:
    """Templates of one event type.

    Attributes:
        name: Event type name (a ``SummarizationConfig.event_types`` entry).
        leads: Phrasings of the sentence that reports the event.
        head: The summary's opening clause.
        facts: Key facts in summary order: (document phrasings, summary fragment).
        distractors: Same-type background sentences that must not enter the summary.
    """

    name: str
    leads: tuple[Template, ...]
    head: Template
    facts: tuple[tuple[tuple[Template, ...], Template], ...]
    distractors: tuple[Template, ...]


def _event(
    name: str,
    leads: list[str],
    head: str,
    facts: list[tuple[list[str], str]],
    distractors: list[str],
) -> Event:
    c = compile_template
    return Event(
        name,
        tuple(c(t) for t in leads),
        c(head),
        tuple((tuple(c(t) for t in doc), c(frag)) for doc, frag in facts),
        tuple(c(t) for t in distractors),
    )


EVENTS: dict[str, Event] = {
    e.name: e
    for e in (
        _event(
            "match",
            [
                "{win_team} beat {lose_team} {ws} to {ls} on {day} .",
                "{lose_team} lost to {win_team} on {day} , {ws} to {ls} .",
                "on {day} , {win_team} won {ws} to {ls} against {lose_team} .",
            ],
            "{win_team} beat {lose_team} {ws} to {ls}",
            [
                (["the game was played in {city} .", "the two teams met in {city} ."], "in {city}"),
                (
                    ["{scorer} scored {goals} goals for {win_team} .",
                     "{scorer} of {win_team} scored {goals} goals ."],
                    "; {scorer_last} scored {goals}",
                ),
                (
                    ["{crowd} thousand fans watched the game .",
                     "the game drew a crowd of {crowd} thousand ."],
                    "; {crowd} thousand fans watched",
                ),
            ],
            [
                "last season , {team} beat {team2} {hi} to {lo} .",
                "{person} , the coach of {team} , said the players worked hard .",
                "{person} missed the game with a {body} injury .",
                "the next game for {team} is on {day2} .",
            ],
        ),
        _event(
            "election",
            [
                "{winner} won the race for mayor of {city} on {day} .",
                "voters in {city} chose {winner} as mayor on {day} .",
            ],
            "{winner_last} was elected mayor of {city}",
            [
                (
                    ["{winner_last} got {votes} thousand votes .",
                     "{winner_last} won with {votes} thousand votes ."],
                    "with {votes} thousand votes",
                ),
                (
                    ["{runner} came second with {rvotes} thousand votes ."],
                    "; {runner_last} came second",
                ),
                (
                    ["the new mayor will start work on {start} ."],
                    "; {winner_last} starts on {start}",
                ),
            ],
            [
                "in {year} , {person} was elected mayor of {city2} .",
                "{person} , a local {job} , said the race was {adj} .",
                "the polls in {city2} closed at {hour} pm .",
            ],
        ),
        _event(
            "deal",
            [
                "{buyer} said on {day} that it will buy {target} .",
                "on {day} , {buyer} agreed to buy {target} .",
            ],
            "{buyer} will buy {target}",
            [
                (
                    ["the deal is worth {price} million dollars .",
                     "{buyer} will pay {price} million dollars ."],
                    "for {price} million dollars",
                ),
                (
                    ["{target} has {workers} hundred workers .",
                     "about {workers} hundred people work at {target} ."],
                    "; {target} has {workers} hundred workers",
                ),
                (["{ceo} will lead the new company ."], "; {ceo_last} will lead it"),
            ],
            [
                "last year , {company} bought {company2} for {n} million dollars .",
                "shares of {company} rose {pct} percent on {day2} .",
                "{person} , a {job} , said the news was {adj} .",
            ],
        ),
        _event(
            "storm",
            ["storm {storm} hit {city} on {day} .", "on {day} , storm {storm} reached {city} ."],
            "storm {storm} hit {city} on {day}",
            [
                (
                    ["{hurt} people were hurt .", "doctors said {hurt} people were hurt ."],
                    "; {hurt} people were hurt",
                ),
                (
                    ["about {homes} hundred homes lost power ."],
                    "; {homes} hundred homes lost power",
                ),
                (
                    ["winds reached {wind} miles per hour ."],
                    "; winds reached {wind} miles per hour",
                ),
            ],
            [
                "in {year} , storm {storm2} hit {city2} .",
                "schools in {city2} will open on {day2} .",
                "the weather in {city2} was {weather} on {day2} .",
            ],
        ),
        _event(
            "concert",
            [
                "{band} played a show in {city} on {day} .",
                "on {day} , {band} gave a concert in {city} .",
            ],
            "{band} played in {city}",
            [
                (
                    ["{fans} thousand fans came to the show .",
                     "the show drew {fans} thousand fans ."],
                    "for {fans} thousand fans",
                ),
                (["the band played {songs} songs ."], "; they played {songs} songs"),
                (["{opener} opened the show ."], "; {opener} opened"),
            ],
            [
                "{band2} will play in {city2} on {day2} .",
                "last year , {band2} played for {n} thousand fans in {city2} .",
                "tickets cost {n} dollars .",
            ],
        ),
    )
}

#: Background filler shared by every event type.
GENERIC: tuple[Template, ...] = tuple(
    compile_template(t)
    for t in (
        "the weather in {city2} was {weather} on {day2} .",
        "{person} , a local {job} , said the week was {adj} .",
        "{person} lives in {city2} with {n} {nouns} .",
        "a new {noun} opened in {city2} in {year} .",
        "{person} sells {nouns} near the {noun} .",
        "many people in {city2} like {nouns} .",
    )
)

#: Slots whose values are two tokens (first and last name, or company name and kind).
TWO_TOKEN_SLOTS = frozenset(
    {"winner", "runner", "scorer", "ceo", "person", "buyer", "target", "company", "company2"}
)

BODY_PARTS: tuple[str, ...] = ("knee", "back", "foot", "hand", "shoulder", "neck", "wrist")
COMPANY_KINDS: tuple[str, ...] = (
    "foods", "motors", "bank", "media", "labs", "mills", "group", "systems",
)
YEARS: tuple[str, ...] = tuple(str(y) for y in range(2010, 2020))
