"""Benchmark textgym.metrics against sacrebleu and rouge-score on the same inputs.

Run:  python benchmarks/metrics.py [--data-dir DIR | --generated] [--quick] [--repeats N]
                                   [--loops N] [--pairs N] [--seed N]

Two inputs, and the first line of the output says which one was used:

* Real text (the default when ``~/.cache/textgym-data/scitldr`` exists, or with
  ``--data-dir DIR``): SciTLDR's test split (github.com/allenai/scitldr, ``SciTLDR-A/test.jsonl``,
  read with textgym's own loader). Each test paper has several TLDRs written independently
  (by its authors and from its peer reviews): the first TLDR of 20-40 words is the hypothesis,
  the paper's other TLDRs of 20-40 words are its references; papers with fewer than two such
  TLDRs are skipped. This is the situation the metrics are made for, a real summary scored
  against other people's real summaries of the same content, in real scientific English
  (numbers, hyphens, parentheses, abbreviations), and each paper is used once, so every
  hypothesis and every reference set is new. The timed passes are cold: ``clear_caches()``
  runs before each one (our per-reference statistics cannot help; stems and ids are learned
  again within the pass, as they would be on a first pass over new data). A second ROUGE row
  keeps the pairs new but starts from the word stems of the train split's TLDRs (a long-running
  job knows its domain's vocabulary). Rows: sentence BLEU, sentence chrF, ROUGE-1/2/L in one
  call, and the batch entry points on the same pairs, with medians and min/max over the
  repeats; the result goes to ``benchmarks/results/metrics_real_text.json``. Anyone with the
  public SciTLDR release can regenerate it (``git clone https://github.com/allenai/scitldr``
  into ``~/.cache/textgym-data/scitldr``).
* Generated text (``--generated``, or when no real data is found): the table below.

The generated-text mode prints one table: median time per call of the reference library
("theirs") and of ours, and the speed-up theirs/ours. Our per-reference caches are measured
two ways:

* warm: the reference sets were seen before (an RL episode or an eval loop re-scores against
  the same references, so this is the steady state);
* cold: every cache (reference statistics, word stems, memoised tokenisations) is cleared
  before each timed pass.

Dense-episode rows time a whole 40-token episode: our incremental scorer fed every prefix vs
the reference library rescoring every prefix from scratch. The load average is printed
because a busy machine inflates all timings (the contenders are interleaved to share it).

rouge-score gets a pre-built RougeScorer (its construction is not timed), sacrebleu is called
through its public sentence_* / corpus_* functions like a user would.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sacrebleu  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402

from textgym import metrics  # noqa: E402
from textgym.metrics import clear_caches  # noqa: E402


@dataclass
class Args:
    """Command-line options."""

    quick: bool = False
    repeats: int = 9
    loops: int = 3
    pairs: int = 60
    seed: int = 0
    data_dir: str | None = None
    generated: bool = False

    @classmethod
    def parse(cls, argv: list[str]) -> Args:
        args = cls()
        it = iter(argv)
        for flag in it:
            if flag == "--quick":
                args.quick = True
            elif flag == "--generated":
                args.generated = True
            elif flag == "--data-dir":
                args.data_dir = next(it)
            elif flag in ("--repeats", "--loops", "--pairs", "--seed"):
                setattr(args, flag[2:], int(next(it)))
            else:
                raise SystemExit(f"unknown argument {flag!r}; see the module docstring")
        if args.quick:
            args.repeats, args.loops, args.pairs = min(args.repeats, 3), 1, min(args.pairs, 12)
        return args


# ------------------------------------------------------------------------------------------
# Inputs: realistic news sentences; hypotheses and references are paraphrase-like rewrites.
# ------------------------------------------------------------------------------------------

SENTENCES = [
    "The central bank raised its benchmark interest rate by a quarter of a percentage point on "
    "Wednesday, citing persistent inflation in housing and services, and signalled that further "
    "increases could follow if prices keep rising over the summer months.",
    "Heavy rain caused severe flooding across three northern provinces over the weekend, forcing "
    "more than 12,000 residents to leave their homes while rescue teams used boats to reach "
    "villages that had been cut off by the rising water.",
    "Shares of the chip maker jumped 8.5% in early trading after the company reported quarterly "
    "revenue of $4.2 billion, comfortably beating analysts' forecasts and lifting its outlook for "
    "the rest of the year.",
    "The city council voted seven to two on Tuesday night to approve a new network of protected "
    "bike lanes, with construction expected to begin in March and to cost an estimated 1,000,000 "
    "euros over two years.",
    "Scientists at the university said the new battery design could store twice as much energy as "
    "current lithium-ion cells, although they cautioned that commercial production was still "
    "several years away.",
    "The national football team secured its place in the final after a dramatic penalty shoot-out, "
    "with the young goalkeeper saving two spot kicks in front of a crowd of almost 60,000 fans.",
    "Officials confirmed that the railway line between the two cities will reopen next month after "
    "repairs to a damaged bridge, ending weeks of disruption for thousands of daily commuters.",
    "The health ministry announced a free vaccination campaign for children under five, saying the "
    "programme would run in all regions and aim to reach at least 90 percent of eligible families.",
]
SYNONYMS = {
    "raised": "lifted", "said": "stated", "new": "fresh", "more": "over", "began": "started",
    "severe": "serious", "residents": "people", "company": "firm", "approve": "back",
    "expected": "due", "current": "existing", "several": "a few", "dramatic": "tense",
    "confirmed": "said", "announced": "unveiled", "aim": "try", "after": "following",
}


def rewrite(text: str, rng: random.Random, strength: float) -> str:
    """A paraphrase-like variant: synonym swaps, dropped words and local reorderings."""
    words = text.split()
    out = []
    for word in words:
        if rng.random() < strength * 0.15:
            continue
        out.append(SYNONYMS.get(word, word) if rng.random() < strength else word)
    for _ in range(int(len(out) * strength * 0.2)):
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out)


def make_pairs(n: int, rng: random.Random, summaries: bool) -> list[tuple[str, list[str]]]:
    pairs = []
    for _ in range(n):
        if summaries:  # ~60-token summaries: two sentences
            a, b = rng.sample(SENTENCES, 2)
            base = a + " " + b
        else:
            base = rng.choice(SENTENCES)
        hyp = rewrite(base, rng, 0.35)
        refs = [rewrite(base, rng, 0.15), rewrite(base, rng, 0.25)]
        pairs.append((hyp, refs))
    return pairs


# ------------------------------------------------------------------------------------------
# Timing helpers
# ------------------------------------------------------------------------------------------


def _sample(fn: Callable[[], object], loops: int, cold: bool = False) -> float:
    """Mean wall time of ``loops`` consecutive passes (caches cleared before each if cold)."""
    total = 0.0
    for _ in range(loops):
        if cold:
            clear_caches()
        start = time.perf_counter()
        fn()
        total += time.perf_counter() - start
    return total / loops


def compare(
    theirs: Callable[[], object], ours: Callable[[], object], args: Args, cold: bool = True
) -> tuple[float, float, float]:
    """Median time of one pass of theirs, ours (warm caches) and ours (cold caches; NaN
    without ``cold``, which also keeps ``theirs``' caches warm when it is a textgym call).

    Like ``timeit``: garbage collection is paused while timing and each sample averages a
    few consecutive passes. Samples of the three contenders are interleaved so background
    load on the machine hits all of them alike.
    """
    theirs()
    ours()
    t_theirs, t_warm, t_cold = [], [], []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(args.repeats):
            t_theirs.append(_sample(theirs, args.loops))
            t_warm.append(_sample(ours, args.loops))
            if cold:
                t_cold.append(_sample(ours, args.loops, cold=True))
    finally:
        if gc_was_enabled:
            gc.enable()
    cold_median = statistics.median(t_cold) if t_cold else float("nan")
    return statistics.median(t_theirs), statistics.median(t_warm), cold_median


@dataclass
class Row:
    name: str
    theirs: float  # seconds per unit
    warm: float
    cold: float | None
    target: float | None


def print_table(rows: list[Row]) -> None:
    header = (f"{'benchmark':<44}{'theirs us':>11}{'ours us':>10}{'speed-up':>10}"
              f"{'cold us':>10}{'cold x':>9}{'target':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        cold = f"{r.cold * 1e6:10.1f}{r.theirs / r.cold:8.1f}x" if r.cold else " " * 19
        target = f"{r.target:6.0f}x" if r.target else ""
        ok = "" if not r.target else ("  ok" if r.theirs / r.warm >= r.target else "  MISSED")
        print(f"{r.name:<44}{r.theirs * 1e6:11.1f}{r.warm * 1e6:10.1f}"
              f"{r.theirs / r.warm:9.1f}x{cold}{target:>8}{ok}")


# ------------------------------------------------------------------------------------------
# Benchmarks
# ------------------------------------------------------------------------------------------


def bench_single(args: Args, pairs, summaries) -> list[Row]:
    rows = []
    n, ns = len(pairs), len(summaries)
    sacre = [
        ("BLEU sentence", sacrebleu.sentence_bleu, metrics.sentence_bleu, 5),
        ("chrF sentence", sacrebleu.sentence_chrf, metrics.sentence_chrf, 5),
        ("chrF++ sentence",
         lambda h, r: sacrebleu.sentence_chrf(h, r, word_order=2),
         lambda h, r: metrics.sentence_chrf(h, r, word_order=2), None),
        ("TER sentence", sacrebleu.sentence_ter, metrics.sentence_ter, None),
    ]
    for name, theirs_fn, ours_fn, target in sacre:
        data = pairs if not name.startswith("TER") else pairs[: max(4, n // 4)]
        theirs, warm, cold = compare(
            lambda f=theirs_fn, d=data: [f(h, r) for h, r in d],
            lambda f=ours_fn, d=data: [f(h, r) for h, r in d],
            args,
        )
        k = len(data)
        rows.append(Row(name, theirs / k, warm / k, cold / k, target))
    for variant in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        scorer = rouge_scorer.RougeScorer([variant], use_stemmer=True)
        theirs, warm, cold = compare(
            lambda s=scorer: [s.score_multi(r, h) for h, r in summaries],
            lambda v=variant: [metrics.rouge(h, r, v) for h, r in summaries],
            args,
        )
        target = None if variant == "rougeLsum" else 20
        rows.append(Row(f"{variant} sentence (stemmed)", theirs / ns, warm / ns, cold / ns, target))
    return rows


def bench_batch(args: Args, pairs, summaries) -> list[Row]:
    hyps = [h for h, _ in pairs]
    refs = [r for _, r in pairs]
    s_hyps = [h for h, _ in summaries]
    s_refs = [r for _, r in summaries]
    streams = [[r[0] for r in refs], [r[1] for r in refs]]
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    cases = [
        ("BLEU batch", lambda: [sacrebleu.sentence_bleu(h, r) for h, r in pairs],
         lambda: metrics.sentence_bleu_batch(hyps, refs), len(pairs)),
        ("chrF batch", lambda: [sacrebleu.sentence_chrf(h, r) for h, r in pairs],
         lambda: metrics.sentence_chrf_batch(hyps, refs), len(pairs)),
        ("rougeL batch (stemmed)", lambda: [scorer.score_multi(r, h) for h, r in summaries],
         lambda: metrics.rouge_batch(s_hyps, s_refs, "rougeL"), len(summaries)),
        ("corpus BLEU", lambda: sacrebleu.corpus_bleu(hyps, streams),
         lambda: metrics.corpus_bleu(hyps, streams), len(pairs)),
    ]
    rows = []
    for name, theirs_fn, ours_fn, k in cases:
        theirs, warm, cold = compare(theirs_fn, ours_fn, args)
        rows.append(Row(f"{name} (per pair)", theirs / k, warm / k, cold / k, None))
    return rows


def bench_dense(args: Args, rng: random.Random) -> list[Row]:
    """A 40-token hypothesis fed token by token: incremental scorer vs rescoring every prefix."""
    base = SENTENCES[0] + " " + SENTENCES[1]
    hyp_tokens = rewrite(base, rng, 0.3).split()[:40]
    refs = [rewrite(base, rng, 0.15), rewrite(base, rng, 0.2)]
    prefixes = [" ".join(hyp_tokens[: i + 1]) for i in range(len(hyp_tokens))]
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    cases = [
        ("BLEU", lambda p: sacrebleu.sentence_bleu(p, refs), "bleu", 50),
        ("chrF", lambda p: sacrebleu.sentence_chrf(p, refs), "chrf", None),
        ("rougeL (stemmed)", lambda p: scorer.score_multi(refs, p), "rougeL", None),
        # No library oracle for token F1: the baseline is our own plain function per prefix.
        ("token F1 (vs ours)", lambda p: metrics.token_f1(p, refs), "token_f1", None),
    ]
    rows = []
    for name, rescore, metric, target in cases:
        def episode(m=metric):
            inc = metrics.incremental(m, refs)
            return [inc.update(p) for p in prefixes]

        theirs, warm, cold = compare(
            lambda f=rescore: [f(p) for p in prefixes], episode, args
        )
        rows.append(Row(f"dense 40-token episode: {name}", theirs, warm, cold, target))
    return rows


def bench_rouge155(args: Args, summaries) -> None:
    """ROUGE-1.5.5 flavour side by side with rouge-score and textgym's own ROUGE.

    rouge-score with stemming stands in for the perl script (at least as fast per document,
    with no process start or file writing); the targets are rouge155 >= 20x faster than it
    and within 2x of textgym's rouge-score flavour. Warm caches (the steady state).
    """
    hyps = [h for h, _ in summaries]
    refs_list = [r for _, r in summaries]
    # The summaries are one line each, where rouge155's rougeLsum is a bit-parallel LCS;
    # split into sentence lines it fills the O(m*n) union-LCS tables (as textgym's
    # rouge-score flavour always does).
    lines = [
        (h.replace(". ", ".\n"), [r.replace(". ", ".\n") for r in refs]) for h, refs in summaries
    ]
    cases = [(v, (v,), summaries) for v in ("rouge1", "rouge2", "rougeL", "rougeLsum")]
    cases.append(("rougeLsum, sentence lines", ("rougeLsum",), lines))
    cases.append(("rouge1+2+L+Lsum", ("rouge1", "rouge2", "rougeL", "rougeLsum"), summaries))
    header = (f"{'ROUGE-1.5.5 flavour, per summary':<34}{'rouge-score us':>15}{'textgym us':>11}"
              f"{'rouge155 us':>12}{'vs rouge-score':>16}{'vs textgym':>12}")
    print("\n" + header)
    print("-" * len(header))
    for name, variants, data in cases:
        scorer = rouge_scorer.RougeScorer(list(variants), use_stemmer=True)

        def ours(v=variants, d=data) -> object:
            return [metrics.rouge_scores(h, r, v, flavor="rouge155") for h, r in d]

        # Each ratio from contenders interleaved with each other, so that load hits both.
        theirs, ours_vs_theirs, _ = compare(
            lambda s=scorer, d=data: [s.score_multi(r, h) for h, r in d], ours, args, cold=False
        )
        textgym, ours_vs_textgym, _ = compare(
            lambda v=variants, d=data: [metrics.rouge_scores(h, r, v) for h, r in d],
            ours, args, cold=False,
        )  # fmt: skip
        n = len(data)
        print(f"{name:<34}{theirs / n * 1e6:15.1f}{textgym / n * 1e6:11.1f}"
              f"{ours_vs_textgym / n * 1e6:12.1f}{theirs / ours_vs_theirs:15.1f}x"
              f"{ours_vs_textgym / textgym:11.2f}x")
    variants = ("rouge1", "rouge2", "rougeL", "rougeLsum")
    for resamples in (0, 1000):
        _, corpus, _ = compare(
            lambda: None,
            lambda k=resamples: metrics.corpus_rouge(hyps, refs_list, variants, resamples=k),
            args,
        )
        print(f"corpus_rouge, 4 variants, resamples={resamples}: "
              f"{corpus / len(hyps) * 1e6:.1f} us per summary ({len(hyps)} summaries)")


# ------------------------------------------------------------------------------------------
# Real text: SciTLDR test TLDRs (see the module docstring), cold caches
# ------------------------------------------------------------------------------------------

DEFAULT_DATA_DIR = Path("~/.cache/textgym-data").expanduser()
REAL_RESULT = Path(__file__).resolve().parent / "results" / "metrics_real_text.json"
MIN_WORDS, MAX_WORDS = 20, 40
ROUGE_VARIANTS = ("rouge1", "rouge2", "rougeL")


def real_data_dir(args: Args) -> Path | None:
    """The SciTLDR copy to read, or None for generated text."""
    if args.generated:
        return None
    if args.data_dir is not None:
        root = Path(args.data_dir).expanduser()
        if not (root / "scitldr").is_dir():
            raise SystemExit(f"--data-dir {root}: no scitldr folder there")
        return root
    return DEFAULT_DATA_DIR if (DEFAULT_DATA_DIR / "scitldr").is_dir() else None


def real_pairs(root: Path, split: str = "test") -> list[tuple[str, list[str]]]:
    """(first 20-40 word TLDR, the paper's other 20-40 word TLDRs), one pair per paper."""
    from textgym.data.corpora import load_scitldr

    pairs = []
    for sample in load_scitldr(root / "scitldr", split=split):
        tldrs = [t for t in sample.references if MIN_WORDS <= len(t.split()) <= MAX_WORDS]
        if len(tldrs) >= 2:
            pairs.append((tldrs[0], tldrs[1:]))
    return pairs


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def time_real(
    theirs: Callable[[], object],
    ours: Callable[[], object],
    repeats: int,
    prepare: Callable[[], None] = clear_caches,
) -> tuple[list[float], list[float], list[float]]:
    """Per-repeat seconds of theirs, ours cold (``prepare`` first) and ours warm (a third
    pass), interleaved.

    One sample is one pass over all pairs; garbage collection is paused while timing.
    """
    theirs()
    ours()
    t_theirs, t_cold, t_warm = [], [], []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            theirs()
            t_theirs.append(time.perf_counter() - start)
            prepare()
            start = time.perf_counter()
            ours()
            t_cold.append(time.perf_counter() - start)
            # BLEU builds a reference set's tables on its second sighting: warm is the third.
            ours()
            start = time.perf_counter()
            ours()
            t_warm.append(time.perf_counter() - start)
    finally:
        if gc_was_enabled:
            gc.enable()
    return t_theirs, t_cold, t_warm


def bench_real(args: Args, root: Path) -> None:
    pairs = real_pairs(root)
    if args.quick:
        pairs = pairs[:120]
    hyps = [h for h, _ in pairs]
    refs = [r for _, r in pairs]
    n = len(pairs)
    hyp_words = [len(h.split()) for h in hyps]
    ref_words = [len(r.split()) for rs in refs for r in rs]
    n_refs = [len(rs) for rs in refs]
    repeats = args.repeats
    load_before = os.getloadavg()
    print(
        f"input: REAL TEXT, SciTLDR test split under {root / 'scitldr'}: {n} papers with >= 2 "
        f"TLDRs of {MIN_WORDS}-{MAX_WORDS} words; hypothesis = the first, references = the "
        f"others ({sum(n_refs)} references, {min(n_refs)}-{max(n_refs)} per pair)\n"
        f"words: hypotheses mean {statistics.mean(hyp_words):.1f} ({min(hyp_words)}-"
        f"{max(hyp_words)}), references mean {statistics.mean(ref_words):.1f}; "
        f"{repeats} repeats of one pass over all pairs, caches cleared before each cold pass; "
        f"load average {load_before[0]:.1f} on {os.cpu_count()} CPUs\n"
    )

    import importlib
    import importlib.util

    from textgym.metrics._tokenize import _STEM_CACHE, tokenize_rouge

    # The default mode switches to the compiled routes once numba is loaded (or after enough
    # calls): forced here, so that a row never mixes routes (nor times numba's import).
    compiled = importlib.util.find_spec("numba") is not None
    metrics.use_jit(compiled)

    # Stems of the train split's TLDRs: the vocabulary a long-running job already knows, in
    # the Python route's stem dict and the compiled route's stem table.
    rouge_module = importlib.import_module("textgym.metrics.rouge")
    clear_caches()
    for sample in __import__("textgym.data.corpora", fromlist=["x"]).load_scitldr(
        root / "scitldr", split="train"
    ):
        for text in sample.references:
            tokenize_rouge(text, True)
            if compiled:
                metrics.rouge_scores(text, [text], ROUGE_VARIANTS)
    known_stems = dict(_STEM_CACHE)
    known_table = (
        [array.copy() for array in rouge_module._STEM_TABLE]
        if rouge_module._STEM_TABLE is not None else None
    )

    def new_pairs_known_stems() -> None:
        clear_caches()
        _STEM_CACHE.update(known_stems)
        if known_table is not None:
            for array, known in zip(rouge_module._STEM_TABLE, known_table, strict=True):
                array[:] = known

    scorer = rouge_scorer.RougeScorer(list(ROUGE_VARIANTS), use_stemmer=True)

    def rouge_theirs() -> object:
        return [scorer.score_multi(r, h) for h, r in pairs]

    def python_route(fn: Callable[[], object]) -> Callable[[], object]:
        """``fn`` with the compiled routes (numba) off: what an install without the ``fast``
        extra runs."""
        def run() -> object:
            metrics.use_jit(False)
            try:
                return fn()
            finally:
                metrics.use_jit(compiled)
        return run

    def rouge_batch3() -> object:
        return [metrics.rouge_batch(hyps, refs, v) for v in ROUGE_VARIANTS]

    cases = [
        ("BLEU sentence", "sacrebleu", 5,
         lambda: [sacrebleu.sentence_bleu(h, r) for h, r in pairs],
         lambda: [metrics.sentence_bleu(h, r) for h, r in pairs], clear_caches),
        ("BLEU sentence, Python route", "sacrebleu", 5,
         lambda: [sacrebleu.sentence_bleu(h, r) for h, r in pairs],
         python_route(lambda: [metrics.sentence_bleu(h, r) for h, r in pairs]), clear_caches),
        ("chrF sentence", "sacrebleu", 5,
         lambda: [sacrebleu.sentence_chrf(h, r) for h, r in pairs],
         lambda: [metrics.sentence_chrf(h, r) for h, r in pairs], clear_caches),
        ("ROUGE-1/2/L one call (stemmed)", "rouge-score", 20, rouge_theirs,
         lambda: [metrics.rouge_scores(h, r, ROUGE_VARIANTS) for h, r in pairs], clear_caches),
        ("ROUGE-1/2/L one call, Python route", "rouge-score", 20, rouge_theirs,
         python_route(lambda: [metrics.rouge_scores(h, r, ROUGE_VARIANTS) for h, r in pairs]),
         clear_caches),
        ("ROUGE-1/2/L one call, train stems known", "rouge-score", 20, rouge_theirs,
         lambda: [metrics.rouge_scores(h, r, ROUGE_VARIANTS) for h, r in pairs],
         new_pairs_known_stems),
        ("BLEU batch (sentence_bleu_batch)", "sacrebleu", 5,
         lambda: [sacrebleu.sentence_bleu(h, r) for h, r in pairs],
         lambda: metrics.sentence_bleu_batch(hyps, refs), clear_caches),
        ("chrF batch (sentence_chrf_batch)", "sacrebleu", 5,
         lambda: [sacrebleu.sentence_chrf(h, r) for h, r in pairs],
         lambda: metrics.sentence_chrf_batch(hyps, refs), clear_caches),
        ("ROUGE-1/2/L batch (rouge_scores_batch)", "rouge-score", 20, rouge_theirs,
         lambda: metrics.rouge_scores_batch(hyps, refs, ROUGE_VARIANTS), clear_caches),
        ("ROUGE-1/2/L batch (3 x rouge_batch)", "rouge-score", 20, rouge_theirs,
         rouge_batch3, clear_caches),
    ]
    header = (f"{'real text, cold, per pair':<42}{'theirs us':>10}{'ours us':>9}{'speed-up':>9}"
              f"{'min-max':>12}{'warm x':>8}{'target':>8}")
    print(header)
    print("-" * len(header))
    rows = []
    for name, library, target, theirs_fn, ours_fn, prepare in cases:
        t_theirs, t_cold, t_warm = time_real(theirs_fn, ours_fn, repeats, prepare)
        ratios = [a / b for a, b in zip(t_theirs, t_cold, strict=True)]
        theirs_us = [t / n * 1e6 for t in t_theirs]
        cold_us = [t / n * 1e6 for t in t_cold]
        warm_us = [t / n * 1e6 for t in t_warm]
        speed = statistics.median(t_theirs) / statistics.median(t_cold)
        warm_x = statistics.median(t_theirs) / statistics.median(t_warm)
        met = speed >= target
        print(f"{name:<42}{statistics.median(theirs_us):10.1f}{statistics.median(cold_us):9.1f}"
              f"{speed:8.1f}x{min(ratios):6.1f}-{max(ratios):4.1f}x{warm_x:7.1f}x"
              f"{target:6d}x  {'ok' if met else 'MISSED'}")
        rows.append({
            "name": name, "reference_library": library, "target_speedup": target,
            "met": met, "speedup_median": speed, "speedup_per_repeat": _spread(ratios),
            "theirs_us_per_pair": _spread(theirs_us), "ours_cold_us_per_pair": _spread(cold_us),
            "ours_warm_us_per_pair": _spread(warm_us), "warm_speedup_median": warm_x,
        })
    load_after = os.getloadavg()
    print(f"\nload average {load_after[0]:.1f} at the end; speed-up = median theirs / median "
          "ours (cold); min-max = the ratio of each repeat's interleaved samples")
    result = {
        "benchmark": "benchmarks/metrics.py (real-text mode)",
        "input": {
            "corpus": "SciTLDR-A test split (github.com/allenai/scitldr), read with "
                      "textgym.data.corpora.load_scitldr",
            "path": str(root / "scitldr"),
            "pairing": f"per paper with >= 2 TLDRs of {MIN_WORDS}-{MAX_WORDS} words: the first "
                       "is the hypothesis, the others the references; each paper once",
            "pairs": n, "references": sum(n_refs),
            "references_per_pair": {"min": min(n_refs), "max": max(n_refs),
                                    "mean": statistics.mean(n_refs)},
            "hypothesis_words": {"mean": statistics.mean(hyp_words), "min": min(hyp_words),
                                 "max": max(hyp_words)},
            "reference_words": {"mean": statistics.mean(ref_words), "min": min(ref_words),
                                "max": max(ref_words)},
        },
        "method": "one sample = one pass over all pairs; theirs, ours cold (clear_caches() "
                  "first) and ours warm interleaved per repeat; gc paused while timing",
        "repeats": repeats,
        # With numba (the fast extra) every row but the "Python route" ones ran the compiled
        # routes, forced on; without it every row is the Python route.
        "compiled_routes": compiled,
        "rows": rows,
        "machine": {
            "cpus": os.cpu_count(), "load_average_before": load_before,
            "load_average_after": load_after, "python": platform.python_version(),
            "sacrebleu": sacrebleu.__version__,
        },
    }
    if not args.quick:
        REAL_RESULT.parent.mkdir(parents=True, exist_ok=True)
        REAL_RESULT.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {REAL_RESULT}")


def main(argv: list[str]) -> None:
    args = Args.parse(argv)
    root = real_data_dir(args)
    if root is not None:
        bench_real(args, root)
        return
    print("input: GENERATED TEXT (news-like sentences and paraphrase-like rewrites; pass "
          "--data-dir DIR with a scitldr copy for real text)")
    rng = random.Random(args.seed)
    pairs = make_pairs(args.pairs, rng, summaries=False)
    summaries = make_pairs(args.pairs, rng, summaries=True)
    mean_len = statistics.mean(len(h.split()) for h, _ in pairs)
    mean_sum = statistics.mean(len(h.split()) for h, _ in summaries)
    print(f"{args}\nsentences ~{mean_len:.0f} tokens, summaries ~{mean_sum:.0f} tokens, "
          "2 references each; times per call (episode rows: per episode); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    rows = bench_single(args, pairs, summaries)
    rows += bench_batch(args, pairs, summaries)
    rows += bench_dense(args, rng)
    print_table(rows)
    bench_rouge155(args, summaries)


if __name__ == "__main__":
    main(sys.argv[1:])
