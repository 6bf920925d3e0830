"""Argument checks shared by every public metric entry point.

sacrebleu and rouge-score happily iterate over a bare string as if it were a list of
one-character references, which silently yields a wrong score; we refuse such inputs instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def check_hypothesis(hypothesis: Any, name: str = "hypothesis") -> str:
    """Return ``hypothesis`` if it is a str, else raise ``TypeError``."""
    if not isinstance(hypothesis, str):
        raise TypeError(f"`{name}` must be a str, got {type(hypothesis).__name__}")
    return hypothesis


def check_references(references: Any, name: str = "references") -> tuple[str, ...]:
    """Validate a non-empty sequence of reference strings and return it as a tuple.

    The tuple doubles as a hashable cache key for the per-reference statistics caches.

    Raises:
        TypeError: If ``references`` is a bare str, not a sequence, or holds non-strings.
        ValueError: If ``references`` is empty.
    """
    kind = type(references)
    # A plain list or tuple (the usual case) skips the abstract-base-class checks (~1 us).
    if kind is not list and kind is not tuple:
        if isinstance(references, str):
            raise TypeError(
                f"`{name}` must be a sequence of str (e.g. a list of reference strings), "
                "got a bare str; wrap a single reference in a list"
            )
        if isinstance(references, (bytes, Mapping)) or not isinstance(references, Iterable):
            raise TypeError(f"`{name}` must be a sequence of str, got {kind.__name__}")
    refs = tuple(references)
    if not refs:
        raise ValueError(f"`{name}` must contain at least one reference string, got none")
    for i, ref in enumerate(refs):
        if not isinstance(ref, str):
            raise TypeError(f"`{name}[{i}]` must be a str, got {type(ref).__name__}")
    return refs


def check_hypotheses(hypotheses: Any, name: str = "hypotheses") -> list[str]:
    """Validate a sequence of hypothesis strings (may be empty) and return it as a list."""
    if isinstance(hypotheses, str) or not isinstance(hypotheses, Sequence):
        raise TypeError(f"`{name}` must be a sequence of str, got {type(hypotheses).__name__}")
    hyps = list(hypotheses)
    for i, hyp in enumerate(hyps):
        if not isinstance(hyp, str):
            raise TypeError(f"`{name}[{i}]` must be a str, got {type(hyp).__name__}")
    return hyps


def check_references_list(
    references_list: Any, n_hypotheses: int, name: str = "references_list"
) -> list[tuple[str, ...]]:
    """Validate one reference set per hypothesis for the batched entry points."""
    if isinstance(references_list, str) or not isinstance(references_list, Sequence):
        raise TypeError(
            f"`{name}` must be a sequence with one sequence of reference str per hypothesis, "
            f"got {type(references_list).__name__}"
        )
    if len(references_list) != n_hypotheses:
        raise ValueError(
            f"`{name}` has {len(references_list)} entries but there are {n_hypotheses} "
            "hypotheses; pass one sequence of references per hypothesis"
        )
    return [check_references(refs, f"{name}[{i}]") for i, refs in enumerate(references_list)]
