"""Small English word lists written for the embedded tasks, with their inflected forms.

Lists are ordered roughly from most to least everyday, so a config that uses the first ``n``
entries gets the easiest words, and the easy vocabulary is a subset of the hard one. Words whose
article would break the simple "an before a vowel letter" rule (honest, useful, one...) are left
out on purpose.
"""

from __future__ import annotations

_NOUNS = """
dog cat bird horse cow fish mouse owl fox wolf bear lion apple egg boy girl man woman child
teacher doctor farmer baker king queen ant eagle duck goat sheep pig frog snake tiger rabbit
monkey orange banana lemon cake bread cookie onion potato tomato carrot book box ball chair
table cup hat shoe coat key letter pen lamp clock door window bag boat car bus train bike kite
drum flower tree leaf stone shell rope basket bottle candle mirror ladder hammer knife spoon
fork plate bowl pot blanket pillow picture map ring coin wallet umbrella elephant insect
island artist singer driver sailor pilot nurse judge thief cook friend neighbor uncle aunt
student soldier guard hunter fisher painter dancer writer player prince princess giant wizard
robot camel zebra parrot turtle spider whale shark dolphin penguin goose hen chicken puppy
kitten pony donkey bull calf deer squirrel bat crow swan pigeon beetle bee worm crab lobster
oyster peach pear plum grape melon cherry mango apricot olive pepper cabbage pumpkin radish
nut seed sandwich pie muffin biscuit candy sausage noodle jar tray kettle pan oven stove
sofa bed desk shelf drawer closet curtain carpet towel brush comb sock glove scarf belt
button necklace bracelet watch camera radio phone computer tablet drone rocket wagon truck
tractor sled canoe raft anchor flag tent barrel bucket shovel rake axe drill wrench nail
screw bolt wheel engine helmet shield sword arrow bow trumpet violin guitar piano flute whistle
bell crown throne castle tower bridge fence gate statue fountain mailbox envelope parcel
ticket badge medal trophy puzzle toy doll lantern compass telescope feather
"""

# Plurals that the suffix rules below would get wrong.
_IRREGULAR_PLURALS = {
    "mouse": "mice", "man": "men", "woman": "women", "child": "children", "goose": "geese",
    "sheep": "sheep", "deer": "deer", "fish": "fish", "leaf": "leaves", "knife": "knives",
    "shelf": "shelves", "wolf": "wolves", "thief": "thieves", "calf": "calves",
    "potato": "potatoes", "tomato": "tomatoes", "mango": "mangoes", "piano": "pianos",
    "radio": "radios", "scarf": "scarves", "axe": "axes",
}

_VERBS = """
see like love find help call watch follow chase catch carry push pull kick hold take bring buy
sell eat cook wash clean paint draw build break fix open close hide meet greet visit feed teach
know hear want need miss hit touch hug lift drop throw keep leave move save protect remember
forget thank invite ignore admire trust fear pack wrap fill count order borrow lend steal share
bake boil cut check drive ride climb guard hunt join lead pass pick pour reach rescue serve
shake show smell taste warn wear write read sing play answer ask blame choose collect cover
deliver describe discover drag enjoy heat lick mark mend mix obey observe own plant prefer
prepare raise repair replace rob rub scare search send spot squeeze stop study surprise tickle
trap welcome win wake grab kiss bite dress fold weigh
"""

# base -> (past, participle) for verbs whose past is not base + "ed".
_IRREGULAR_VERBS = {
    "see": ("saw", "seen"), "find": ("found", "found"), "catch": ("caught", "caught"),
    "hold": ("held", "held"), "take": ("took", "taken"), "bring": ("brought", "brought"),
    "buy": ("bought", "bought"), "sell": ("sold", "sold"), "eat": ("ate", "eaten"),
    "draw": ("drew", "drawn"), "build": ("built", "built"), "break": ("broke", "broken"),
    "hide": ("hid", "hidden"), "meet": ("met", "met"), "feed": ("fed", "fed"),
    "teach": ("taught", "taught"), "know": ("knew", "known"), "hear": ("heard", "heard"),
    "hit": ("hit", "hit"), "keep": ("kept", "kept"), "leave": ("left", "left"),
    "forget": ("forgot", "forgotten"), "throw": ("threw", "thrown"), "steal": ("stole", "stolen"),
    "lend": ("lent", "lent"), "cut": ("cut", "cut"), "drive": ("drove", "driven"),
    "ride": ("rode", "ridden"), "lead": ("led", "led"), "shake": ("shook", "shaken"),
    "show": ("showed", "shown"), "wear": ("wore", "worn"), "write": ("wrote", "written"),
    "read": ("read", "read"), "sing": ("sang", "sung"), "choose": ("chose", "chosen"),
    "send": ("sent", "sent"), "win": ("won", "won"), "wake": ("woke", "woken"),
    "bite": ("bit", "bitten"),
    # Regular, but with a doubled final consonant or y -> ied.
    "drop": ("dropped", "dropped"), "wrap": ("wrapped", "wrapped"), "rob": ("robbed", "robbed"),
    "rub": ("rubbed", "rubbed"), "stop": ("stopped", "stopped"), "trap": ("trapped", "trapped"),
    "grab": ("grabbed", "grabbed"), "hug": ("hugged", "hugged"), "carry": ("carried", "carried"),
    "study": ("studied", "studied"), "spot": ("spotted", "spotted"),
    "prefer": ("preferred", "preferred"), "drag": ("dragged", "dragged"),
}

_ADJECTIVES = """
big small old young red blue green black white brown happy sad quick slow tall short hungry
angry tired brave clever quiet loud warm cold new round heavy light dark bright clean dirty
empty full rich poor strong weak kind proud shy calm wild gentle funny silly lazy busy famous
strange friendly lonely lucky polite rude noisy sleepy sweet sour soft hard smooth rough sharp
thin thick wide narrow deep fresh dry wet early late huge tiny pretty ugly fat nice fine cheap
expensive golden silver wooden yellow purple pink gray elegant ancient eager fierce grumpy jolly
nervous patient simple modern fancy plain tidy messy shiny dusty fuzzy
"""

#: Prepositions for optional prepositional phrases ("in the park").
PREPOSITIONS: tuple[str, ...] = (
    "in", "near", "behind", "under", "beside", "with", "at", "on", "above", "around",
    "inside", "outside", "without", "below",
)

DAYS: tuple[str, ...] = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)

#: Relatives and acquaintances a dialogue user can talk about.
RELATIONS: tuple[str, ...] = (
    "sister", "brother", "mother", "father", "friend", "cousin", "uncle", "aunt", "boss",
    "neighbor", "son", "daughter", "husband", "wife", "grandmother", "grandfather", "teacher",
    "coach", "doctor", "dentist",
)

#: Jobs for background characters ("a local baker").
JOBS: tuple[str, ...] = (
    "baker", "teacher", "farmer", "doctor", "driver", "nurse", "painter", "student", "cook",
    "guard", "pilot", "sailor", "writer", "dancer", "singer", "judge",
)

#: Weather words usable after "was" ("the weather was sunny").
WEATHER: tuple[str, ...] = ("sunny", "rainy", "windy", "cold", "warm", "cloudy", "foggy", "hot")


def _plural(noun: str) -> str:
    if noun in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[noun]
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _third_person(verb: str) -> str:
    if verb.endswith(("s", "x", "z", "ch", "sh", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _past(verb: str) -> tuple[str, str]:
    if verb in _IRREGULAR_VERBS:
        return _IRREGULAR_VERBS[verb]
    past = verb + "d" if verb.endswith("e") else verb + "ed"
    return past, past


def _unique(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(text.split()))


#: (singular, plural) pairs.
NOUNS: tuple[tuple[str, str], ...] = tuple((n, _plural(n)) for n in _unique(_NOUNS))
#: (base, third person singular, past, past participle) tuples.
VERBS: tuple[tuple[str, str, str, str], ...] = tuple(
    (v, _third_person(v), *_past(v)) for v in _unique(_VERBS)
)
ADJECTIVES: tuple[str, ...] = _unique(_ADJECTIVES)


def article(next_word: str) -> str:
    """The indefinite article before ``next_word`` (the lists avoid the exceptions)."""
    return "an" if next_word[0] in "aeiou" else "a"
