"""Templates of the dialogue generator: fact types, their questions and replies, small talk.

A scenario is one kind of fact the user (or, for prices, the assistant) states: who a relative
is, a pet's name, when an appointment is... Each fact has a *key* that tells facts of the same
scenario apart (which relative, which item) and *values* (a name, a time, a price). The question
names a key; the reply restates the matching fact.
"""

from __future__ import annotations

from dataclasses import dataclass

from textgym.tasks import _words
from textgym.tasks._common import Template, compile_template


@dataclass(frozen=True)
class Scenario:
    """One fact type.

    Attributes:
        name: Scenario name (a ``DialogueConfig.scenarios`` entry).
        key: Slot that identifies the fact among facts of this scenario.
        values: Slots that carry the answer.
        speaker: Who states the fact: ``"user"`` or ``"assistant"``.
        facts: Phrasings of the fact in the context.
        questions: Phrasings of the user's final question.
        reply: The reference reply.
    """

    name: str
    key: str
    values: tuple[str, ...]
    speaker: str
    facts: tuple[Template, ...]
    questions: tuple[Template, ...]
    reply: Template


def _scenario(
    name: str, key: str, values: str, speaker: str, facts: list[str], questions: list[str],
    reply: str,
) -> Scenario:
    c = compile_template
    return Scenario(
        name, key, tuple(values.split()), speaker, tuple(c(t) for t in facts),
        tuple(c(t) for t in questions), c(reply),
    )


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        _scenario(
            "family", "rel", "name", "user",
            ["my {rel} is called {name} .", "{name} is my {rel} ."],
            ["what is my {rel} called ?", "what is the name of my {rel} ?"],
            "your {rel} is called {name} .",
        ),
        _scenario(
            "pet", "pet", "name", "user",
            ["i have {art} {pet} called {name} .", "my {pet} is called {name} ."],
            ["what is my {pet} called ?", "what did i call my {pet} ?"],
            "your {pet} is called {name} .",
        ),
        _scenario(
            "appointment", "event", "hour day", "user",
            ["my {event} is at {hour} on {day} .", "i have my {event} on {day} at {hour} ."],
            ["when is my {event} ?", "what time is my {event} ?"],
            "your {event} is at {hour} on {day} .",
        ),
        _scenario(
            "price", "item", "price", "assistant",
            ["the {item} costs {price} dollars .", "the price of the {item} is {price} dollars ."],
            ["how much is the {item} ?", "what does the {item} cost ?"],
            "the {item} costs {price} dollars .",
        ),
        _scenario(
            "order", "items", "count", "user",
            ["i would like {count} {items} , please .",
             "please add {count} {items} to my order ."],
            ["how many {items} did i order ?", "how many {items} are in my order ?"],
            "you ordered {count} {items} .",
        ),
        _scenario(
            "travel", "vehicle", "city hour", "user",
            ["my {vehicle} to {city} leaves at {hour} .",
             "i take the {hour} {vehicle} to {city} ."],
            ["when does my {vehicle} leave ?", "where does my {vehicle} go ?"],
            "your {vehicle} to {city} leaves at {hour} .",
        ),
        _scenario(
            "home", "rel", "city", "user",
            ["my {rel} lives in {city} .", "my {rel} moved to {city} last year ."],
            ["where does my {rel} live ?", "in which town does my {rel} live ?"],
            "your {rel} lives in {city} .",
        ),
    )
}

#: Pets for the "pet" scenario (all take the article from :func:`_words.article`).
PETS: tuple[str, ...] = (
    "dog", "cat", "bird", "fish", "rabbit", "horse", "mouse", "owl", "duck", "goat", "frog",
    "snake", "turtle", "parrot", "pony", "pig", "hamster", "lizard", "goose", "sheep",
)
#: Things with a time ("my haircut is at 3 pm on monday").
EVENTS: tuple[str, ...] = (
    "meeting", "haircut", "lesson", "interview", "checkup", "class", "party", "dinner", "exam",
    "game", "massage", "lunch", "rehearsal", "training", "appointment", "visit",
)
VEHICLES: tuple[str, ...] = ("train", "bus", "flight", "boat", "ferry", "taxi", "coach", "plane")

_NOT_FOR_SALE_TEXT = """dog cat bird horse cow fish mouse owl fox wolf bear lion boy girl man woman
    child teacher
    doctor farmer baker king queen ant eagle duck goat sheep pig frog snake tiger rabbit monkey
    artist singer driver sailor pilot nurse judge thief cook friend neighbor uncle aunt student
    soldier guard hunter fisher painter dancer writer player prince princess giant wizard camel
    zebra parrot turtle spider whale shark dolphin penguin goose hen chicken puppy kitten pony
    donkey bull calf deer squirrel bat crow swan pigeon beetle bee worm crab lobster oyster
    insect island elephant tree stone castle tower bridge fountain statue"""
_NOT_FOR_SALE = frozenset(_NOT_FOR_SALE_TEXT.split())
#: (singular, plural) nouns a shop can sell, in word-list order.
ITEMS: tuple[tuple[str, str], ...] = tuple(n for n in _words.NOUNS if n[0] not in _NOT_FOR_SALE)

GREETINGS: tuple[tuple[Template, Template], ...] = tuple(
    (compile_template(u), compile_template(a))
    for u, a in (
        ("hi !", "hello , how can i help ?"),
        ("hello there .", "hi , what can i do for you ?"),
        ("good morning .", "good morning ! how can i help you today ?"),
    )
)
SMALL_TALK: tuple[tuple[Template, Template], ...] = tuple(
    (compile_template(u), compile_template(a))
    for u, a in (
        ("nice weather today .", "yes , it is lovely ."),
        ("how are you ?", "i am fine , thank you ."),
        ("i am a bit tired today .", "sorry to hear that ."),
        ("do you like music ?", "i do , very much ."),
        ("it was a long week .", "i hope you can rest soon ."),
        ("thanks for your help so far .", "you are welcome ."),
        ("i love this time of year .", "me too !"),
        ("my phone is almost dead .", "i will be quick then ."),
        ("the traffic was awful .", "that sounds stressful ."),
        ("can you keep notes for me ?", "of course ."),
    )
)
ACKS: tuple[Template, ...] = tuple(
    compile_template(t)
    for t in ("ok .", "got it .", "noted .", "thanks for telling me .", "sure .", "i see .")
)
