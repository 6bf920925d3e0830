"""Metric signatures of run folders, and paired significance tests between two runs.

:func:`run_signatures` names, for every ``eval/<metric>`` a run reports, the signature of
that metric (:func:`textgym.metrics.signature`); ``summary.json``, ``eval_<split>.json``,
``textgym eval`` and the suite tables state them. :func:`compare_runs` reads two runs'
predictions on the same samples and runs :func:`textgym.metrics.paired_bootstrap` or
:func:`textgym.metrics.paired_randomization` on each metric (``textgym compare``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textgym.bench.runs import RunFolderError

#: Metrics recomputed from the predictions' text; any other name is the mean of the
#: per-sample values the run recorded (``score``, ``content``, ...).
TEXT_METRICS = ("bleu", "chrf", "chrf++", "ter", "f1", "rouge1", "rouge2", "rougeL", "rougeLsum")


def _fallback(name: str, nrefs: int | str) -> str:
    from textgym import __version__

    return f"nrefs:{nrefs}|impl:textgym|metric:{name}|version:{__version__}"


def metric_signature(name: str, nrefs: int | str, reward: str | None = None) -> str:
    """The signature of one per-sample metric an env reports in ``info["metrics"]``.

    An env's ``bleu`` is sacrebleu's sentence BLEU (effective order), ``chrf``/``chrf++``
    sentence chrF, ROUGE variants rouge-score's stemmed F-measure; ``score`` names the
    reward (``reward``). Names without a standard definition get a textgym signature.

    Args:
        name: The metric's name in ``info["metrics"]``.
        nrefs: References per sample, or ``"var"``.
        reward: The env's reward name (its ``scorer.name``), for ``score``.
    """
    from textgym.metrics import signature

    if name == "bleu":
        return signature("bleu", nrefs=nrefs, effective_order=True)
    if name == "score":
        return signature("score", nrefs=nrefs, definition=reward)
    try:
        return signature(name, nrefs=nrefs)
    except ValueError:
        return _fallback(name, nrefs)


def run_signatures(
    rows: Sequence[Mapping[str, Any]], reward: str | None, keys: Sequence[str] = ()
) -> dict[str, str]:
    """``eval/<metric>`` -> signature for the metrics of a run's predictions rows.

    Args:
        rows: The predictions file's rows (``references`` and ``metrics`` per sample).
        reward: The env's reward name, for ``eval/score``.
        keys: Further reported keys to sign; ``eval/corpus_bleu`` is corpus BLEU on the
            references every sample has.
    """
    from textgym.metrics import signature
    from textgym.metrics.signatures import count_refs

    if not rows:
        return {}
    nrefs = count_refs([r["references"] for r in rows])
    out = {f"eval/{name}": metric_signature(name, nrefs, reward) for name in rows[0]["metrics"]}
    if "eval/corpus_bleu" in keys:
        shared = min(len(r["references"]) for r in rows)
        out["eval/corpus_bleu"] = signature("bleu", nrefs=shared)
    return out


def reward_name(env_id: str, env_kwargs: Mapping[str, Any]) -> str | None:
    """The reward's name of ``env_id`` built with ``env_kwargs`` (None if it has none)."""
    import gymnasium as gym

    import textgym  # noqa: F401  (registers the ids)

    env = gym.make(env_id, **dict(env_kwargs))
    try:
        scorer = getattr(env.unwrapped, "scorer", None)
        return getattr(scorer, "name", None)
    finally:
        env.close()


def read_predictions(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a predictions JSONL file.

    Raises:
        RunFolderError: The file is missing, is not JSON lines, or lacks ``prediction`` and
            ``references``.
    """
    file = Path(path)
    if not file.is_file():
        raise RunFolderError(f"{str(file)!r}: no such predictions file")
    rows = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RunFolderError(f"{str(file)!r} line {number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or "prediction" not in row or "references" not in row:
            raise RunFolderError(
                f"{str(file)!r} line {number}: expected an object with 'prediction' and "
                "'references' (a predictions file of `textgym eval` or `textgym train`)"
            )
        rows.append(row)
    if not rows:
        raise RunFolderError(f"{str(file)!r}: no predictions in the file")
    return rows


def predictions_file(run: str | os.PathLike[str], split: str) -> Path:
    """The predictions file of a run folder for ``split`` (``final``: the training run's own
    final evaluation, ``predictions.jsonl``), or ``run`` itself if it is a file.

    Raises:
        RunFolderError: No such run folder or file, with the command that writes it.
    """
    path = Path(run)
    if path.is_file():
        return path
    if not path.is_dir():
        raise RunFolderError(f"{str(run)!r}: no such run folder or predictions file")
    name = "predictions.jsonl" if split == "final" else f"predictions_{split}.jsonl"
    file = path / name
    if not file.is_file():
        hint = (
            f"run `textgym eval {run} --split {split}` first"
            if split != "final"
            else "the run has not finished"
        )
        raise RunFolderError(f"{str(run)!r}: no {name} ({hint})")
    return file


def check_same_samples(
    rows_a: Sequence[Mapping[str, Any]],
    rows_b: Sequence[Mapping[str, Any]],
    label_a: str = "A",
    label_b: str = "B",
) -> None:
    """Refuse two predictions lists that are not on the same samples in the same order.

    Raises:
        RunFolderError: Different counts, sample ids or references, naming the first one.
    """
    if len(rows_a) != len(rows_b):
        raise RunFolderError(
            f"not the same samples: {label_a} has {len(rows_a)} predictions, {label_b} has "
            f"{len(rows_b)} (evaluate both with the same --split and --episodes)"
        )
    for i, (a, b) in enumerate(zip(rows_a, rows_b, strict=True)):
        if a.get("sample_id") != b.get("sample_id"):
            raise RunFolderError(
                f"not the same samples: row {i} is sample {a.get('sample_id')!r} in {label_a} "
                f"and {b.get('sample_id')!r} in {label_b}"
            )
        if list(a["references"]) != list(b["references"]):
            raise RunFolderError(
                f"not the same samples: sample {a.get('sample_id')!r} (row {i}) has different "
                f"references in {label_a} and {label_b} (another env, split or dataset?)"
            )


@dataclass(frozen=True)
class Comparison:
    """Paired tests of run B against run A (the baseline) on each metric.

    Attributes:
        file_a: A's predictions file.
        file_b: B's predictions file.
        samples: Number of shared samples.
        identical: Whether the two runs' predictions are the same text on every sample.
        results: One :class:`textgym.metrics.significance.PairedResult` per metric.
    """

    file_a: Path
    file_b: Path
    samples: int
    identical: bool
    results: list[Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable fields."""
        return {
            "a": str(self.file_a), "b": str(self.file_b), "samples": self.samples,
            "identical": self.identical, "results": [r.to_dict() for r in self.results],
        }  # fmt: skip


def compare_runs(
    run_a: str | os.PathLike[str],
    run_b: str | os.PathLike[str],
    *,
    split: str = "test",
    metrics: Sequence[str] | None = None,
    test: str = "bootstrap",
    resamples: int | None = None,
    seed: int | None = 12345,
) -> Comparison:
    """Paired significance tests of run B against run A on their predictions.

    Args:
        run_a: The baseline: a run folder or a predictions JSONL file.
        run_b: The compared run, evaluated on the same samples.
        split: Which predictions of a run folder: ``predictions_<split>.jsonl`` (written by
            ``textgym eval RUN --split <split>``), or ``final`` for ``predictions.jsonl``.
        metrics: Metric names (default: every metric the runs recorded). ``bleu``, ``chrf``,
            ``chrf++`` and ``ter`` are sacrebleu's corpus scores (0-100), ROUGE variants and
            ``f1`` the mean per-sample F (0-1), recomputed from the text; other names the
            mean of the per-sample values recorded (e.g. ``score``, the reward).
        test: ``bootstrap`` (sacrebleu ``--paired-bs``) or ``randomization`` (``--paired-ar``,
            with a 1000-resample bootstrap for the intervals).
        resamples: Bootstrap resamples or randomisation trials (default 1000 / 10000).
        seed: The seed (default sacrebleu's 12345).

    Raises:
        RunFolderError: Missing files, or runs not on the same samples.
        ValueError: An unknown test, or a metric neither recomputable nor recorded.
    """
    from textgym.metrics import paired_bootstrap, paired_randomization
    from textgym.metrics.signatures import count_refs

    if test not in ("bootstrap", "randomization"):
        raise ValueError(f"--test: expected bootstrap or randomization, got {test!r}")
    file_a, file_b = predictions_file(run_a, split), predictions_file(run_b, split)
    rows_a, rows_b = read_predictions(file_a), read_predictions(file_b)
    check_same_samples(rows_a, rows_b, str(run_a), str(run_b))
    recorded = [name for name in rows_a[0].get("metrics", {}) if all(
        name in r.get("metrics", {}) for r in (*rows_a, *rows_b)
    )]  # fmt: skip
    names = list(metrics) if metrics else recorded
    if not names:
        raise ValueError("--metric: the predictions record no metrics; name some, e.g. bleu")
    refs = [list(r["references"]) for r in rows_a]
    signed = _recorded_signatures(run_a, split)
    hyps_a = [str(r["prediction"]) for r in rows_a]
    hyps_b = [str(r["prediction"]) for r in rows_b]
    results = []
    for name in names:
        if name in TEXT_METRICS:
            args: tuple[Any, ...] = (name, hyps_a, hyps_b, refs)
        elif name in recorded:
            values_a = [float(r["metrics"][name]) for r in rows_a]
            values_b = [float(r["metrics"][name]) for r in rows_b]
            args = ("mean", values_a, values_b, None)
        else:
            raise ValueError(
                f"--metric: {name!r} is neither one of {', '.join(TEXT_METRICS)} nor recorded "
                f"in both predictions files (they record {', '.join(recorded) or 'none'})"
            )
        if test == "bootstrap":
            kwargs: dict[str, Any] = {} if resamples is None else {"resamples": resamples}
            result = paired_bootstrap(*args, seed=seed, **kwargs)
        else:
            kwargs = {} if resamples is None else {"trials": resamples}
            result = paired_randomization(*args, seed=seed, confidence_resamples=1000, **kwargs)
        if args[0] == "mean":  # keep the recorded name and its own signature in the report
            base = signed.get(f"eval/{name}") or metric_signature(name, count_refs(refs))
            result = _renamed(result, name, _with_test_fields(base, result))
        results.append(result)
    identical = hyps_a == hyps_b
    return Comparison(file_a, file_b, len(rows_a), identical, results)


def _renamed(result: Any, name: str, signature: str) -> Any:
    from dataclasses import replace

    return replace(result, metric=name, signature=signature)


def _recorded_signatures(run: str | os.PathLike[str], split: str) -> dict[str, str]:
    """The signatures a run folder recorded for its evaluation on ``split`` (none for a
    predictions file, or a folder from before signatures)."""
    path = Path(run)
    file = path / ("summary.json" if split == "final" else f"eval_{split}.json")
    if not path.is_dir() or not file.is_file():
        return {}
    try:
        recorded = json.loads(file.read_text(encoding="utf-8")).get("signatures", {})
    except (json.JSONDecodeError, AttributeError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def _with_test_fields(signature: str, result: Any) -> str:
    """``signature`` with the test's ``bs``/``ar``/``seed`` fields after ``nrefs``, where
    sacrebleu puts them."""
    head, _, rest = signature.partition("|")
    fields = []
    if result.test == "bootstrap":
        fields.append(f"bs:{result.resamples}")
    else:
        if result.confidence_resamples is not None:
            fields.append(f"bs:{result.confidence_resamples}")
        fields.append(f"ar:{result.resamples}")
    fields.append(f"seed:{'none' if result.seed is None else result.seed}")
    return "|".join([head, *fields, rest])


def format_comparison(comparison: Comparison) -> str:
    """The human table of ``textgym compare``."""
    first = comparison.results[0]
    if first.test == "bootstrap":
        method = f"paired bootstrap resampling, {first.resamples} resamples"
    else:
        method = (
            f"approximate randomization, {first.resamples} trials (intervals: "
            f"{first.confidence_resamples} bootstrap resamples)"
        )
    lines = [
        f"A (baseline): {comparison.file_a}",
        f"B:            {comparison.file_b}",
        f"{comparison.samples} shared samples; {method}, seed {first.seed}.",
        "Scores with (bootstrap mean ± 95% CI half-width); B - A with its paired 95% CI; "
        "p: sacrebleu's p-value (* below 0.05).",
        "",
    ]
    header = ("metric", "A", "B", "B - A", "95% CI", "p")
    table = [header]
    for r in comparison.results:
        ci = (
            "-"
            if r.difference_ci is None
            else f"[{r.difference_ci[0]:+.4g}, {r.difference_ci[1]:+.4g}]"
        )
        star = "*" if r.p_value < 0.05 else ""
        table.append(
            (r.metric, _system(r.baseline), _system(r.system), f"{r.difference:+.4g}", ci,
             f"{r.p_value:.4f}{star}")
        )  # fmt: skip
    widths = [max(len(row[k]) for row in table) for k in range(len(header))]
    for row in table:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    lines += ["", "signatures:"]
    width = max(len(r.metric) for r in comparison.results)
    lines += [f"  {r.metric:<{width}}  {r.signature}" for r in comparison.results]
    if comparison.identical:
        lines += [
            "",
            "note: the two runs' predictions are identical; there is no difference to test "
            "(sacrebleu's p-value is then its smallest value, 1 / (n + 1), by its definition).",
        ]
    return "\n".join(lines)


def _system(s: Any) -> str:
    if s.mean is None:
        return f"{s.score:.4g}"
    return f"{s.score:.4g} ({s.mean:.4g} ± {s.ci:.3g})"
