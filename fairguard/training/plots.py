"""PNG training curves: reward per head, KL to the base model, loss."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence


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
            if steps:
                ax.plot(steps, values, label=label, marker="." if len(steps) < 30 else None)
                drawn = True
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
