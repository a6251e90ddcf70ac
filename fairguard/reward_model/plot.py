"""PNG of a reward-model training run: loss per step and validation metrics per epoch."""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np


def plot_training(step_losses: Sequence[float], history: Sequence[dict[str, Any]],
                  path: str | os.PathLike[str]) -> None:
    """Write a two-panel PNG: training loss (raw + moving average) and val metrics by epoch."""
    from fairguard.loops import pyplot, save_figure

    plt = pyplot()

    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(11, 4))
    losses = np.asarray(step_losses, dtype=float)
    if losses.size:
        steps = np.arange(1, losses.size + 1)
        ax_loss.plot(steps, losses, alpha=0.3, label="step loss")
        window = max(1, min(50, losses.size // 10))
        if window > 1:
            smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
            ax_loss.plot(steps[window - 1:], smooth, label=f"moving mean ({window})")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss (BCE + pairwise)")
    ax_loss.set_title("training loss")
    if losses.size:
        ax_loss.legend(loc="upper right")

    epochs = [entry["epoch"] for entry in history]
    if epochs:
        heads = list(history[0]["val"]["heads"])
        for head in heads:
            auc = [entry["val"]["heads"][head]["roc_auc"] for entry in history]
            ax_val.plot(epochs, [np.nan if v is None else v for v in auc], marker="o",
                        label=f"{head} ROC-AUC")
        if "fairness" in heads:
            pair = [entry["val"]["heads"]["fairness"]["pairwise_accuracy"] for entry in history]
            ax_val.plot(epochs, [np.nan if v is None else v for v in pair], marker="s",
                        linestyle="--", label="fairness pairwise acc")
        ax_val.set_xticks(epochs)
        ax_val.legend(loc="lower right", fontsize="small")
    ax_val.set_xlabel("epoch")
    ax_val.set_ylabel("validation metric")
    ax_val.set_title("validation")
    save_figure(fig, path)
