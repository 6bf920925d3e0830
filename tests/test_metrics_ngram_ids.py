"""The token-id BLEU, chrF and token-F1 kernels equal the string metrics (and sacrebleu) exactly."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import sacrebleu
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textgym import metrics
from textgym.metrics import ngram_ids
from textgym.metrics.bleu_ids import BleuIdBatch, BleuTokenMap, sentence_bleu_ids
from textgym.metrics.chrf_ids import ChrfCharMap, ChrfIdBatch, sentence_chrf_ids
from textgym.metrics.f1_ids import F1IdBatch, F1TokenMap, token_f1_ids
from textgym.tokenizers.embedded import WordTokenizer

# Words that stress the per-id shortcuts: digits next to periods and commas ("42." then ","),
# articles in all cases, non-ASCII letters that lowercase to several characters ("İ") or by
# context (final sigma), 13a's isolated marks (some also start or end its rewrites: "&", ";",
# "<", ">"), the dash (split after a digit only) and apostrophes (never split), closing and
# opening punctuation.
WORDS = [
    "the", "The", "THE", "a", "A", "an", "cat", "cats", "sat", "on", "mat", "dog", "2024",
    "42", "1", "5", "x9", "naïve", "İstanbul", "ΣΑΣ", "straße", "amp", "quot", "lt",
    "skipped", ".", ",", "?", "!", ":", ";", "(", ")", '"', "'", "%", "$", "&", "<", ">",
    "-", "/", "#", "[", "]", "«", "»",
]  # fmt: skip
TOKENIZER = WordTokenizer(WORDS)
# A vocabulary with marked entries: a closing mark written after a space ("\u2581!"), marks
# written right after the previous token ("##(", "##%"), which 13a splits off anyway.
MARKED = WordTokenizer(["ok", "go", "5", "(", "##(", "##)", "##%", "\u2581!", "\u2581,", "."])
EXTRA_WORDS = ["zebra", "Cat", "1.5", "a-b", "don't", "&amp;", "&lt;", "<skipped>", "x.y", "--"]

BLEU_MAP = BleuTokenMap.from_tokenizer(TOKENIZER)
CHRF_MAP = ChrfCharMap.from_tokenizer(TOKENIZER)
F1_MAP = F1TokenMap.from_tokenizer(TOKENIZER)

JIT = pytest.mark.parametrize("jit", [False, True], ids=["numpy", "numba"])
KERNELS = {
    "bleu": (BleuIdBatch, sentence_bleu_ids, metrics.sentence_bleu),
    "chrf": (ChrfIdBatch, sentence_chrf_ids, metrics.sentence_chrf),
    "f1": (F1IdBatch, token_f1_ids, metrics.token_f1),
}
METRIC = pytest.mark.parametrize("metric", sorted(KERNELS))


def token_map(metric: str, tokenizer: WordTokenizer = TOKENIZER) -> ngram_ids.IdSymbolMap:
    cls = {"bleu": BleuTokenMap, "chrf": ChrfCharMap, "f1": F1TokenMap}[metric]
    made = cls.from_tokenizer(tokenizer)
    assert made is not None
    return made


def ids_strategy(tokenizer: WordTokenizer = TOKENIZER, max_size: int = 40) -> st.SearchStrategy:
    return st.lists(st.integers(0, tokenizer.vocab_size - 1), max_size=max_size)


reference_strategy = st.lists(
    st.sampled_from(WORDS + EXTRA_WORDS), max_size=30
).map(" ".join)  # fmt: skip
# References given as text: glued and spaced punctuation, digits around periods, markup.
raw_reference_strategy = st.text(
    st.sampled_from("ab5 .,-;&<>'!:?Σ\n"), max_size=40
) | st.sampled_from(["", " ", "1.5, 2", "a... b", "&quot;x&quot;", "<skipped> ok", "x-\ny"])
references_strategy = st.lists(reference_strategy | raw_reference_strategy, min_size=1, max_size=3)


def test_maps_apply_to_the_embedded_tokenizer_only() -> None:
    for cls in (BleuTokenMap, ChrfCharMap, F1TokenMap):
        assert cls.from_tokenizer(object()) is None
        assert cls.from_tokenizer(TOKENIZER) is not None
    # "<unk>" is three 13a tokens, "." none of F1's, "naïve" one chrF symbol per letter.
    assert BLEU_MAP is not None and F1_MAP is not None and CHRF_MAP is not None
    assert BLEU_MAP.id_counts[TOKENIZER.unk_id] == 3
    assert F1_MAP.id_counts[TOKENIZER.token_to_id(".")] == 0
    assert F1_MAP.id_counts[TOKENIZER.token_to_id("The")] == 0  # an article
    assert CHRF_MAP.id_counts[TOKENIZER.token_to_id("naïve")] == 5


def test_glued_word_pieces_are_refused_where_tokens_would_fuse() -> None:
    # Fitted on "don't" and "well-known": "##'", "##t", "##-", "##known" follow without a space.
    glued = WordTokenizer(["don", "##'", "##t", "well", "##-", "##known"])
    assert BleuTokenMap.from_tokenizer(glued) is None
    assert F1TokenMap.from_tokenizer(glued) is None
    assert ChrfCharMap.from_tokenizer(glued) is not None  # characters never depend on spacing
    with pytest.raises(ValueError, match="not a mark 13a always splits off"):
        BleuTokenMap(["", " well", "-"])  # "well-" is one 13a token
    with pytest.raises(ValueError, match="not all punctuation"):
        F1TokenMap(["", " well", "known"])
    with pytest.raises(ValueError, match="13a rewrite"):
        BleuTokenMap(["", " &lt", ";"])  # " &lt;" becomes "<"
    with pytest.raises(ValueError, match="whitespace"):
        BleuTokenMap(["", " a b"])
    # Marks 13a always isolates may follow without a space; F1 deletes them whole.
    assert BleuTokenMap.from_tokenizer(MARKED) is not None
    assert F1TokenMap.from_tokenizer(MARKED) is not None


@METRIC
@JIT
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(ids_strategy(), references_strategy), min_size=1, max_size=8))
def test_batch_equals_string_path(
    metric: str, jit: bool, pairs: list[tuple[list[int], list[str]]]
) -> None:
    _, score_ids, exact = KERNELS[metric]
    got = score_ids(token_map(metric), [h for h, _ in pairs], [r for _, r in pairs], jit=jit)
    for b, (ids, references) in enumerate(pairs):
        text = TOKENIZER.decode(ids)
        assert got[b] == exact(text, references), (metric, text, references)


@METRIC
@JIT
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(ids_strategy(MARKED), references_strategy), min_size=1, max_size=6))
def test_batch_equals_string_path_with_marked_entries(
    metric: str, jit: bool, pairs: list[tuple[list[int], list[str]]]
) -> None:
    _, score_ids, exact = KERNELS[metric]
    hyps, refs = [h for h, _ in pairs], [r for _, r in pairs]
    got = score_ids(token_map(metric, MARKED), hyps, refs, jit=jit)
    for b, (ids, references) in enumerate(pairs):
        text = MARKED.decode(ids)
        assert got[b] == exact(text, references), (metric, text, references)


@settings(max_examples=80, deadline=None)
@given(ids=ids_strategy(), references=st.lists(reference_strategy, min_size=1, max_size=3))
def test_batch_equals_sacrebleu(ids: list[int], references: list[str]) -> None:
    text = TOKENIZER.decode(ids)
    bleu = sentence_bleu_ids(BLEU_MAP, [ids], [references])[0]
    chrf = sentence_chrf_ids(CHRF_MAP, [ids], [references])[0]
    assert bleu == pytest.approx(sacrebleu.sentence_bleu(text, references).score, abs=1e-9)
    assert chrf == pytest.approx(sacrebleu.sentence_chrf(text, references).score, abs=1e-9)


def test_spot_checks_against_sacrebleu() -> None:
    ids = TOKENIZER.encode("the cat sat on the mat . the dog sat on 42 , 5 !")
    references = ["the cat sat on the mat .", "a dog sat on 42, 5!", "The cat."]
    text = TOKENIZER.decode(ids)
    assert text == "the cat sat on the mat. the dog sat on 42, 5!"
    bleu = sentence_bleu_ids(BLEU_MAP, [ids, ids[:3], []], [references] * 3)
    chrf = sentence_chrf_ids(CHRF_MAP, [ids, ids[:3], []], [references] * 3)
    for b, hyp in enumerate([text, "the cat sat", ""]):
        assert bleu[b] == pytest.approx(sacrebleu.sentence_bleu(hyp, references).score, abs=1e-9)
        assert chrf[b] == pytest.approx(sacrebleu.sentence_chrf(hyp, references).score, abs=1e-9)
    assert bleu[0] == metrics.sentence_bleu(text, references)
    # Three tokens, all matched, against the closest reference length (3): effective order 3.
    assert bleu[1] == metrics.sentence_bleu("the cat sat", references) == pytest.approx(100)
    assert bleu[2] == chrf[2] == 0.0


@METRIC
@JIT
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reference_sets=st.lists(references_strategy, min_size=2, max_size=6),
    long_words=st.lists(st.sampled_from(WORDS + EXTRA_WORDS), min_size=60, max_size=90),
    ops=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, TOKENIZER.vocab_size - 1), st.integers(0, 9)),
        max_size=90,
    ),
)
def test_incremental_state_equals_string_path(
    metric: str,
    jit: bool,
    reference_sets: list[list[str]],
    long_words: list[str],
    ops: list[tuple[int, int, int]],
) -> None:
    """Appends, resets and new stores interleaved over 4 rows; every prefix scores like its
    text. Reference sets are stored while other rows are mid-episode, among them longer ones
    (several 64-bit words) and larger ones (more references), which widen the state."""
    cls, _, exact = KERNELS[metric]
    rows = 4
    # A set with a long reference and one reference more than any other, stored late.
    long_set = [" ".join(long_words), *reference_sets[0], "cat"]
    pending = [*reference_sets[1:], long_set]
    batch = cls(token_map(metric), rows, capacity=len(pending) + 1, jit=jit)
    assert batch.jit is jit
    stored = [reference_sets[0]]
    assert batch.store(0, stored[0])
    current = [0] * rows
    batch.reset(np.arange(rows), np.array(current))
    hyps: list[list[int]] = [[] for _ in range(rows)]
    for step, (row, token, action) in enumerate(ops):
        if action == 0 and pending:
            stored.append(pending.pop(0))
            assert batch.store(len(stored) - 1, stored[-1])
        elif action == 1 or len(hyps[row]) == 40:
            current[row] = (current[row] + step + 1) % len(stored)
            batch.reset(np.array([row]), np.array([current[row]]))
            hyps[row] = []
        else:
            batch.append(np.array([row]), np.array([token]))
            hyps[row].append(token)
        got = batch.scores(np.arange(rows))[metric]
        for r in range(rows):
            text = TOKENIZER.decode(hyps[r])
            assert got[r] == exact(text, stored[current[r]]), (metric, text, stored[current[r]])


@METRIC
@JIT
def test_several_rows_append_in_one_call(metric: str, jit: bool) -> None:
    """Rows step together, some skipped in a step (as ended or restarting envs are)."""
    cls, _, exact = KERNELS[metric]
    rng = np.random.default_rng(0)
    rows = 16
    refs = [
        [" ".join(rng.choice(WORDS, 12).tolist()) for _ in range(1 + r % 3)] for r in range(rows)
    ]
    batch = cls(token_map(metric), rows, capacity=rows, jit=jit)
    for slot, references in enumerate(refs):
        assert batch.store(slot, references)
    every = np.arange(rows)
    batch.reset(every, every)
    hyps: list[list[int]] = [[] for _ in range(rows)]
    for _ in range(30):
        active = every[rng.random(rows) < 0.8]
        ids = rng.integers(0, TOKENIZER.vocab_size, len(active))
        batch.append(active, ids)
        for r, i in zip(active.tolist(), ids.tolist(), strict=True):
            hyps[r].append(i)
        subset = every[rng.random(rows) < 0.5]
        got = batch.scores(subset)[metric]
        for b, r in enumerate(subset.tolist()):
            assert got[b] == exact(TOKENIZER.decode(hyps[r]), refs[r])


@pytest.mark.parametrize("metric", [*sorted(KERNELS), "rouge", "content"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ref_ids=st.lists(ids_strategy(max_size=20), min_size=1, max_size=3),
    hyp=ids_strategy(max_size=25),
)
def test_storing_from_reference_ids_equals_storing_the_text(
    metric: str, ref_ids: list[list[int]], hyp: list[int]
) -> None:
    """A reference that decodes from ids is stored from them (IdMetrics does): same scores."""
    import re

    from textgym.metrics.content_ids import ContentIdBatch
    from textgym.metrics.rouge_ids import RougeIdBatch, RougeTokenMap

    tokenizer = TOKENIZER
    if metric == "content":  # at most one content token per id: not "naïve" ("na", "ve")
        words = [w for w in WORDS if len(re.findall("[a-z0-9]+", w.lower())) <= 1]
        tokenizer = WordTokenizer(words)
        ref_ids = [[i % tokenizer.vocab_size for i in ids] for ids in ref_ids]
        hyp = [i % tokenizer.vocab_size for i in hyp]
    references = [tokenizer.decode(ids) for ids in ref_ids]
    if metric == "rouge":
        rouge_map = RougeTokenMap.from_tokenizer(tokenizer)
        assert rouge_map is not None
        batch = RougeIdBatch(rouge_map, 2, 25, ("rouge2", "rougeL"), capacity=2)
    elif metric == "content":
        batch = ContentIdBatch.from_tokenizer(tokenizer, frozenset({"the", "a", "on"}), 2, 2)
        assert batch is not None
    else:
        batch = KERNELS[metric][0](token_map(metric), 2, capacity=2)
    assert batch.store(0, references)
    assert batch.store(1, references, [np.array(ids) for ids in ref_ids])
    rows = np.arange(2)
    batch.reset(rows, rows)
    for token in hyp:
        batch.append(rows, np.array([token, token]))
    for name, values in batch.scores(rows).items():
        assert values[0] == values[1], (name, references)


@METRIC
def test_long_references_are_refused(metric: str) -> None:
    cls, score_ids, _ = KERNELS[metric]
    batch = cls(token_map(metric), 1, jit=False)
    limit = batch.max_reference_symbols
    # chrF counts characters without whitespace (3 per "cat"), the others tokens.
    fits = " ".join(["cat"] * (limit // 3 if metric == "chrf" else limit))
    assert batch.store(0, [fits])
    assert not batch.store(0, [fits + " cat cat"])
    with pytest.raises(ValueError, match=f"longer than {limit} symbols"):
        score_ids(token_map(metric), [[4]], [[fits + " cat cat"]])
    with pytest.raises(ValueError, match="1 hypotheses but 2 reference sets"):
        score_ids(token_map(metric), [[4]], [["cat"], ["cat"]])


def test_jit_without_numba_names_the_extra(monkeypatch) -> None:
    from textgym.metrics.content_ids import ContentIdBatch

    monkeypatch.setitem(sys.modules, "numba", None)  # "import numba" now fails
    for module in ("_ngram_ids_jit", "_content_ids_jit", "_rouge_ids_jit"):
        monkeypatch.delitem(sys.modules, f"textgym.metrics.{module}", raising=False)
    with pytest.raises(ImportError, match=r'pip install "textgym\[fast\]"'):
        BleuIdBatch(BLEU_MAP, 1, jit=True)
    with pytest.raises(ImportError, match=r'pip install "textgym\[fast\]"'):
        ContentIdBatch.from_tokenizer(TOKENIZER, frozenset({"the"}), 1, jit=True)
    assert not ngram_ids.jit_available()
    # The default falls back to the numpy code, with the same results.
    batch = F1IdBatch(F1_MAP, 1)
    assert not batch.jit
    ids = TOKENIZER.encode("the cat sat")
    assert token_f1_ids(F1_MAP, [ids], [["a cat sat"]])[0] == metrics.token_f1(
        "the cat sat", ["a cat sat"]
    )
