"""ROUGE as the official ROUGE-1.5.5 perl script computes it (``flavor="rouge155"``).

Summarization papers report ROUGE-1.5.5 (usually through pyrouge or files2rouge), and
rouge-score with stemming differs from it: rouge-score stems with NLTK's extended Porter
stemmer and has no exception list. This module re-implements ROUGE-1.5.5's scoring, with
its own output as the oracle (``tests/test_rouge155.py``):

* **Tokens**: ASCII letters are lowercased, every character other than ``[A-Za-z0-9]`` is a
  separator (the script replaces them by spaces and drops the ``-`` tokens it splits off),
  so the tokens are the ASCII alphanumeric runs. Non-ASCII characters separate tokens, as
  their UTF-8 bytes do in the script.
* **Stemming** (``-m``): tokens longer than 3 characters are looked up in the WordNet 2.0
  exception list first (``children`` -> ``child``, ``went`` -> ``go``; shipped as package
  data, see ``data/LICENSE-WordNet-2.0.txt``), else stemmed with the script's own Porter
  stemmer: Porter's original algorithm in Martin Porter's reference form (step 2 ``bli`` ->
  ``ble`` and ``logi`` -> ``log``) with ROUGE's 2004 change to step 4, where ``-ment`` and
  ``-ent`` are tried after the other suffixes. Neither NLTK mode reproduces that step, so the
  stemmer is re-implemented here from the algorithm and checked word by word against the
  script.
* **Sentences**: each non-empty line of a text is one sentence (the script's SPL input, as
  pyrouge and files2rouge feed it). ROUGE-N counts n-grams over the whole text, across
  sentence breaks, like the script.
* **ROUGE-L**: the script's ROUGE-L is summary-level: for each reference sentence the union of
  its LCS positions with every hypothesis sentence, each token credited at most as often as it
  occurs on both sides (LCS ties broken like the script). ``rougeLsum`` is that on the
  text's lines (rouge-score's name for the analogue); ``rougeL`` is the same with the whole
  text as one sentence (what the script reports when each summary is one line, the usual
  files2rouge set-up).
* **Several references** (``-f A``, the default): hits, reference and hypothesis counts are
  summed over the references before dividing, so precision is hits / (k x hypothesis
  length). ``multiref="best"`` is ``-f B``: the reference with the best recall counts.
  ROUGE-1.5.5 does not jackknife (earlier DUC-era versions did); neither does this.
* **F-measure**: ``P*R / ((1-alpha)*P + alpha*R)`` with ``alpha=0.5`` (``-p 0.5``).
* **Corpus scores** (:func:`corpus_rouge`, ``-a``): per document the script rounds recall and
  precision to 5 decimals, computes F from the rounded values and rounds it, then averages
  each of the three over documents. What it prints is the mean of its 1000 bootstrap
  resamples of that average (``-r 1000``, seeded 0..999), with a confidence interval
  (``-c 95``). :func:`corpus_rouge` reproduces those numbers exactly by default (perl's
  ``drand48`` generator is re-implemented); ``resamples=0`` gives the plain average.

Not matched: length limits (``-l``, ``-b``), stopword removal (``-s``), stemming only the
references (``-M``), ROUGE-W/S/SU/BE, per-token averaging (``-t 1``) and the SEE/ISI input
formats (pyrouge writes SEE html, where a sentence ends at its first ``<``).

Sentence-level functions return unrounded values (smooth rewards); they differ from the
script's per-document numbers only by its 5-decimal rounding. The opt-in rewards
``rouge155-1``, ``-2``, ``-L`` and ``-Lsum`` (:mod:`textgym.rewards.scorers`) score with them;
:mod:`textgym.metrics.rouge155_ids` is the token-id kernel of the first three.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from ._tokenize import tokenize_rouge
from ._validate import check_hypotheses, check_hypothesis, check_references, check_references_list
from .bleu import clipped_matches
from .rouge import (
    check_variant,
    fmeasure,
    lcs_length,
    lcs_masks,
    ngram_counter,
    rouge_ref,
)

#: Accepted ``flavor=`` values: rouge-score's computation and ROUGE-1.5.5's.
FLAVORS = ("rouge-score", "rouge155")
#: Accepted ``multiref=`` values (ROUGE-1.5.5's ``-f A`` and ``-f B``).
MULTIREF_MODES = ("average", "best")


class RougeTriple(NamedTuple):
    """Precision, recall and F-measure of one ROUGE variant (0-1 scale)."""

    precision: float
    recall: float
    fmeasure: float


class CorpusRouge(NamedTuple):
    """A corpus-level ROUGE score and, with bootstrap resampling, its confidence interval.

    Attributes:
        precision: Average precision over documents.
        recall: Average recall over documents.
        fmeasure: Average F-measure over documents (not the F of the averages).
        low: Lower confidence bounds of precision, recall and F; ``None`` without resampling.
        high: Upper confidence bounds; ``None`` without resampling.
    """

    precision: float
    recall: float
    fmeasure: float
    low: RougeTriple | None = None
    high: RougeTriple | None = None


def check_flavor(flavor: object) -> str:
    """Return ``flavor`` if it is one of :data:`FLAVORS`, else raise ``ValueError``."""
    if flavor not in FLAVORS:
        raise ValueError(f"unknown ROUGE flavor {flavor!r}; expected one of {', '.join(FLAVORS)}")
    return flavor


def _check_multiref(multiref: object) -> str:
    if multiref not in MULTIREF_MODES:
        raise ValueError(
            f"unknown multiref mode {multiref!r}; expected one of {', '.join(MULTIREF_MODES)}"
        )
    return multiref


def _check_alpha(alpha: object) -> float:
    # The script refuses alpha outside [0, 1] (-p) as well.
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    return float(alpha)


# --------------------------------------------------------------------------------------------
# Stemming: WordNet 2.0 exceptions, then ROUGE-1.5.5's Porter stemmer
# --------------------------------------------------------------------------------------------

_EXCEPTIONS_FILE = "wordnet-2.0-exceptions.txt"


@lru_cache(maxsize=1)
def wordnet_exceptions() -> dict[str, str]:
    """The WordNet 2.0 exception list ROUGE-1.5.5 consults before stemming (inflected -> base).

    Returns:
        A read-only-by-convention mapping of the 5,593 entries the script can look up.
    """
    from importlib import resources  # on first use: importing it costs ~10 ms

    # One name per joinpath: Traversable.joinpath takes a single one before Python 3.11.
    resource = resources.files(__package__).joinpath("data").joinpath(_EXCEPTIONS_FILE)
    text = resource.read_text("ascii")
    table: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            word, base = line.split()
            table[word] = base
    return table


# The measure m of a stem is read off these patterns exactly as the script writes them: y is a
# vowel after a consonant only ([^aeiou] then [^aeiouy]*), and a leading y was upper-cased to
# make it a consonant.
_CONS = "[^aeiou]"
_VOWEL = "[aeiouy]"
_CONS_RUN = f"{_CONS}[^aeiouy]*"
_VOWEL_RUN = f"{_VOWEL}[aeiou]*"
_M_GT0 = re.compile(f"^({_CONS_RUN})?{_VOWEL_RUN}{_CONS_RUN}")
_M_EQ1 = re.compile(f"^({_CONS_RUN})?{_VOWEL_RUN}{_CONS_RUN}({_VOWEL_RUN})?$")
_M_GT1 = re.compile(f"^({_CONS_RUN})?{_VOWEL_RUN}{_CONS_RUN}{_VOWEL_RUN}{_CONS_RUN}")
_HAS_VOWEL = re.compile(f"^({_CONS_RUN})?{_VOWEL}")
_CVC_END = re.compile(f"^{_CONS_RUN}{_VOWEL}[^aeiouwxy]$")

_STEP1A = re.compile(r"(ss|i)es$")
_STEP1A_S = re.compile(r"([^s])s$")
_STEP1B_RESTORE_E = re.compile(r"(at|bl|iz)$")
_STEP1B_DOUBLE = re.compile(r"([^aeiouylsz])\1$")
_STEP2 = {
    "ational": "ate", "tional": "tion", "enci": "ence", "anci": "ance", "izer": "ize",
    "bli": "ble", "alli": "al", "entli": "ent", "eli": "e", "ousli": "ous", "ization": "ize",
    "ation": "ate", "ator": "ate", "alism": "al", "iveness": "ive", "fulness": "ful",
    "ousness": "ous", "aliti": "al", "iviti": "ive", "biliti": "ble", "logi": "log",
}  # fmt: skip
_STEP3 = {
    "icate": "ic", "ative": "", "alize": "al", "iciti": "ic", "ical": "ic", "ful": "",
    "ness": "",
}  # fmt: skip
# A search for "(a|b|...)$" finds the leftmost start, i.e. the longest listed suffix.
_STEP2_SUFFIX = re.compile(f"({'|'.join(_STEP2)})$")
_STEP3_SUFFIX = re.compile(f"({'|'.join(_STEP3)})$")
# ROUGE's step 4 tries -ment and -ent in separate rules after this list (so "-ement" words
# fall back to them and a stripped "-al" can expose an "-ent"); the original has one list.
_STEP4_SUFFIX = re.compile(r"(al|ance|ence|er|ic|able|ible|ant|ement|ou|ism|ate|iti|ous|ive|ize)$")
_STEP4_ION = re.compile(r"(s|t)ion$")


def porter_stem(word: str) -> str:
    """Stem a lowercase word with ROUGE-1.5.5's Porter stemmer (no exception list).

    Args:
        word: A lowercase token.

    Returns:
        Its stem, identical to the script's ``stem`` subroutine.
    """
    if len(word) < 3:
        return word
    initial_y = word[0] == "y"
    if initial_y:
        word = "Y" + word[1:]

    # -sses -> -ss, -ies -> -i, else a final -s after a non-s goes.
    if (m := _STEP1A.search(word)) or (m := _STEP1A_S.search(word)):
        word = word[: m.start()] + m.group(1)

    if word.endswith("eed"):
        if _M_GT0.match(word[:-3]):
            word = word[:-1]
    elif word.endswith(("ed", "ing")):
        stem = word[:-2] if word.endswith("ed") else word[:-3]
        if _HAS_VOWEL.match(stem):
            word = stem
            if _STEP1B_RESTORE_E.search(word):
                word += "e"
            elif _STEP1B_DOUBLE.search(word):
                word = word[:-1]
            elif _CVC_END.match(word):
                word += "e"

    if word.endswith("y") and _HAS_VOWEL.match(word[:-1]):
        word = word[:-1] + "i"

    if m := _STEP2_SUFFIX.search(word):
        stem = word[: m.start()]
        if _M_GT0.match(stem):
            word = stem + _STEP2[m.group(1)]

    if m := _STEP3_SUFFIX.search(word):
        stem = word[: m.start()]
        if _M_GT0.match(stem):
            word = stem + _STEP3[m.group(1)]

    if (m := _STEP4_SUFFIX.search(word)) and _M_GT1.match(word[: m.start()]):
        word = word[: m.start()]
    if word.endswith("ment") and _M_GT1.match(word[:-4]):
        word = word[:-4]
    if word.endswith("ent"):
        if _M_GT1.match(word[:-3]):
            word = word[:-3]
    elif (m := _STEP4_ION.search(word)) and _M_GT1.match(word[: m.start() + 1]):
        word = word[: m.start() + 1]

    if word.endswith("e"):
        stem = word[:-1]
        if _M_GT1.match(stem) or (_M_EQ1.match(stem) and not _CVC_END.match(stem)):
            word = stem
    if word.endswith("ll") and _M_GT1.match(word):
        word = word[:-1]

    if initial_y:
        word = "y" + word[1:]
    return word


_STEMS: dict[str, str] = {}
_STEMS_LIMIT = 500_000


def stem_token(token: str) -> str:
    """ROUGE-1.5.5's ``-m`` form of one lowercase token (cached).

    Tokens of 3 characters or fewer stay as they are; longer ones map to their WordNet 2.0 base
    form if they are an exception, else to their Porter stem.
    """
    stem = _STEMS.get(token)
    if stem is None:
        if len(_STEMS) > _STEMS_LIMIT:
            _STEMS.clear()
        stem = token
        if len(token) > 3:
            stem = wordnet_exceptions().get(token) or porter_stem(token)
        _STEMS[token] = stem
    return stem


def _stem_all(tokens: list[str]) -> list[str]:
    # A dict lookup per token in C; only unseen tokens go through stem_token.
    try:
        return list(map(_STEMS.__getitem__, tokens))
    except KeyError:
        return list(map(stem_token, tokens))


_WORD = re.compile(r"[A-Za-z0-9]+")


def tokenize155(text: str, stem: bool = True) -> list[str]:
    """Tokens of ``text`` as ROUGE-1.5.5 counts them.

    Args:
        text: Any text; line breaks are ignored here.
        stem: Apply the script's ``-m`` stemming.

    Returns:
        Lowercase ASCII alphanumeric runs, stemmed if asked.
    """
    words = _WORD.findall(text)
    if not words:
        return []
    # The runs are ASCII, so lower() cannot turn a non-ASCII letter into an ASCII one here
    # (text.lower() would: the Kelvin sign becomes "k"); one join keeps it a single C call.
    words = " ".join(words).lower().split(" ")
    return _stem_all(words) if stem else words


def sentences155(text: str, stem: bool = True) -> list[list[str]]:
    """Token lists of the non-empty lines of ``text`` (sentences without tokens dropped)."""
    sentences = (tokenize155(line, stem) for line in text.split("\n"))
    return [s for s in sentences if s]


# --------------------------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------------------------


class _Side:
    """Tokens, sentences and lazily built n-gram counts of one text (hypothesis or reference)."""

    __slots__ = ("tokens", "sentences", "_ngrams", "_masks", "_sentence_masks")

    def __init__(self, tokens: list[str], sentences: list[list[str]]) -> None:
        self.tokens = tokens
        self.sentences = sentences
        self._ngrams: dict[int, Counter] = {}
        self._masks: dict[str, int] | None = None
        self._sentence_masks: list[dict[str, int]] | None = None

    def ngrams(self, n: int) -> Counter:
        counts = self._ngrams.get(n)
        if counts is None:
            counts = self._ngrams[n] = ngram_counter(self.tokens, n)
        return counts

    @property
    def masks(self) -> dict[str, int]:
        if self._masks is None:
            self._masks = lcs_masks(self.tokens)
        return self._masks

    @property
    def sentence_masks(self) -> list[dict[str, int]]:
        if self._sentence_masks is None:
            self._sentence_masks = [lcs_masks(sent) for sent in self.sentences]
        return self._sentence_masks


def _side155(text: str, stem: bool) -> _Side:
    if "\n" not in text:
        tokens = tokenize155(text, stem)
        return _Side(tokens, [tokens] if tokens else [])
    sentences = sentences155(text, stem)
    return _Side([tok for sent in sentences for tok in sent], sentences)


@lru_cache(maxsize=16384)
def _ref155(text: str, stem: bool) -> _Side:
    return _side155(text, stem)


def _ref_rouge_score(text: str, stem: bool) -> _Side:
    # rouge-score's tokens and lines, from textgym's cached rouge-score reference data.
    ref = rouge_ref(text, stem)
    return _Side(ref.tokens, ref.sentences)


def lcs_positions(ref: Sequence[str], masks: dict[str, int], hyp: Sequence[str]) -> list[int]:
    """Positions in ``ref`` of one LCS with ``hyp``, chosen by ROUGE-1.5.5's backtracking.

    The script fills the LCS table and walks back from the end: diagonally on equal tokens,
    else up (dropping a reference token) unless left is strictly better. The union LCS
    depends on which LCS that picks. Instead of the O(m*n) table, this keeps the bit-parallel
    LCS row after each hypothesis token (as :func:`textgym.metrics.rouge.lcs_length`): the
    table entry ``c[i][j]`` is ``i`` minus the set bits of row ``j`` below bit ``i``, so each
    step of the walk costs a bit test or a popcount.

    Args:
        ref: Reference sentence tokens.
        masks: :func:`textgym.metrics.rouge.lcs_masks` of ``ref``.
        hyp: Hypothesis sentence tokens.

    Returns:
        Increasing reference positions, the same as rouge-score's ``_backtrack_norec`` and
        the script's ``markLCS`` give.
    """
    if masks.keys().isdisjoint(hyp):
        return []  # no shared token (common between sentences of a summary): skip the pass
    m = len(ref)
    full = (1 << m) - 1
    state = full
    rows = [state]
    get = masks.get
    for tok in hyp:
        match = get(tok)
        if match is not None:
            u = state & match
            state = ((state + u) | (state - u)) & full
        rows.append(state)
    # With c = c(i, j): moving up costs d = c(i, j) - c(i-1, j), which is 0 exactly where bit
    # i-1 of row j is set; the script moves up unless c(i, j-1) > c(i-1, j), i.e. when d = 0
    # or c(i, j-1) = c - 1 as well. Nothing is picked once c is 0.
    picked: list[int] = []
    i, j = m, len(hyp)
    row = rows[j]
    c = m - row.bit_count()
    while c:
        if ref[i - 1] == hyp[j - 1]:
            i -= 1
            j -= 1
            picked.append(i)
            c -= 1
            row = rows[j]
        elif (row >> (i - 1)) & 1:
            i -= 1
        elif i - (rows[j - 1] & ((1 << i) - 1)).bit_count() == c - 1:
            i -= 1
            c -= 1
        else:
            j -= 1
            row = rows[j]
    picked.reverse()
    return picked


def union_lcs_hits(
    ref_sents: list[list[str]],
    hyp_sents: list[list[str]],
    ref_masks: list[dict[str, int]] | None = None,
    ref_counts: Counter | None = None,
    hyp_counts: Counter | None = None,
) -> int:
    """Summary-level LCS hits: ROUGE-1.5.5's ROUGE-L numerator (and rouge-score's rougeLsum).

    For each reference sentence, the union of its positions on one LCS with each hypothesis
    sentence (ties broken as the script does); a position is a hit while its token still has
    budget on both sides (its number of occurrences in each whole text).

    Args:
        ref_sents: Token lists of the reference sentences.
        hyp_sents: Token lists of the hypothesis sentences.
        ref_masks: Optional :func:`~textgym.metrics.rouge.lcs_masks` of each reference
            sentence (cached with a reference).
        ref_counts: Optional token counts of the whole reference (not modified).
        hyp_counts: Optional token counts of the whole hypothesis (not modified).

    Returns:
        The number of hits.
    """
    if not ref_sents or not hyp_sents:
        return 0
    if ref_masks is None:
        ref_masks = [lcs_masks(ref) for ref in ref_sents]
    if len(ref_sents) == 1 and len(hyp_sents) == 1:
        # One pair: no token can exceed its budget, and the hits are the LCS length.
        return lcs_length(ref_masks[0], len(ref_sents[0]), hyp_sents[0])
    # Budgets are decremented: plain dict copies (one C call each). A picked position's token
    # occurs in both texts, so both have a key for it.
    ref_budget = dict(
        ref_counts if ref_counts is not None else Counter(t for sent in ref_sents for t in sent)
    )
    hyp_budget = dict(
        hyp_counts if hyp_counts is not None else Counter(t for sent in hyp_sents for t in sent)
    )
    hits = 0
    for ref, masks in zip(ref_sents, ref_masks, strict=True):
        union: set[int] = set()
        for hyp in hyp_sents:
            union.update(lcs_positions(ref, masks, hyp))
        for idx in sorted(union):
            tok = ref[idx]
            if hyp_budget[tok] > 0 and ref_budget[tok] > 0:
                hits += 1
                hyp_budget[tok] -= 1
                ref_budget[tok] -= 1
    return hits


def _counts(variant: str, hyp: _Side, ref: _Side) -> tuple[int, int, int]:
    """(hits, reference count, hypothesis count) of one variant against one reference."""
    if variant == "rougeL":
        hits = lcs_length(ref.masks, len(ref.tokens), hyp.tokens) if hyp.tokens else 0
        return hits, len(ref.tokens), len(hyp.tokens)
    if variant == "rougeLsum":
        hits = union_lcs_hits(
            ref.sentences, hyp.sentences, ref.sentence_masks, ref.ngrams(1), hyp.ngrams(1)
        )
        return hits, len(ref.tokens), len(hyp.tokens)
    n = int(variant[5:])
    hits = clipped_matches(hyp.ngrams(n), ref.ngrams(n))
    return hits, max(0, len(ref.tokens) - n + 1), max(0, len(hyp.tokens) - n + 1)


def _round5(value: float) -> float:
    # The script keeps every per-document score as sprintf("%7.5f"); Python's formatting
    # rounds the binary value correctly, as C's printf does.
    return float(f"{value:.5f}")


def _prf(
    hits: int, ref_count: int, hyp_count: int, alpha: float, rounded: bool
) -> tuple[float, float, float]:
    recall = hits / ref_count if ref_count else 0.0
    precision = hits / hyp_count if hyp_count else 0.0
    if rounded:
        recall, precision = _round5(recall), _round5(precision)
    denom = (1 - alpha) * precision + alpha * recall
    fmeasure = precision * recall / denom if denom > 0 else 0.0
    return precision, recall, (_round5(fmeasure) if rounded else fmeasure)


def _combine155(
    variant: str, per_ref: list[tuple[int, int, int]], multiref: str
) -> tuple[int, int, int]:
    if multiref == "average":
        hits, ref_count, hyp_count = (sum(column) for column in zip(*per_ref, strict=True))
        return hits, ref_count, hyp_count
    # -f B keeps the first reference with the strictly best recall; the script compares
    # n-gram recalls after rounding them to 5 decimals, LCS recalls unrounded.
    best, best_recall = per_ref[0], -1.0
    for counts in per_ref:
        hits, ref_count, _ = counts
        recall = hits / ref_count if ref_count else 0.0
        if variant.removeprefix("rouge")[:1].isdigit():
            recall = _round5(recall)
        if recall > best_recall:
            best, best_recall = counts, recall
    return best


def _document_scores(
    hypothesis: str,
    references: tuple[str, ...],
    variants: Sequence[str],
    flavor: str,
    stem: bool,
    multiref: str,
    alpha: float,
    rounded: bool,
) -> dict[str, tuple[float, float, float]]:
    """(precision, recall, F) per variant of one document, as the flavour computes them."""
    if flavor == "rouge155":
        hyp = _side155(hypothesis, stem)
        refs = [_ref155(r, stem) for r in references]
        out = {}
        for v in variants:
            counts = _combine155(v, [_counts(v, hyp, r) for r in refs], multiref)
            out[v] = _prf(*counts, alpha, rounded)
        return out
    # rouge-score: the reference with the best F-measure (the first of equals) counts.
    hyp = _Side(
        tokenize_rouge(hypothesis, stem),
        [tokenize_rouge(s, stem) for s in hypothesis.split("\n") if s],
    )
    refs = [_ref_rouge_score(r, stem) for r in references]
    out = {}
    for v in variants:
        triples = []
        for ref in refs:
            hits, ref_count, hyp_count = _counts(v, hyp, ref)
            # rouge-score divides by max(count, 1) and uses 2PR/(P+R); kept for bit equality.
            precision, recall = hits / max(hyp_count, 1), hits / max(ref_count, 1)
            triples.append((precision, recall, fmeasure(precision, recall)))
        out[v] = max(triples, key=lambda t: t[2])
    return out


def _check_variants(variants: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(variants, str):
        variants = (variants,)
    variants = tuple(variants)
    if not variants:
        raise ValueError("variants must name at least one ROUGE variant")
    for v in variants:
        check_variant(v)
    return variants


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def rouge_prf(
    hypothesis: str,
    references: Sequence[str],
    variants: Sequence[str] = ("rouge1", "rouge2", "rougeL"),
    flavor: str = "rouge155",
    stem: bool = True,
    multiref: str = "average",
    alpha: float = 0.5,
) -> dict[str, RougeTriple]:
    """Precision, recall and F-measure of one hypothesis for each variant.

    Args:
        hypothesis: The system output; lines are sentences (for ``rougeLsum``).
        references: One or more reference texts.
        variants: Among rouge1..rouge9, rougeL, rougeLsum.
        flavor: ``"rouge155"`` (ROUGE-1.5.5, see the module docstring) or ``"rouge-score"``
            (the best-F reference's triple, as rouge-score's ``score_multi``).
        stem: Stemming (``-m`` for rouge155, Porter for rouge-score).
        multiref: rouge155 only: ``"average"`` (``-f A``) or ``"best"`` (``-f B``).
        alpha: rouge155 only: the weight of recall in the F-measure (``-p``).

    Returns:
        Mapping variant -> :class:`RougeTriple`, unrounded.

    Raises:
        TypeError: On a non-string hypothesis or malformed references.
        ValueError: On empty references or an unknown variant, flavour or mode.
    """
    check_hypothesis(hypothesis)
    refs = check_references(references)
    variants = _check_variants(variants)
    flavor = check_flavor(flavor)
    multiref = _check_multiref(multiref)
    alpha = _check_alpha(alpha)
    scores = _document_scores(hypothesis, refs, variants, flavor, stem, multiref, alpha, False)
    return {v: RougeTriple(*t) for v, t in scores.items()}


def rouge155_scores(
    hypothesis: str,
    references: Sequence[str],
    variants: Sequence[str] = ("rouge1", "rouge2", "rougeL"),
    stem: bool = True,
    multiref: str = "average",
) -> dict[str, float]:
    """ROUGE-1.5.5 F-measures of one hypothesis (``rouge_scores(..., flavor="rouge155")``).

    Args:
        hypothesis: The system output; lines are sentences (for ``rougeLsum``).
        references: One or more reference texts, combined as ``-f A`` (or ``-f B``).
        variants: Among rouge1..rouge9, rougeL, rougeLsum.
        stem: The script's ``-m`` stemming.
        multiref: ``"average"`` (``-f A``) or ``"best"`` (``-f B``).

    Returns:
        Mapping variant -> F-measure in [0, 1] (unrounded).
    """
    triples = rouge_prf(hypothesis, references, variants, "rouge155", stem, multiref)
    return {v: t.fmeasure for v, t in triples.items()}


def _perl_bootstrap(
    values: list[tuple[float, float, float]], resamples: int, confidence: float
) -> tuple[list[float], list[float], list[float]]:
    """ROUGE-1.5.5's bootstrap: resample i is drawn after ``srand(i)`` with perl's drand48."""
    import numpy as np

    n = len(values)
    table = np.asarray(values, dtype=np.float64)
    # Perl >= 5.20 has its own drand48: srand(s) sets x = s * 2^16 + 0x330E and each rand()
    # steps x = x * 0x5DEECE66D + 0xB mod 2^48, returning x / 2^48. uint64 arithmetic wraps
    # mod 2^64, which keeps the low 48 bits right.
    state = (np.arange(resamples, dtype=np.uint64) << np.uint64(16)) + np.uint64(0x330E)
    mult, inc, mask = np.uint64(0x5DEECE66D), np.uint64(0xB), np.uint64((1 << 48) - 1)
    sums = np.zeros((resamples, 3))
    with np.errstate(over="ignore"):
        for _ in range(n):
            state = (state * mult + inc) & mask
            picks = (state.astype(np.float64) * 2.0**-48 * n).astype(np.int64)
            sums += table[picks]
    samples = sums / n
    delta = resamples * ((100 - confidence) / 2.0) / 100.0
    upper_a = int(resamples - delta - 1)
    lower_a = int(delta)
    ratio = resamples - delta - 1 - upper_a

    def bound(ranked: list[float], i: int) -> float:
        # Interpolates between ranks i and i+1; perl reads a rank past the end as 0.
        below = ranked[i] if 0 <= i < len(ranked) else 0.0
        above = ranked[i + 1] if 0 <= i + 1 < len(ranked) else 0.0
        return _round5(below + (above - below) * ratio)

    means, lows, highs = [], [], []
    for col in range(3):
        ranked = sorted(samples[:, col].tolist())
        means.append(_round5(sum(ranked) / resamples))  # summed in sorted order, like perl
        lows.append(bound(ranked, lower_a))
        highs.append(bound(ranked, upper_a))
    return means, lows, highs


def corpus_rouge(
    hypotheses: Sequence[str],
    references_list: Sequence[Sequence[str]],
    variants: Sequence[str] = ("rouge1", "rouge2", "rougeL", "rougeLsum"),
    flavor: str = "rouge155",
    stem: bool = True,
    multiref: str = "average",
    alpha: float = 0.5,
    resamples: int | None = None,
    confidence: float = 95.0,
    ids: Sequence[str] | None = None,
) -> dict[str, CorpusRouge]:
    """Corpus-level ROUGE: per-document precision, recall and F averaged over documents.

    With ``flavor="rouge155"`` this is ROUGE-1.5.5 with ``-c 95 -r 1000 -a -n N`` (and ``-m``
    with ``stem=True``): see the module docstring for what is matched. With
    ``"rouge-score"`` it is the mean of rouge-score's per-document scores (what its
    ``BootstrapAggregator`` estimates).

    Args:
        hypotheses: One system output per document; lines are sentences.
        references_list: One non-empty sequence of references per document.
        variants: Among rouge1..rouge9, rougeL, rougeLsum.
        flavor: ``"rouge155"`` or ``"rouge-score"``.
        stem: Stemming (``-m`` for rouge155).
        multiref: rouge155 only: ``"average"`` (``-f A``) or ``"best"`` (``-f B``).
        alpha: rouge155 only: recall weight of the F-measure (``-p``).
        resamples: The script's bootstrap (``-r``): the mean of that many resampled averages,
            rounded to 5 decimals, and its confidence interval, which is what ROUGE-1.5.5
            prints. ``None``: 1000 for rouge155 (pyrouge's and files2rouge's ``-r 1000``), 0
            for rouge-score; 0 gives the plain average the bootstrap estimates (it moved the
            script's numbers by up to 0.29 ROUGE points on its 25-document sample test).
        confidence: Confidence level in percent for the interval (``-c``).
        ids: rouge155 with resampling only: the documents' evaluation ids in the script's
            config, since it resamples documents in string order of ``"<id>.<system>"``.
            files2rouge and pyrouge on files ``s.0.txt, s.1.txt...`` use
            ``[str(i) for i in range(n)]``. ``None`` keeps the given order (right for ids
            that sort as given, such as zero-padded numbers).

    Returns:
        Mapping variant -> :class:`CorpusRouge` (0-1 scale). No documents give zeros, as the
        script prints.

    Raises:
        TypeError: On malformed hypotheses or references.
        ValueError: On mismatched lengths, empty reference sets or bad options.
    """
    hyps = check_hypotheses(hypotheses)
    refs_list = check_references_list(references_list, len(hyps))
    variants = _check_variants(variants)
    flavor = check_flavor(flavor)
    multiref = _check_multiref(multiref)
    alpha = _check_alpha(alpha)
    if resamples is None:
        resamples = 1000 if flavor == "rouge155" else 0
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 0:
        raise ValueError(f"resamples must be a non-negative int, got {resamples!r}")
    if flavor != "rouge155" and (resamples or ids is not None):
        raise ValueError("resamples and ids reproduce ROUGE-1.5.5's bootstrap: flavor='rouge155'")
    if not isinstance(confidence, (int, float)) or not 0 < confidence < 100:
        raise ValueError(f"confidence must be a percentage in (0, 100), got {confidence!r}")
    order = list(range(len(hyps)))
    if ids is not None:
        ids = [str(i) for i in ids]
        if len(ids) != len(hyps) or len(set(ids)) != len(ids):
            raise ValueError("ids must hold one distinct id per hypothesis")
        # "<id>.<system>" with one system: the "." decides between an id and its extensions.
        order.sort(key=lambda i: ids[i] + ".")
    rounded = flavor == "rouge155"
    docs = [
        _document_scores(hyps[i], refs_list[i], variants, flavor, stem, multiref, alpha, rounded)
        for i in order
    ]
    result = {}
    for v in variants:
        # The script keeps (R, P, F) per document; output is (P, R, F).
        values = [(d[v][1], d[v][0], d[v][2]) for d in docs]
        if resamples and values:
            (r, p, f), (rl, pl, fl), (rh, ph, fh) = _perl_bootstrap(values, resamples, confidence)
            result[v] = CorpusRouge(p, r, f, RougeTriple(pl, rl, fl), RougeTriple(ph, rh, fh))
        elif values:
            n = len(values)
            r, p, f = (sum(col) / n for col in zip(*values, strict=True))
            result[v] = CorpusRouge(p, r, f)
        else:
            zero = RougeTriple(0.0, 0.0, 0.0) if resamples else None
            result[v] = CorpusRouge(0.0, 0.0, 0.0, zero, zero)
    return result


def clear_caches() -> None:
    """Drop the rouge155 reference and stem caches (results never depend on them)."""
    _ref155.cache_clear()
    _STEMS.clear()
