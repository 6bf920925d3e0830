"""Reproducibility signatures: the ``key:value|...`` strings researchers cite beside a score.

For BLEU, chrF (chrF++) and TER :func:`signature` returns exactly the string sacrebleu 2.6.0's
``metric.get_signature().format()`` gives for the same settings, e.g.
``nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0``, including the ``bs``, ``ar``
and ``seed`` fields its paired tests add. ROUGE gets a signature in the same form (see
:func:`signature`), and the textgym-only metrics (token F1, content words, the reward
``score``) one naming textgym and its version.

The strings are built here, not by sacrebleu (a test-only oracle): textgym reproduces
sacrebleu 2.6.0 and rouge-score 0.1.2, so those are the versions the signatures state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: The ROUGE types textgym's ROUGE computes.
ROUGE_VARIANTS: tuple[str, ...] = (
    *(f"rouge{n}" for n in range(1, 10)),
    "rougeL",
    "rougeLsum",
)

#: The sacrebleu release whose numbers (and signature format) textgym reproduces.
SACREBLEU_VERSION = "2.6.0"
#: The rouge-score release whose numbers textgym's ROUGE reproduces.
ROUGE_SCORE_VERSION = "0.1.2"

_BLEU_SMOOTH_DEFAULTS: dict[str, float | None] = {
    "none": None, "floor": 0.1, "add-k": 1.0, "exp": None,
}  # fmt: skip
# sacrebleu's tokenizer names -> the name its signature prints. The MeCab tokenizers are left
# out: their signature embeds the installed MeCab and dictionary versions.
_BLEU_TOKENIZERS = {
    "none": "none", "zh": "zh", "13a": "13a", "intl": "intl", "char": "char",
    "spm": "flores101", "flores101": "flores101", "flores200": "flores200",
    "spBLEU-1K": "spBLEU-1K",
}  # fmt: skip
_ABBREVIATIONS = {
    "version": "v", "nrefs": "#", "bs": "bs", "ar": "ar", "seed": "rs",
}  # fmt: skip
_METRIC_ABBREVIATIONS = {
    "bleu": {"case": "c", "eff": "e", "tok": "tok", "smooth": "s"},
    "chrf": {"case": "c", "eff": "e", "nc": "nc", "nw": "nw", "space": "s"},
    "ter": {"case": "c", "tok": "t", "norm": "nr", "punct": "pn", "asian": "as"},
}
_OPTIONS: dict[str, dict[str, Any]] = {
    "bleu": {
        "lowercase": False, "tokenize": "13a", "smooth_method": "exp", "smooth_value": None,
        "effective_order": False,
    },
    "chrf": {
        "char_order": 6, "word_order": 0, "lowercase": False, "whitespace": False,
        "eps_smoothing": False,
    },
    "ter": {
        "normalized": False, "no_punct": False, "asian_support": False, "case_sensitive": False,
    },
    "rouge": {
        "variants": ("rouge1", "rouge2", "rougeL"), "stem": True, "flavour": "rouge-score",
        "multiref": None, "alpha": 0.5,
    },
    "textgym": {"definition": None},
}  # fmt: skip
_TEXTGYM_METRICS = {
    "f1": "token-f1|norm:squad|multi:max",
    "content": "content-words",
    "score": "reward",
}
_COMMON = ("nrefs", "seed", "n_bootstrap", "n_randomization", "short")


def _family(metric: str) -> str:
    if metric in ("bleu", "ter"):
        return metric
    if metric in ("chrf", "chrf++"):
        return "chrf"
    if metric == "rouge" or metric in ROUGE_VARIANTS:
        return "rouge"
    if metric in _TEXTGYM_METRICS:
        return "textgym"
    known = ["bleu", "chrf", "chrf++", "ter", "rouge", *ROUGE_VARIANTS, *_TEXTGYM_METRICS]
    raise ValueError(f"metric: expected one of {', '.join(known)}, got {metric!r}")


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected True or False, got {value!r}")
    return value


def _check_count(name: str, value: Any, *, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return value


def signature(
    metric: str,
    *,
    nrefs: int | str = 1,
    seed: int | str | None = None,
    n_bootstrap: int | None = None,
    n_randomization: int | None = None,
    short: bool = False,
    **options: Any,
) -> str:
    """The reproducibility signature of a metric with the given settings.

    BLEU, chrF and TER give sacrebleu 2.6.0's own string for the same settings (its
    ``get_signature().format(short)``), field for field and in its order. ROUGE gives::

        nrefs:1|impl:rouge-score|variants:rouge1,rouge2,rougeL|stem:porter|tok:rouge-score|
        measure:f|multi:max|agg:mean|version:0.1.2

    (one line): the implementation whose numbers it reproduces (``impl``), the variants,
    stemming (``porter``: the Porter stemmer on tokens longer than 3 characters, as
    ``use_stemmer=True``; ``no`` without), the tokenizer (rouge-score's default: lowercase,
    non-alphanumerics to spaces), the F-measure, the best reference kept per sample
    (``score_multi``), the mean over samples (rouge-score's aggregate), and the version.
    ``rougeLsum`` adds ``split:newline`` (summary sentences are its newline-separated lines).
    ``f1``, ``content`` and ``score`` (a textgym env's reward) give
    ``nrefs:N|impl:textgym|metric:...|version:<textgym's>``.

    Args:
        metric: ``bleu``, ``chrf``, ``chrf++``, ``ter``, ``rouge`` (with ``variants=``), a
            ROUGE variant (``rouge1``..``rouge9``, ``rougeL``, ``rougeLsum``), ``f1``,
            ``content`` or ``score``.
        nrefs: References per sample, or ``"var"`` when it varies (sacrebleu's ``nrefs``).
        seed: The random seed of a significance test (``"none"``: unseeded, as sacrebleu
            prints it; None: no seed field).
        n_bootstrap: Bootstrap resamples (``bs``), of a paired bootstrap test or of the
            confidence interval of an approximate-randomisation test.
        n_randomization: Approximate-randomisation trials (``ar``).
        short: sacrebleu's abbreviated form (``#:1|c:mixed|e:no|tok:13a|s:exp|v:2.6.0``).
        **options: The metric's settings, named as sacrebleu's metric classes name them.
            BLEU: ``lowercase``, ``tokenize`` (13a, none, zh, intl, char, spm, flores101,
            flores200, spBLEU-1K), ``smooth_method`` (exp, floor, add-k, none),
            ``smooth_value``, ``effective_order`` (``True`` for sentence BLEU). chrF:
            ``char_order``, ``word_order`` (``chrf++`` defaults it to 2), ``lowercase``,
            ``whitespace``, ``eps_smoothing``. TER: ``normalized``, ``no_punct``,
            ``asian_support``, ``case_sensitive``. ROUGE: ``variants``, ``stem``, ``flavour``
            (``rouge-score``). ``score``: ``definition`` (the reward's name, e.g.
            ``bleu*content``).

    Returns:
        The signature string.

    Raises:
        ValueError: An unknown metric, or a bad value (the message names the argument).
        TypeError: An option the metric does not have, or a value of the wrong type.
    """
    if not isinstance(metric, str):
        raise TypeError(f"metric: expected a str such as 'bleu', got {type(metric).__name__}")
    family = _family(metric)
    allowed = _OPTIONS[family]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(
            f"signature({metric!r}): unknown option {unknown[0]!r}; expected "
            f"{', '.join([*allowed, *_COMMON])}"
        )
    settings = {**allowed, **options}
    if metric == "chrf++" and "word_order" not in options:
        settings["word_order"] = 2
    if family == "rouge" and metric != "rouge" and "variants" not in options:
        settings["variants"] = (metric,)
    if nrefs != "var":
        _check_count("nrefs", nrefs, allow_none=False)
    _check_bool("short", short)
    if (
        seed is not None
        and seed != "none"
        and (isinstance(seed, bool) or not isinstance(seed, int))
    ):
        raise TypeError(f"seed: expected an int, 'none' or None, got {seed!r}")
    # sacrebleu's shared fields, in its order (version always last).
    head: list[tuple[str, Any]] = [
        ("nrefs", nrefs),
        ("bs", _check_count("n_bootstrap", n_bootstrap)),
        ("ar", _check_count("n_randomization", n_randomization)),
        ("seed", None if seed is None else str(seed)),
    ]
    if family == "bleu":
        body, version = _bleu_fields(settings), SACREBLEU_VERSION
    elif family == "chrf":
        body, version = _chrf_fields(settings), SACREBLEU_VERSION
    elif family == "ter":
        body, version = _ter_fields(settings), SACREBLEU_VERSION
    elif family == "rouge":
        body = _rouge_fields(settings)
        version = ROUGE_SCORE_VERSION if settings["flavour"] == "rouge-score" else "1.5.5"
    else:
        from textgym import __version__

        body, version = _textgym_fields(metric, settings), __version__
    abbreviations = {**_ABBREVIATIONS, **_METRIC_ABBREVIATIONS.get(family, {})}
    pairs = []
    for key, value in [*head, *body, ("version", version)]:
        if value is None:
            continue
        name = abbreviations.get(key, key) if short else key
        pairs.append(f"{name}:{value}")
    return "|".join(pairs)


def _bleu_fields(s: dict[str, Any]) -> list[tuple[str, Any]]:
    method = s["smooth_method"]
    if method not in _BLEU_SMOOTH_DEFAULTS:
        raise ValueError(
            f"smooth_method: expected one of {', '.join(_BLEU_SMOOTH_DEFAULTS)}, got {method!r}"
        )
    smooth = method
    default = _BLEU_SMOOTH_DEFAULTS[method]
    if default is not None:  # sacrebleu prints the value of the methods that take one
        value = default if s["smooth_value"] is None else s["smooth_value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"smooth_value: expected a number or None, got {value!r}")
        smooth += f"[{value:.2f}]"
    tokenize = s["tokenize"]
    if tokenize not in _BLEU_TOKENIZERS:
        raise ValueError(
            f"tokenize: expected one of {', '.join(_BLEU_TOKENIZERS)}, got {tokenize!r} "
            "(the MeCab tokenizers' signatures depend on the installed MeCab)"
        )
    return [
        ("case", "lc" if _check_bool("lowercase", s["lowercase"]) else "mixed"),
        ("eff", _yes(_check_bool("effective_order", s["effective_order"]))),
        ("tok", _BLEU_TOKENIZERS[tokenize]),
        ("smooth", smooth),
    ]


def _chrf_fields(s: dict[str, Any]) -> list[tuple[str, Any]]:
    _check_count("char_order", s["char_order"], allow_none=False)
    word_order = s["word_order"]
    if isinstance(word_order, bool) or not isinstance(word_order, int) or word_order < 0:
        raise ValueError(f"word_order: expected an integer >= 0, got {word_order!r}")
    return [
        ("case", "lc" if _check_bool("lowercase", s["lowercase"]) else "mixed"),
        ("eff", _yes(not _check_bool("eps_smoothing", s["eps_smoothing"]))),
        ("nc", s["char_order"]),
        ("nw", word_order),
        ("space", _yes(_check_bool("whitespace", s["whitespace"]))),
    ]


def _ter_fields(s: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        ("case", "mixed" if _check_bool("case_sensitive", s["case_sensitive"]) else "lc"),
        ("tok", "tercom"),
        ("norm", _yes(_check_bool("normalized", s["normalized"]))),
        ("punct", _yes(not _check_bool("no_punct", s["no_punct"]))),
        ("asian", _yes(_check_bool("asian_support", s["asian_support"]))),
    ]


def _rouge_fields(s: dict[str, Any]) -> list[tuple[str, Any]]:
    if s["flavour"] not in ("rouge-score", "rouge155"):
        raise ValueError(f"flavour: expected 'rouge-score' or 'rouge155', got {s['flavour']!r}")
    if s["flavour"] == "rouge155":
        return _rouge155_fields(s)
    if s["multiref"] is not None or s["alpha"] != 0.5:
        raise ValueError("multiref=, alpha=: options of flavour='rouge155' only")
    variants = _rouge_variants(s["variants"])
    fields: list[tuple[str, Any]] = [
        ("impl", "rouge-score"),
        ("variants", ",".join(variants)),
        ("stem", "porter" if _check_bool("stem", s["stem"]) else "no"),
        ("tok", "rouge-score"),
    ]
    if "rougeLsum" in variants:
        fields.append(("split", "newline"))
    return [*fields, ("measure", "f"), ("multi", "max"), ("agg", "mean")]


def _rouge_variants(variants: Any) -> tuple[str, ...]:
    if isinstance(variants, str):
        variants = (variants,)
    if not isinstance(variants, Sequence) or not variants:
        raise ValueError(f"variants: expected a non-empty list of ROUGE types, got {variants!r}")
    for variant in variants:
        if variant not in ROUGE_VARIANTS:
            raise ValueError(
                f"variants: expected ROUGE types among {', '.join(ROUGE_VARIANTS)}, got {variant!r}"
            )
    return tuple(variants)


def _rouge155_fields(s: dict[str, Any]) -> list[tuple[str, Any]]:
    """ROUGE-1.5.5 as :func:`textgym.metrics.corpus_rouge` computes it: the script's
    options (``-m`` for stemming, ``-f A|B`` for several references, ``-p`` alpha)."""
    variants = _rouge_variants(s["variants"])
    multiref = "average" if s["multiref"] is None else s["multiref"]
    if multiref not in ("average", "best"):
        raise ValueError(f"multiref: expected 'average' or 'best', got {multiref!r}")
    alpha = s["alpha"]
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha: expected a number in [0, 1], got {alpha!r}")
    stem = _check_bool("stem", s["stem"])
    return [
        ("impl", "rouge155"),
        ("variants", ",".join(variants)),
        ("stem", "porter155+wordnet2.0" if stem else "no"),  # the script's -m
        ("tok", "alnum-lc"),
        ("split", "newline") if "rougeLsum" in variants else ("split", "no"),
        ("measure", "f"),
        ("multi", "A" if multiref == "average" else "B"),  # the script's -f
        ("alpha", alpha),  # -p
        ("agg", "mean"),  # -a: documents averaged
    ]


def _textgym_fields(metric: str, s: dict[str, Any]) -> list[tuple[str, Any]]:
    fields: list[tuple[str, Any]] = [("impl", "textgym"), ("metric", _TEXTGYM_METRICS[metric])]
    definition = s["definition"]
    if metric == "score":
        if definition is not None and (not isinstance(definition, str) or "|" in definition):
            raise ValueError(f"definition: expected a reward name without '|', got {definition!r}")
        fields.append(("reward", definition))
    elif definition is not None:
        raise TypeError(f"signature({metric!r}): definition= is only for 'score'")
    return fields


def count_refs(references_list: Sequence[Sequence[str]]) -> int | str:
    """sacrebleu's ``nrefs``: the references per sample, or ``"var"`` when it varies.

    Args:
        references_list: One sequence of references per sample.

    Raises:
        ValueError: If ``references_list`` is empty.
    """
    counts = {len(refs) for refs in references_list}
    if not counts:
        raise ValueError("references_list: expected at least one sample, got none")
    return counts.pop() if len(counts) == 1 else "var"
