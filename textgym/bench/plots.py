"""Learning-curve figures of a run folder (matplotlib, imported only when plotting)."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from typing import Any

from textgym._io import atomic_write_bytes


def plot_run(
    rows: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    title: str = "",
    unit: str = "step",
) -> None:
    """A PNG of the evaluation metrics (one panel each) and the training return against steps.

    Args:
        rows: ``metrics.csv`` rows (``step``, ``eval/...``, optionally ``train/episode_return``).
        path: The PNG file, written atomically.
        title: Figure title.
        unit: What a step is, for the x axis label.
    """
    from textgym._optional import require

    require("matplotlib", "curves.png")
    # A bare Figure on the Agg canvas: no pyplot, so a notebook's backend is left alone.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    skip = ("eval/num_samples", "eval/length")
    names = [k for k in rows[0] if k.startswith("eval/") and k not in skip] if rows else []
    panels = len(names) + 1
    cols = min(3, panels)
    nrows = -(-panels // cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * nrows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, cols, squeeze=False)
    steps = [row["step"] for row in rows]
    for ax, name in zip(axes.flat, names, strict=False):
        ax.plot(steps, [row.get(name) for row in rows], marker="o", color="tab:blue")
        ax.set_title(name)
        ax.set_xlabel(unit)
        ax.grid(alpha=0.3)
    ax = axes.flat[len(names)]
    train = [(row["step"], row.get("train/episode_return")) for row in rows]
    train = [(s, v) for s, v in train if v is not None]
    if train:
        ax.plot([s for s, _ in train], [v for _, v in train], marker=".", color="tab:orange")
    ax.set_title("train/episode_return")
    ax.set_xlabel(unit)
    ax.grid(alpha=0.3)
    for extra in list(axes.flat)[panels:]:
        extra.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    atomic_write_bytes(path, buffer.getvalue())
