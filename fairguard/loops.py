"""What fairguard's three training loops share besides the update itself.

The GRPO / REINFORCE trainer (``training/trainer.py``), the reward-model trainer
(``reward_model/train.py``) and the REFINE-LM trainer (``refine/train.py``) seed the same way,
keep their best weights the same way and draw their curves with the same figure helpers; their
JSONL curves go through :func:`fairguard.artifacts.write_jsonl`. Heavy imports (torch,
matplotlib) happen inside the functions.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SMOOTH_WINDOW = 8  # steps in the running mean drawn over noisy curves


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators with ``seed``."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class BestState:
    """The best-scoring weights seen so far (higher is better), as a CPU copy of a ``state_dict``."""

    def __init__(self) -> None:
        self.score = -math.inf
        self.step: int | None = None
        self.state: dict[str, Any] | None = None

    def update(self, score: float, module: Any, step: int, *, force: bool = False) -> bool:
        """Keep ``module``'s weights if ``score`` beats the best so far (or ``force``); say if kept."""
        if not (force or score > self.score):
            return False
        self.score, self.step = score, step
        self.state = {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
        return True

    def restore(self, module: Any) -> None:
        """Load the kept weights into ``module`` (nothing kept: leave it as it is)."""
        if self.state is not None:
            module.load_state_dict(self.state)


class WeightAverage:
    """The running mean of a module's trained weights over the steps from ``start`` on
    (stochastic weight averaging), kept on the module's device. The weights averaged are those
    that train at the first averaged step; frozen ones are never copied."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.count = 0
        self.state: dict[str, Any] = {}

    def update(self, module: Any, step: int) -> None:
        """Add ``module``'s weights after training step ``step`` (1-based) when it is averaged."""
        if step <= self.start:
            return
        self.count += 1
        if self.count == 1:
            self.state = {name: p.detach().clone() for name, p in module.named_parameters()
                          if p.requires_grad}
            return
        parameters = dict(module.named_parameters())
        for name, mean in self.state.items():
            mean.add_(parameters[name].detach() - mean, alpha=1.0 / self.count)

    def restore(self, module: Any) -> None:
        """Load the averaged weights into ``module`` (the others stay as they are)."""
        if self.state:
            module.load_state_dict(self.state, strict=False)


def running_mean(values: Sequence[float], window: int = SMOOTH_WINDOW) -> list[float]:
    """Mean of the last ``window`` values at every position (fewer at the start)."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Lay out, write (PNG, 100 dpi) and close ``fig``; return ``path``."""
    plt = pyplot()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_curve(ax: Any, steps: Sequence[int], values: Sequence[float], label: str,
               window: int = SMOOTH_WINDOW) -> None:
    """A noisy per-step curve: faint per-step line and bold running mean once there are at least
    ``2 * window`` points, else the points joined."""
    if len(steps) >= 2 * window:
        line, = ax.plot(steps, values, alpha=0.3, linewidth=0.8)
        ax.plot(steps, running_mean(values, window), color=line.get_color(),
                label=f"{label} ({window}-step mean)")
    else:
        ax.plot(steps, values, label=label, marker=".")


__all__ = ["BestState", "plot_curve", "pyplot", "running_mean", "save_figure", "seed_everything"]
