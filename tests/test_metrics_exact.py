"""Plain metric functions must equal the reference libraries (sacrebleu, rouge-score).

The oracles are only imported here; ``textgym.metrics`` never imports them.
"""

from __future__ import annotations

import importlib
import re
import string
from collections import Counter

import pytest
import sacrebleu
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from textgym import metrics
from textgym.metrics._tokenize import tokenize_13a

TOL = 1e-9
ROUGE_VARIANTS = ("rouge1", "rouge2", "rougeL", "rougeLsum")

# ---------------------------------------------------------------------------------------------
# Realistic text written for these tests (news-like and translation-like).
# ---------------------------------------------------------------------------------------------

NEWS = [
    (
        "The central bank raised its benchmark interest rate by 0.25 percentage points on "
        "Wednesday, citing persistent inflation in housing and services. Officials said "
        "further increases were \"not off the table\" if prices kept rising.",
        [
            "On Wednesday the central bank lifted its key rate by a quarter of a percentage "
            "point, pointing to stubborn inflation in services and housing. Further hikes "
            "remain possible, officials said.",
            "The central bank increased its main interest rate by 0.25 points on Wednesday "
            "because inflation in housing and services has not eased.",
        ],
    ),
    (
        "Heavy rain caused flooding across three northern provinces, forcing more than "
        "12,000 residents from their homes. Rescue teams used boats to reach villages cut off "
        "by the rising water.",
        [
            "More than 12,000 people were evacuated after heavy rain flooded three provinces in "
            "the north; rescuers reached isolated villages by boat.",
        ],
    ),
    (
        "Shares of the chip maker jumped 8.5% in early trading after it reported quarterly "
        "revenue of $4.2 billion, beating analysts' forecasts of $3.9 billion.",
        [
            "The chipmaker's stock rose 8.5 percent in early trade after quarterly sales of "
            "$4.2bn topped the $3.9bn analysts had expected.",
            "Chip maker shares climbed 8.5% as revenue hit $4.2 billion, above forecasts.",
            "Quarterly revenue of 4.2 billion dollars sent the chip maker's shares up 8.5%.",
        ],
    ),
    (
        "The city council voted 7-2 to approve a new bike-lane network.\nConstruction will "
        "begin in March and cost an estimated 1,000,000 euros.\nCritics say parking will suffer.",
        [
            "By seven votes to two, the council approved a network of bike lanes.\nWork starts "
            "in March at a cost of about one million euros.\nOpponents worry about parking.",
        ],
    ),
]

TRANSLATION = [
    (
        "We would like to thank the committee for its work on this difficult report.",
        [
            "We wish to thank the committee for its work on this difficult report.",
            "I would like to thank the committee for the work it has done on this hard report.",
        ],
    ),
    (
        "The hotel is located near the old town, only 5 minutes' walk from the station.",
        ["The hotel lies close to the old town, just a five-minute walk from the station."],
    ),
    (
        "Das ist nicht, was ich gemeint habe - aber es ist nah dran.",
        ["That is not what I meant, but it is close.", "That's not what I meant - but close."],
    ),
    (
        "会议将于下周一上午九点开始。",
        ["会议将在下周一上午9点开始。", "The meeting starts next Monday at 9 a.m."],
    ),
    (
        "Le président a déclaré que l'accord serait signé « dans les prochains jours ».",
        ["The president said the agreement would be signed \"in the coming days\"."],
    ),
]

REAL = NEWS + TRANSLATION

# ---------------------------------------------------------------------------------------------
# Adversarial text strategy: words, punctuation runs, numbers with separators, markup, unicode.
# ---------------------------------------------------------------------------------------------

PIECES = [
    "the", "The", "cat", "cats", "running", "ran", "a", "an", "flies", "generously", "on",
    ".", ",", "...", ",,", "-", "--", "'", "'s", "\"", "(", ")", "[x]", "!?", "&", ";", ":",
    "1,000.5", "3.14", "2-3", "5-", ".5", "10,", "1.", "$4.2bn", "7%",
    "&quot;", "&amp;", "&lt;", "&gt;", "&amp;lt;", "<skipped>", "-\n", "\n", "\t", "\u00a0",
    "日本語", "会议", "é", "e\u0301", "naïve", "Straße", "İstanbul", "ΣΑΣ", "😀", "👍🏽",
    "\u200b", "\x1c", "ﬁ", "Ⅻ", "½", "١٢٣",
]
SEPARATORS = ["", " ", " ", " ", "  ", "\n", "\t"]


@st.composite
def texts(draw: st.DrawFn, max_pieces: int = 14) -> str:
    """Random text mixing words, punctuation, digits, markup and unicode."""
    parts = draw(
        st.lists(
            st.one_of(
                st.sampled_from(PIECES),
                st.text(alphabet=string.printable, max_size=4),
                st.text(max_size=3),
            ),
            max_size=max_pieces,
        )
    )
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(parts), max_size=len(parts)))
    return "".join(p + s for p, s in zip(parts, seps, strict=False))


REFS = st.lists(texts(), min_size=1, max_size=4)
SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

_SCORERS: dict[str, rouge_scorer.RougeScorer] = {}


def oracle_rouge(hyp: str, refs: list[str], variant: str, stem: bool = True) -> float:
    key = f"{variant}{stem}"
    if key not in _SCORERS:
        _SCORERS[key] = rouge_scorer.RougeScorer([variant], use_stemmer=stem)
    return _SCORERS[key].score_multi(refs, hyp)[variant].fmeasure


# ---------------------------------------------------------------------------------------------
# Tokenisation
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(texts(max_pieces=25))
def test_13a_tokens_match_sacrebleu(text: str) -> None:
    assert tokenize_13a(text) == Tokenizer13a()(text.rstrip()).split()


_ROUGE_TOKENIZERS = {
    stem: importlib.import_module("rouge_score.tokenizers").DefaultTokenizer(use_stemmer=stem)
    for stem in (False, True)
}


@SETTINGS
@given(st.lists(st.one_of(texts(), st.text(max_size=12)), min_size=1, max_size=4),
       st.booleans())
def test_rouge_tokens_match_rouge_score(batch: list[str], stem: bool) -> None:
    # Arbitrary Unicode too: lowercasing may turn a non-ASCII letter into an ASCII one
    # ("\u212a", the Kelvin sign, into "k"), any other code point separates tokens.
    from textgym.metrics._tokenize import tokenize_rouge, tokenize_rouge_many

    expected = [_ROUGE_TOKENIZERS[stem].tokenize(text) for text in batch]
    assert [tokenize_rouge(text, stem) for text in batch] == expected
    assert tokenize_rouge_many(batch, stem) == expected


def test_rouge_tokens_of_letters_that_lowercase_to_ascii() -> None:
    from textgym.metrics._tokenize import tokenize_rouge

    for text in ("\u212aelvin 5\u00b0C", "\u0130stanbul", "ABC\x00def\x1cghi", "Straße naïve"):
        assert tokenize_rouge(text, False) == _ROUGE_TOKENIZERS[False].tokenize(text), text
    assert tokenize_rouge("\u212aelvin", False) == ["kelvin"]


@pytest.mark.parametrize(
    "text",
    ["a...", ".5 and 5.", "1.-2", "x-\ny", "ends with -\n", "&amp;lt;b&amp;gt;",
     "<skip<skipped>ped>",
     "&quot;quoted&quot;", "1,000,000.00", "U.S.A.", "e.g.,", "", "   ", "\n\n", "--5--"],
)
def test_13a_edge_cases(text: str) -> None:
    assert tokenize_13a(text) == Tokenizer13a()(text.rstrip()).split()


# ---------------------------------------------------------------------------------------------
# BLEU / chrF / TER
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(texts(), REFS)
def test_sentence_bleu_matches_sacrebleu(hyp: str, refs: list[str]) -> None:
    expected = sacrebleu.sentence_bleu(hyp, refs).score
    # A reference set's first sighting is scored from the hypothesis side, later ones from
    # its cached n-gram tables: check both routes.
    for _ in range(3):
        assert metrics.sentence_bleu(hyp, refs) == pytest.approx(expected, abs=TOL)


@SETTINGS
@given(texts(), REFS, st.sampled_from([0, 1, 2]))
def test_sentence_chrf_matches_sacrebleu(hyp: str, refs: list[str], word_order: int) -> None:
    expected = sacrebleu.sentence_chrf(hyp, refs, word_order=word_order).score
    assert metrics.sentence_chrf(hyp, refs, word_order=word_order) == pytest.approx(
        expected, abs=TOL)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts(max_pieces=30), st.lists(texts(max_pieces=30), min_size=1, max_size=3))
def test_sentence_ter_matches_sacrebleu(hyp: str, refs: list[str]) -> None:
    assert metrics.sentence_ter(hyp, refs) == pytest.approx(
        sacrebleu.sentence_ter(hyp, refs).score, abs=TOL)


WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", ".", ",", "The", "ran", "x"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(WORDS), max_size=70),
    st.lists(st.lists(st.sampled_from(WORDS), max_size=90), min_size=1, max_size=2),
)
def test_sentence_ter_long_repetitive_inputs(hyp: list[str], refs: list[list[str]]) -> None:
    # Few word types and long inputs exercise the beam, many shift candidates and the
    # 1000-candidate cut-off.
    h, rs = " ".join(hyp), [" ".join(r) for r in refs]
    assert metrics.sentence_ter(h, rs) == pytest.approx(
        sacrebleu.sentence_ter(h, rs).score, abs=TOL)


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False))
def test_sentence_ter_on_reordered_real_text(rnd) -> None:
    # Real sentences with blocks moved around: TER's shift search does the work here.
    hyp_src, refs = rnd.choice(REAL)
    words = refs[0].split()
    for _ in range(rnd.randint(1, 4)):
        i = rnd.randrange(len(words))
        j = min(len(words), i + rnd.randint(1, 5))
        block, rest = words[i:j], words[:i] + words[j:]
        k = rnd.randrange(len(rest) + 1)
        words = rest[:k] + block + rest[k:]
    hyp = " ".join(words) if rnd.random() < 0.7 else hyp_src
    assert metrics.sentence_ter(hyp, refs) == pytest.approx(
        sacrebleu.sentence_ter(hyp, refs).score, abs=TOL)


@st.composite
def block_texts(draw: st.DrawFn) -> tuple[str, str]:
    """Hypothesis/reference sharing one block, padded with different junk on both sides.

    The shared block sits far from the diagonal, so the DP beam edges decide the distance.
    """
    common = [f"c{i}" for i in range(draw(st.integers(5, 40)))]
    pads = [draw(st.integers(0, 40)) for _ in range(4)]
    hyp = [f"a{i}" for i in range(pads[0])] + common + [f"b{i}" for i in range(pads[1])]
    ref = [f"x{i}" for i in range(pads[2])] + common + [f"y{i}" for i in range(pads[3])]
    return " ".join(hyp), " ".join(ref)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(block_texts())
def test_sentence_ter_beam_edges(pair: tuple[str, str]) -> None:
    hyp, ref = pair
    assert metrics.sentence_ter(hyp, [ref]) == pytest.approx(
        sacrebleu.sentence_ter(hyp, [ref]).score, abs=TOL)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(2, 8).flatmap(
        lambda v: st.tuples(
            st.lists(st.integers(0, v - 1), min_size=20, max_size=70),
            st.lists(st.integers(0, v - 1), min_size=20, max_size=70),
        )
    )
)
def test_sentence_ter_candidate_budget(pair: tuple[list[int], list[int]]) -> None:
    # Long texts over 2-8 word types produce more than 1000 shift candidates, so Tercom's
    # candidate budget (and shifts whose target lies inside the moved block) come into play.
    hyp, ref = (" ".join(f"w{i}" for i in seq) for seq in pair)
    assert metrics.sentence_ter(hyp, [ref]) == pytest.approx(
        sacrebleu.sentence_ter(hyp, [ref]).score, abs=TOL)


def test_ter_regressions_for_beam_and_budget() -> None:
    # Found by searching for inputs where a wider beam / no candidate budget changes TER.
    band_hyp = " ".join([f"c{i}" for i in range(17)] + [f"b{i}" for i in range(13)])
    band_ref = " ".join([f"x{i}" for i in range(26)] + [f"c{i}" for i in range(17)]
                        + [f"y{i}" for i in range(17)])
    assert metrics.sentence_ter(band_hyp, [band_ref]) == pytest.approx(75.0, abs=TOL)
    budget_hyp = (
        "w2 w1 w2 w7 w2 w2 w0 w0 w3 w3 w2 w2 w4 w5 w3 w3 w2 w3 w6 w4 w0 w5 w6 w2 w2 w4 w1 w5 "
        "w4 w0 w5 w1 w4 w5 w4 w7 w5 w2 w7 w7 w2 w0 w4 w0 w5 w6 w0 w6 w5 w6 w0 w7 w0 w2 w3 w1 "
        "w3 w7 w5 w5 w4 w7 w1 w5 w4 w0 w6 w1 w3"
    )
    budget_ref = (
        "w5 w2 w5 w4 w1 w4 w5 w4 w2 w1 w2 w4 w7 w2 w0 w1 w6 w0 w3 w5 w4 w7 w6 w2 w0 w0 w7 w5 "
        "w3 w2 w2 w6 w1 w2 w6 w5 w2 w0 w6 w4 w2 w7 w2 w7 w7 w5 w7 w4 w4 w7 w6 w2 w1 w6 w2 w7 "
        "w5 w2 w1 w7 w4 w5 w1"
    )
    expected = sacrebleu.sentence_ter(budget_hyp, [budget_ref]).score
    assert expected == pytest.approx(69.84126984126983, abs=TOL)
    assert metrics.sentence_ter(budget_hyp, [budget_ref]) == pytest.approx(expected, abs=TOL)
    # Here the winning shift targets a position inside the moved block (Tercom's odd case).
    inner_hyp = "w4 w2 w4 w2 w0 w4 w0 w3 w3 w3 w1 w3 w4 w4 w2 w2 w1 w0 w1 w1 w1 w1"
    inner_ref = "w4 w1 w2 w0 w3 w0 w4 w1 w3 w0 w3 w1 w2 w2 w3 w2 w0 w4 w4 w3 w4"
    assert sacrebleu.sentence_ter(inner_hyp, [inner_ref]).score == pytest.approx(
        57.14285714285714, abs=TOL)
    assert metrics.sentence_ter(inner_hyp, [inner_ref]) == pytest.approx(
        57.14285714285714, abs=TOL)


def test_ter_length_mismatch_beyond_beam() -> None:
    # Reference far longer than the hypothesis: the widened beam branch of Tercom.
    hyp = "the cat sat"
    ref = " ".join(["the", "cat", "sat", "on", "a", "mat"] * 30)
    assert metrics.sentence_ter(hyp, [ref]) == pytest.approx(
        sacrebleu.sentence_ter(hyp, [ref]).score, abs=TOL)
    assert metrics.sentence_ter(ref, [hyp]) == pytest.approx(
        sacrebleu.sentence_ter(ref, [hyp]).score, abs=TOL)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(texts(), texts(), texts()), min_size=1, max_size=6))
def test_corpus_bleu_matches_sacrebleu(rows: list[tuple[str, str, str]]) -> None:
    hyps = [r[0] for r in rows]
    streams = [[r[1] for r in rows], [r[2] for r in rows]]
    assert metrics.corpus_bleu(hyps, streams) == pytest.approx(
        sacrebleu.corpus_bleu(hyps, streams).score, abs=TOL)
    assert metrics.corpus_bleu(hyps, streams[:1]) == pytest.approx(
        sacrebleu.corpus_bleu(hyps, streams[:1]).score, abs=TOL)


@pytest.mark.parametrize("hyp,refs", REAL)
def test_real_text_sacrebleu_metrics(hyp: str, refs: list[str]) -> None:
    assert metrics.sentence_bleu(hyp, refs) == pytest.approx(
        sacrebleu.sentence_bleu(hyp, refs).score, abs=TOL)
    for word_order in (0, 2):
        assert metrics.sentence_chrf(hyp, refs, word_order) == pytest.approx(
            sacrebleu.sentence_chrf(hyp, refs, word_order=word_order).score, abs=TOL)
    assert metrics.sentence_ter(hyp, refs) == pytest.approx(
        sacrebleu.sentence_ter(hyp, refs).score, abs=TOL)


def test_real_corpus_bleu() -> None:
    hyps = [h for h, _ in REAL]
    streams = [[refs[0] for _, refs in REAL], [refs[-1] for _, refs in REAL]]
    ours = metrics.corpus_bleu(hyps, streams)
    assert ours == pytest.approx(sacrebleu.corpus_bleu(hyps, streams).score, abs=TOL)
    assert 0 < ours < 100


def test_real_text_scores_are_not_trivial() -> None:
    # Guards against an implementation that agrees with the oracle only on degenerate input.
    hyp, refs = NEWS[0]
    assert 5 < metrics.sentence_bleu(hyp, refs) < 60
    assert metrics.sentence_bleu(refs[0], refs) == pytest.approx(100.0)
    assert metrics.sentence_ter(refs[1], refs) == 0.0


@pytest.mark.parametrize(
    "hyp,refs",
    [
        ("", [""]), ("", ["a b c"]), ("a b c", [""]), ("   ", ["\n\t"]), ("...", [",,,"]),
        ("1,000.5 units", ["1,000.5 units", "1 000.5 units"]), ("😀" * 50, ["😀" * 49]),
        ("a " * 300, ["a " * 299, "b " * 300]), ("x", ["x"] * 20),
    ],
)
def test_degenerate_inputs_sacrebleu(hyp: str, refs: list[str]) -> None:
    assert metrics.sentence_bleu(hyp, refs) == pytest.approx(
        sacrebleu.sentence_bleu(hyp, refs).score, abs=TOL)
    assert metrics.sentence_chrf(hyp, refs) == pytest.approx(
        sacrebleu.sentence_chrf(hyp, refs).score, abs=TOL)
    assert metrics.sentence_ter(hyp, refs) == pytest.approx(
        sacrebleu.sentence_ter(hyp, refs).score, abs=TOL)


def test_bleu_brevity_penalty_tie_prefers_shorter_reference() -> None:
    # Hypothesis of 4 tokens, references of 3 and 5: equally close, the shorter (3) must win.
    hyp, refs = "a b c d", ["a b c", "a b c d e"]
    assert metrics.sentence_bleu(hyp, refs) == pytest.approx(
        sacrebleu.sentence_bleu(hyp, refs).score, abs=TOL)
    assert metrics.sentence_bleu(hyp, refs) == pytest.approx(100.0)


# ---------------------------------------------------------------------------------------------
# ROUGE
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(texts(), REFS, st.sampled_from(ROUGE_VARIANTS), st.booleans())
def test_rouge_matches_rouge_score(hyp: str, refs: list[str], variant: str, stem: bool) -> None:
    assert metrics.rouge(hyp, refs, variant, stem) == pytest.approx(
        oracle_rouge(hyp, refs, variant, stem), abs=TOL)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(WORDS + ["\n"]), max_size=60),
    st.lists(st.lists(st.sampled_from(WORDS + ["\n"]), max_size=60), min_size=1, max_size=3),
)
def test_rouge_repetitive_multiline(hyp: list[str], refs: list[list[str]]) -> None:
    # Repeated tokens across lines stress ROUGE-Lsum's union-LCS tie-breaking and hit budgets.
    h, rs = " ".join(hyp), [" ".join(r) for r in refs]
    for variant in ROUGE_VARIANTS:
        assert metrics.rouge(h, rs, variant) == pytest.approx(
            oracle_rouge(h, rs, variant), abs=TOL)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from("abcd"), min_size=1, max_size=5), min_size=1, max_size=3),
    st.lists(st.lists(st.sampled_from("abcd"), min_size=1, max_size=5), min_size=1, max_size=3),
)
def test_rouge_lsum_tiny_vocabulary(hyp: list[list[str]], ref: list[list[str]]) -> None:
    # With 2-4 word types many LCSs tie; which one the backtracking picks changes the union.
    h, r = ("\n".join(" ".join(line) for line in text) for text in (hyp, ref))
    assert metrics.rouge(h, [r], "rougeLsum", stem=False) == pytest.approx(
        oracle_rouge(h, [r], "rougeLsum", stem=False), abs=TOL)


@pytest.mark.parametrize(
    "hyp,ref,expected",
    [("c c a a", "a c b\nb c c a b\nc b c", 0.5333333333333333),
     ("a b\na a c", "a a b a b", 0.8000000000000002)],
)
def test_rouge_lsum_tie_breaking_regressions(hyp: str, ref: str, expected: float) -> None:
    assert oracle_rouge(hyp, [ref], "rougeLsum", stem=False) == pytest.approx(expected, abs=TOL)
    assert metrics.rouge(hyp, [ref], "rougeLsum", stem=False) == pytest.approx(expected, abs=TOL)


def test_rouge_stems_only_tokens_longer_than_three() -> None:
    # Porter maps "has" to "ha", but rouge-score leaves 3-character tokens alone.
    assert oracle_rouge("ha", ["has"], "rouge1") == 0.0
    assert metrics.rouge("ha", ["has"], "rouge1") == 0.0
    assert metrics.rouge("running flies", ["runs fly"], "rouge1") == pytest.approx(
        oracle_rouge("running flies", ["runs fly"], "rouge1"), abs=TOL)
    assert metrics.rouge("running flies", ["runs fly"], "rouge1") > 0


@pytest.mark.parametrize("hyp,refs", REAL)
def test_rouge_real_text(hyp: str, refs: list[str]) -> None:
    ours = metrics.rouge_scores(hyp, refs, ROUGE_VARIANTS + ("rouge3",))
    for variant, value in ours.items():
        assert value == pytest.approx(oracle_rouge(hyp, refs, variant), abs=TOL), variant


def test_rouge_scores_equals_single_calls() -> None:
    hyp, refs = NEWS[2]
    together = metrics.rouge_scores(hyp, refs, ROUGE_VARIANTS, stem=False)
    assert together == {v: metrics.rouge(hyp, refs, v, stem=False) for v in ROUGE_VARIANTS}
    assert 0 < together["rouge2"] < together["rouge1"] < 1


def _bleu_first_sight(hyp: str, refs: list[str], compiled: bool) -> float:
    from textgym.metrics import bleu as bleu_module

    bleu_module.use_jit(compiled)
    try:
        metrics.clear_caches()  # a first sighting of the reference set
        return metrics.sentence_bleu(hyp, refs)
    finally:
        bleu_module.use_jit(None)


@settings(max_examples=300, deadline=None)
@given(texts(), REFS)
def test_bleu_first_sighting_routes_agree(hyp: str, refs: list[str]) -> None:
    # A reference set met for the first time is scored without its n-gram tables: in Python,
    # or (numba) by one compiled call counting the matches; both equal sacrebleu.
    pytest.importorskip("numba")
    python = _bleu_first_sight(hyp, refs, compiled=False)
    assert _bleu_first_sight(hyp, refs, compiled=True) == python
    assert python == pytest.approx(sacrebleu.sentence_bleu(hyp, refs).score, abs=TOL)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(WORDS), max_size=40),
    st.lists(st.lists(st.sampled_from(WORDS), max_size=40), min_size=1, max_size=4),
)
def test_bleu_first_sighting_routes_agree_on_repetitive_text(
    hyp: list[str], refs: list[list[str]]
) -> None:
    pytest.importorskip("numba")
    h, rs = " ".join(hyp), [" ".join(r) for r in refs]
    compiled = _bleu_first_sight(h, rs, compiled=True)
    assert compiled == _bleu_first_sight(h, rs, compiled=False)
    assert compiled == pytest.approx(sacrebleu.sentence_bleu(h, rs).score, abs=TOL)


# rouge_scores has two routes for ROUGE-N and ROUGE-L: Python (Counters, bit-parallel LCS)
# and, with numba, one compiled call per hypothesis (and a compiled stemmer). The default
# mode picks one by what the process has loaded, so both are forced here, and must agree to
# the last bit.
ROUTED_VARIANTS = ("rouge1", "rouge2", "rouge3", "rouge4", "rouge9", "rougeL")


def _routed(hyp: str, refs: list[str], stem: bool, compiled: bool) -> dict[str, float]:
    from textgym.metrics import _porter

    rouge_module = importlib.import_module("textgym.metrics.rouge")
    rouge_module.use_jit(compiled)
    _porter.use_jit(compiled)
    try:
        metrics.clear_caches()  # also the stems and reference data of the other route
        return metrics.rouge_scores(hyp, refs, ROUTED_VARIANTS, stem)
    finally:
        rouge_module.use_jit(None)
        _porter.use_jit(None)


@settings(max_examples=300, deadline=None)
@given(texts(), REFS, st.booleans())
def test_rouge_routes_agree_bit_for_bit(hyp: str, refs: list[str], stem: bool) -> None:
    pytest.importorskip("numba")
    python = _routed(hyp, refs, stem, compiled=False)
    assert _routed(hyp, refs, stem, compiled=True) == python
    for variant, value in python.items():
        assert value == pytest.approx(oracle_rouge(hyp, refs, variant, stem), abs=TOL)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(WORDS), max_size=70),
    st.lists(st.lists(st.sampled_from(WORDS), max_size=70), min_size=1, max_size=3),
)
def test_rouge_routes_agree_on_repetitive_text(hyp: list[str], refs: list[list[str]]) -> None:
    # Few word types and many repeats: the clipped counts' ranks and LCS ties are exercised.
    pytest.importorskip("numba")
    h, rs = " ".join(hyp), [" ".join(r) for r in refs]
    compiled = _routed(h, rs, True, compiled=True)
    assert compiled == _routed(h, rs, True, compiled=False)
    for variant, value in compiled.items():
        assert value == oracle_rouge(h, rs, variant)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(WORDS + ["running", "skies", "outings"]), max_size=90),
    st.lists(st.lists(st.sampled_from(WORDS), max_size=90), min_size=1, max_size=3),
    st.booleans(),
)
@example(["cat", "sat"] * 40, [["sat", "cat", "mat"] * 25, ["cat"] * 63, ["the"] * 64], False)
def test_compiled_rouge_loops_on_texts_of_any_length(
    hyp: list[str], refs: list[list[str]], stem: bool
) -> None:
    # The public route hands the compiled loops texts of at most rouge.TEXT_TOKENS tokens;
    # the loops themselves are exact at any length: the bit-parallel LCS up to 63 reference
    # tokens, the dynamic programme beyond, the n-gram numbering at every length.
    pytest.importorskip("numba")
    import numpy as np

    from textgym.metrics._text_jit import new_stem_table, rouge_text_scores
    from textgym.metrics._tokenize import _ROUGE_BYTES_JOINED, tokenize_rouge

    h, rs = " ".join(hyp), [" ".join(r) for r in refs]
    orders = [1, 2, 3, 9, 0]
    text = "\x00".join([h, *rs]).encode("ascii").translate(_ROUGE_BYTES_JOINED)
    data = np.frombuffer(bytes([int(stem), len(orders), *orders]) + text, dtype=np.uint8)
    got = rouge_text_scores(data, 10**6, *new_stem_table()).tolist()
    expected = _routed(h, rs, stem, compiled=False)
    assert got == [expected[v] for v in ("rouge1", "rouge2", "rouge3", "rouge9", "rougeL")]
    # Over the limit: nothing, for the caller to score another way.
    if max(len(tokenize_rouge(t, False)) for t in [h, *rs]) > 1:
        assert rouge_text_scores(data, 1, *new_stem_table()).tolist() == []


@pytest.mark.parametrize("compiled", [False, True])
def test_rouge_routes_on_real_and_long_text(compiled: bool) -> None:
    if compiled:
        pytest.importorskip("numba")
    cases = [*REAL, (" ".join(NEWS[0][0] for _ in range(20)), [NEWS[0][1][0] * 15])]
    for hyp, refs in cases:
        for variant, value in _routed(hyp, refs, True, compiled).items():
            assert value == pytest.approx(oracle_rouge(hyp, refs, variant), abs=TOL), variant


def test_rouge_compiled_route_stems_irregular_forms_and_fallbacks() -> None:
    """The compiled route stems NLTK's irregular forms as NLTK does, and hands texts it must
    not score (holding its separator byte, or over its token limit) to the Python route."""
    pytest.importorskip("numba")
    hyp = "The skies were dying; news of innings, outings and cannings. Proceed, exceed!"
    refs = ["Dying skies: the news proceeds to succeed", "innings outing canning howe lying"]
    long_hyp = " ".join(["token"] * 200) + " skies"  # past the compiled route's 200 tokens
    cases = [(hyp, refs), (hyp + "\x00 tail", refs), (hyp, ["a\x00b skies"]), (long_hyp, refs)]
    for h, r in cases:
        for stem in (True, False):
            compiled = _routed(h, r, stem, compiled=True)
            assert compiled == _routed(h, r, stem, compiled=False)
            for variant, value in compiled.items():
                assert value == pytest.approx(oracle_rouge(h, r, variant, stem), abs=TOL)
    # More variants than the call's one-byte header counts: the Python route, same scores.
    rouge_module = importlib.import_module("textgym.metrics.rouge")
    rouge_module.use_jit(True)
    try:
        many = metrics.rouge_scores(hyp, refs, ["rouge1", "rougeL"] * 200)
    finally:
        rouge_module.use_jit(None)
    python = _routed(hyp, refs, True, compiled=False)
    assert many == {"rouge1": python["rouge1"], "rougeL": python["rougeL"]}


def test_rouge_stem_table_fills_empties_and_skips_long_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The compiled route's stem table gives the stems it was given when full, after
    emptying itself (out of entries or of bytes), and for words too long to hold."""
    pytest.importorskip("numba")
    rouge_module = importlib.import_module("textgym.metrics.rouge")
    loops = importlib.import_module("textgym.metrics._text_jit")
    long_word = "internationalisation" * 4  # over STEM_TABLE_WORD letters
    assert len(long_word) > loops.STEM_TABLE_WORD
    pairs = [(h, r) for h, r in REAL] + [
        (f"{long_word} running {long_word}s", [f"runs {long_word}", "the running dogs"])
    ]
    expected = [_routed(h, r, True, compiled=False) for h, r in pairs]
    for bits, store_bytes in ((2, 4096), (8, 40), (8, 9), (16, 1 << 20)):
        table = loops.new_stem_table(bits, store_bytes)
        monkeypatch.setattr(rouge_module, "_STEM_TABLE", table)
        rouge_module.use_jit(True)
        try:
            for _ in range(2):  # the second pass finds what the first put in
                got = [metrics.rouge_scores(h, r, ROUTED_VARIANTS) for h, r in pairs]
                assert got == expected
        finally:
            rouge_module.use_jit(None)
        count, used, _, capacity = table[0][:4].tolist()
        assert 0 < count <= capacity and 0 < used <= store_bytes
        if bits == 16:  # room for every word: each is put in once
            words = {
                w for h, r in pairs for t in (h, *r) for w in re.findall("[a-z0-9]+", t.lower())
            }
            assert count == len({w for w in words if 3 < len(w) <= loops.STEM_TABLE_WORD})


def test_rouge_compiled_route_is_thread_safe() -> None:
    """Threads scoring at once (the compiled loops release the GIL and share the stem
    table) get what one thread gets."""
    pytest.importorskip("numba")
    from concurrent.futures import ThreadPoolExecutor

    rouge_module = importlib.import_module("textgym.metrics.rouge")
    pairs = [(h, r) for h, r in REAL] * 20
    rouge_module.use_jit(True)
    try:
        metrics.clear_caches()
        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(lambda p: metrics.rouge_scores(p[0], p[1]), pairs))
        metrics.clear_caches()
        alone = [metrics.rouge_scores(h, r) for h, r in pairs]
    finally:
        rouge_module.use_jit(None)
    assert together == alone


def _score_first_real_pair() -> dict[str, float]:
    rouge_module = importlib.import_module("textgym.metrics.rouge")
    rouge_module.use_jit(True)
    return metrics.rouge_scores(REAL[0][0], REAL[0][1])


def test_rouge_compiled_route_in_a_process_forked_while_the_table_is_held() -> None:
    """A child forked while a thread holds the stem table's lock gets a lock of its own (else
    its first compiled ROUGE call would wait forever)."""
    pytest.importorskip("numba")
    import multiprocessing

    rouge_module = importlib.import_module("textgym.metrics.rouge")
    expected = _score_first_real_pair()
    rouge_module.use_jit(None)
    context = multiprocessing.get_context("fork")
    with rouge_module._STEM_TABLE_LOCK, context.Pool(1) as pool:
        got = pool.apply_async(_score_first_real_pair).get(timeout=30)
    assert got == expected


@pytest.mark.parametrize("variant", ["rouge1", "rouge2", "rouge4", "rougeL"])
def test_rouge_batch_routes_agree(variant: str) -> None:
    pytest.importorskip("numba")
    from textgym.metrics import _porter

    rouge_module = importlib.import_module("textgym.metrics.rouge")
    hyps = [h for h, _ in REAL] + ["", "the cat", REAL[0][0]]
    refs = [r for _, r in REAL] + [["a cat"], ["the cat sat", "the cat", "the cat"], REAL[1][1]]
    results = []
    try:
        for compiled in (False, True):
            rouge_module.use_jit(compiled)
            _porter.use_jit(compiled)
            metrics.clear_caches()
            results.append(metrics.rouge_batch(hyps, refs, variant).tolist())
    finally:
        rouge_module.use_jit(None)
        _porter.use_jit(None)
    assert results[0] == results[1]
    assert results[0] == pytest.approx(
        [oracle_rouge(h, r, variant) for h, r in zip(hyps, refs, strict=True)], abs=TOL)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(WORDS), max_size=50),
            st.integers(0, 3),  # which of a few shared reference sets (repeats in one batch)
        ),
        max_size=8,
    ),
    st.lists(
        st.lists(st.lists(st.sampled_from(WORDS), max_size=50), min_size=1, max_size=3),
        min_size=4, max_size=4,
    ),
)
def test_bleu_batch_routes_agree(
    pairs: list[tuple[list[str], int]], sets: list[list[list[str]]]
) -> None:
    """sentence_bleu_batch (first sightings tokenised together, their matches in one compiled
    call; a set met again in the same batch by its tables) equals sentence_bleu per pair, on
    both routes, and sacrebleu."""
    pytest.importorskip("numba")
    from textgym.metrics import bleu as bleu_module

    hyps = [" ".join(words) for words, _ in pairs]
    refs = [[" ".join(r) for r in sets[k]] for _, k in pairs]
    results = []
    try:
        for compiled in (False, True):
            bleu_module.use_jit(compiled)
            metrics.clear_caches()
            batch = metrics.sentence_bleu_batch(hyps, refs).tolist()
            metrics.clear_caches()
            assert batch == [metrics.sentence_bleu(h, r) for h, r in zip(hyps, refs, strict=True)]
            results.append(batch)
    finally:
        bleu_module.use_jit(None)
    assert results[0] == results[1]
    expected = [sacrebleu.sentence_bleu(h, r).score for h, r in zip(hyps, refs, strict=True)]
    assert results[0] == pytest.approx(expected, abs=TOL)


def test_bleu_batch_on_real_and_long_text() -> None:
    long_hyp = " ".join(NEWS[0][0] for _ in range(3))  # past the compiled route's 40 tokens
    hyps = [h for h, _ in REAL] + [long_hyp, REAL[0][0]]
    refs = [r for _, r in REAL] + [REAL[0][1], REAL[0][1]]  # a set met twice in the batch
    metrics.clear_caches()
    got = metrics.sentence_bleu_batch(hyps, refs).tolist()
    assert got == pytest.approx(
        [sacrebleu.sentence_bleu(h, r).score for h, r in zip(hyps, refs, strict=True)], abs=TOL
    )


@pytest.mark.parametrize("compiled", [False, True])
def test_rouge_scores_batch_equals_rouge_scores(compiled: bool) -> None:
    """Several variants per call (rougeLsum and long texts on the Python route included)
    equal rouge_scores of each pair to the last bit, and rouge-score."""
    if compiled:
        pytest.importorskip("numba")
    from textgym.metrics import _porter

    rouge_module = importlib.import_module("textgym.metrics.rouge")
    long_hyp = " ".join(NEWS[0][0] for _ in range(3))  # 105 tokens: the compiled route's
    longer_hyp = " ".join(NEWS[0][0] for _ in range(7))  # 245: past it, the Python route's
    hyps = [h for h, _ in REAL] + ["", "the cat", long_hyp, longer_hyp, "A line.\nAnother line."]
    refs = [r for _, r in REAL] + [["a cat"], ["the cat sat", "the cat"], REAL[0][1], REAL[0][1],
                                   ["Another line.\nA line here."]]  # fmt: skip
    variants = ("rouge1", "rouge3", "rougeL", "rougeLsum")
    try:
        rouge_module.use_jit(compiled)
        _porter.use_jit(compiled)
        metrics.clear_caches()
        together = metrics.rouge_scores_batch(hyps, refs, variants)
        metrics.clear_caches()
        single = [metrics.rouge_scores(h, r, variants) for h, r in zip(hyps, refs, strict=True)]
        only_l = metrics.rouge_scores_batch(hyps, refs, "rougeL")
    finally:
        rouge_module.use_jit(None)
        _porter.use_jit(None)
    assert list(together) == list(variants)
    for v in variants:
        assert together[v].tolist() == [row[v] for row in single], v
        assert together[v].tolist() == pytest.approx(
            [oracle_rouge(h, r, v) for h, r in zip(hyps, refs, strict=True)], abs=TOL)
    assert only_l["rougeL"].tolist() == together["rougeL"].tolist()
    with pytest.raises(ValueError, match="unknown ROUGE variant"):
        metrics.rouge_scores_batch(hyps, refs, ("rouge1", "rougeX"))


def test_rouge_very_long_input() -> None:
    hyp = " ".join(NEWS[0][0] for _ in range(20))
    refs = [" ".join(NEWS[0][1][0] for _ in range(15))]
    for variant in ROUGE_VARIANTS:
        assert metrics.rouge(hyp, refs, variant) == pytest.approx(
            oracle_rouge(hyp, refs, variant), abs=TOL)


# ---------------------------------------------------------------------------------------------
# Token F1: no library oracle, so an obviously-correct transcription of the SQuAD script.
# ---------------------------------------------------------------------------------------------


def reference_normalize(text: str) -> list[str]:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return text.split()


def reference_token_f1(hyp: str, refs: list[str]) -> float:
    scores = []
    pred = reference_normalize(hyp)
    for ref in refs:
        gold = reference_normalize(ref)
        if not pred or not gold:
            scores.append(float(pred == gold))
            continue
        same = sum((Counter(pred) & Counter(gold)).values())
        if same == 0:
            scores.append(0.0)
            continue
        p, r = same / len(pred), same / len(gold)
        scores.append(2 * p * r / (p + r))
    return max(scores)


@SETTINGS
@given(texts(), REFS)
def test_token_f1_matches_reference(hyp: str, refs: list[str]) -> None:
    assert metrics.token_f1(hyp, refs) == pytest.approx(reference_token_f1(hyp, refs), abs=TOL)


@pytest.mark.parametrize(
    "hyp,refs,expected",
    [
        ("The cat sat.", ["a cat sat"], 1.0),
        ("cat sat on the mat", ["the cat"], 2 * (1 / 4) * 1 / (1 / 4 + 1)),  # P=1/4, R=1
        ("Paris", ["paris!", "London"], 1.0),
        ("red red blue", ["red blue blue"], 2 / 3),  # bag overlap 2 of 3 on both sides
        ("", [""], 1.0),
        ("the a an", ["..."], 1.0),  # both normalise to nothing
        ("", ["something"], 0.0),
        ("something", ["the"], 0.0),
        ("don't", ["dont"], 1.0),  # punctuation is deleted, not replaced by a space
        ("x", ["y", "x y"], 2 * 1 * 0.5 / 1.5),
    ],
)
def test_token_f1_hand_computed(hyp: str, refs: list[str], expected: float) -> None:
    assert metrics.token_f1(hyp, refs) == pytest.approx(expected, abs=TOL)
    assert reference_token_f1(hyp, refs) == pytest.approx(expected, abs=TOL)
