"""PNG training curves of a GRPO / REINFORCE run: reward per head, KL to the base model, loss."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fairguard.loops import plot_curve, pyplot, save_figure


def _series(rows: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    steps: list[int] = []
    values: list[float] = []
    for row in rows:
        value: Any = row
        for part in key.split("/"):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, (int, float)):
            steps.append(int(row["step"]))
            values.append(float(value))
    return steps, values


def plot_training(rows: Sequence[dict[str, Any]], folder: str | os.PathLike[str]) -> list[Path]:
    """Write ``rewards.png``, ``kl.png`` and ``loss.png`` from metrics rows; return their paths."""
    plt = pyplot()
    folder = Path(folder)
    written = []
    heads = sorted({h for row in rows for h in row.get("rewards", {})})
    panels = [
        ("rewards.png", "reward (mean per step)", [(f"rewards/{h}/mean", h) for h in heads]),
        ("kl.png", "KL(policy || base) per token", [("kl", "kl")]),
        ("loss.png", "loss", [("loss", "loss")]),
    ]
    for name, title, curves in panels:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        drawn = False
        for key, label in curves:
            steps, values = _series(rows, key)
            if steps:
                drawn = True
                plot_curve(ax, steps, values, label)
        ax.set_title(title)
        ax.set_xlabel("step")
        if drawn and len(curves) > 1:
            ax.legend(fontsize=8)
        if not drawn:
            ax.text(0.5, 0.5, "not logged in this run", ha="center", va="center",
                    transform=ax.transAxes)
        written.append(save_figure(fig, folder / name))
    return written
