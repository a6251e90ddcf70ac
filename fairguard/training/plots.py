"""PNG training curves: reward per head, KL to the base model, loss."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _series(rows: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    steps, values = [], []
    for row in rows:
        value = row
        for part in key.split("/"):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, (int, float)):
            steps.append(int(row["step"]))
            values.append(float(value))
    return steps, values


SMOOTH_WINDOW = 8  # steps in the running mean drawn over noisy curves


def running_mean(values: Sequence[float], window: int = SMOOTH_WINDOW) -> list[float]:
    """Mean of the last ``window`` values at every position (fewer at the start)."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_training(rows: Sequence[dict[str, Any]], folder: str | os.PathLike[str]) -> list[Path]:
    """Write ``rewards.png``, ``kl.png`` and ``loss.png`` from metrics rows; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
            if not steps:
                continue
            drawn = True
            if len(steps) >= 2 * SMOOTH_WINDOW:  # faint per-step line, bold running mean
                line, = ax.plot(steps, values, alpha=0.3, linewidth=0.8)
                ax.plot(steps, running_mean(values), color=line.get_color(),
                        label=f"{label} ({SMOOTH_WINDOW}-step mean)")
            else:
                ax.plot(steps, values, label=label, marker=".")
        ax.set_title(title)
        ax.set_xlabel("step")
        if drawn and len(curves) > 1:
            ax.legend(fontsize=8)
        if not drawn:
            ax.text(0.5, 0.5, "not logged in this run", ha="center", va="center",
                    transform=ax.transAxes)
        fig.tight_layout()
        path = folder / name
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
