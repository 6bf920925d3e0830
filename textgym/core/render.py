"""The ``"ansi"`` text view of an episode."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from textgym.data.sample import Sample

_WIDTH = 100


def _block(label: str, text: str) -> str:
    body = textwrap.fill(text, width=_WIDTH, initial_indent="  ", subsequent_indent="  ")
    return f"{label}\n{body or '  (empty)'}\n"


def render_ansi(
    sample: Sample,
    generated: str,
    num_generated: int,
    max_new_tokens: int,
    score: float | None,
    metrics: Mapping[str, float] | None,
) -> str:
    """Source, generation, references and score as one printable string."""
    parts = [f"== sample {sample.id} ==\n", _block("source:", sample.source)]
    parts.append(_block(f"generated ({num_generated}/{max_new_tokens} tokens):", generated))
    for i, ref in enumerate(sample.references):
        parts.append(_block(f"reference {i}:", ref))
    if metrics:
        parts.append("metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()) + "\n")
    elif score is not None:
        parts.append(f"score so far: {score:.4f}\n")
    return "".join(parts)
