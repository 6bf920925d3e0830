"""Exact, fast text-generation metrics for rewards and evaluation.

Plain functions (scores equal the reference implementations to within 1e-9):

* ``sentence_bleu``, ``corpus_bleu``, ``sentence_chrf`` (chrF / chrF++), ``sentence_ter``:
  sacrebleu 2.x with default settings (0-100 scale; TER is lower-is-better).
* ``rouge`` / ``rouge_scores``: rouge-score's ``RougeScorer(...).score_multi`` F-measure
  (rouge1..rouge9, rougeL, rougeLsum; Porter stemming by default; 0-1 scale).
  ``flavor="rouge155"`` gives the official ROUGE-1.5.5 perl script's numbers instead, and
  ``corpus_rouge(hyps, refs_list)`` its corpus-level precision, recall and F
  (:mod:`textgym.metrics.rouge155`).
* ``token_f1``: SQuAD token F1 (0-1 scale).

Dense rewards: ``IncrementalBLEU``, ``IncrementalChrF``, ``IncrementalTokenF1``,
``IncrementalRouge`` (or ``incremental(name, references)``) hold one episode's state;
``update(full_text)`` returns the plain function's score of ``full_text`` while only
re-processing what changed since the previous call::

    scorer = incremental("bleu", ["The cat sat on the mat."])
    for text in ("The", "The cat", "The cat sat"):
        reward = scorer.update(text)

Batches: ``sentence_bleu_batch``, ``sentence_chrf_batch``, ``sentence_ter_batch``,
``rouge_batch``, ``token_f1_batch`` or ``score_batch(name, hyps, refs_list)`` return numpy
arrays equal to calling the single functions; ``rouge_scores_batch`` returns several ROUGE
variants at once (``rouge_scores`` per pair).

Token ids: :mod:`textgym.metrics.rouge_ids` (ROUGE-N/ROUGE-L), :mod:`textgym.metrics.bleu_ids`
(sentence BLEU), :mod:`textgym.metrics.chrf_ids` (chrF), :mod:`textgym.metrics.f1_ids` (token F1)
and :mod:`textgym.metrics.content_ids` (content-word ROUGE-L) score many growing hypotheses given
as ids of the embedded word tokenizer with numpy (or compiled loops with numba), bit for bit
equal to the string functions (the native vector env uses them; import them explicitly, they
need numpy).

Citing: ``signature(name, **options)`` is sacrebleu's reproducibility signature (and a
ROUGE equivalent); ``paired_bootstrap`` / ``paired_randomization`` are sacrebleu's paired
significance tests (``--paired-bs`` / ``--paired-ar``) between two systems' outputs.

Reference statistics, word stems and tokenisations are cached (bounded); results never
depend on the caches and ``clear_caches()`` drops them. nltk (stemming) and numpy (batch
results, long-text chrF) are imported on first use only.
"""

from .batch import (
    rouge_batch,
    rouge_scores_batch,
    score_batch,
    sentence_bleu_batch,
    sentence_chrf_batch,
    sentence_ter_batch,
    token_f1_batch,
)
from .bleu import corpus_bleu, sentence_bleu
from .chrf import sentence_chrf
from .f1 import token_f1
from .incremental import (
    IncrementalBLEU,
    IncrementalChrF,
    IncrementalRouge,
    IncrementalScorer,
    IncrementalTokenF1,
    RescoringScorer,
    incremental,
)
from .rouge import VALID_VARIANTS, rouge, rouge_scores
from .rouge155 import CorpusRouge, RougeTriple, corpus_rouge, rouge_prf
from .signatures import signature
from .significance import PairedResult, paired_bootstrap, paired_randomization
from .ter import sentence_ter


def clear_caches() -> None:
    """Drop every cache: reference statistics, word stems and memoised tokenisations.

    Results never depend on the caches; this only frees memory (or measures cold-start cost).
    """
    from ._tokenize import _STEM_CACHE
    from .bleu import SENTENCE_REFERENCES
    from .chrf import chrf_ref
    from .incremental import MEMOIZED_TOKENIZERS, _bleu_index
    from .rouge import clear_stem_table, rouge_ref
    from .rouge155 import clear_caches as clear_rouge155_caches

    for tokenizer in MEMOIZED_TOKENIZERS:
        tokenizer.cache.clear()
    _bleu_index.cache_clear()
    SENTENCE_REFERENCES.clear()
    chrf_ref.cache_clear()
    rouge_ref.cache_clear()
    clear_stem_table()
    _STEM_CACHE.clear()
    clear_rouge155_caches()


def use_jit(enabled: bool | None) -> None:
    """Pick the string-path metrics' compiled loops (numba, the ``fast`` extra): chrF's
    character n-grams, BLEU's first sighting of a reference set, ROUGE-N/ROUGE-L scoring and
    the Porter stemmer.

    Args:
        enabled: ``True``: compiled (an ``ImportError`` naming the ``fast`` extra if numba is
            missing); ``False``: the numpy and Python code; ``None``: the defaults (chrF
            compiled whenever numba imports; BLEU, ROUGE and the stemmer once numba is loaded
            or after enough calls to pay for importing it). Scores are the same either way.
    """
    import importlib

    from . import _chargrams, _porter
    from . import bleu as bleu_module

    _chargrams.use_jit(enabled)
    bleu_module.use_jit(enabled)
    importlib.import_module("textgym.metrics.rouge").use_jit(enabled)
    _porter.use_jit(enabled)


__all__ = [
    "IncrementalBLEU",
    "IncrementalChrF",
    "IncrementalRouge",
    "IncrementalScorer",
    "IncrementalTokenF1",
    "RescoringScorer",
    "incremental",
    "VALID_VARIANTS",
    "clear_caches",
    "corpus_bleu",
    "corpus_rouge",
    "CorpusRouge",
    "RougeTriple",
    "rouge_prf",
    "rouge",
    "rouge_batch",
    "rouge_scores_batch",
    "score_batch",
    "sentence_bleu_batch",
    "sentence_chrf_batch",
    "sentence_ter_batch",
    "token_f1_batch",
    "rouge_scores",
    "use_jit",
    "sentence_bleu",
    "sentence_chrf",
    "sentence_ter",
    "token_f1",
    "PairedResult",
    "paired_bootstrap",
    "paired_randomization",
    "signature",
]
