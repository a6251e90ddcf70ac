"""PNG of a REFINE-LM run: before/after bars on held-out questions and the training curve."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

BARS = (("delta", "pos. err. δ"), ("epsilon", "attr. err. ε"), ("mu", "μ"), ("eta", "η"),
        ("accuracy", "disamb. acc."), ("answer_prob", "answer prob."))


def plot_training(before: dict[str, Any], after: dict[str, Any],
                  curve: Sequence[dict[str, float]], path: str | Path) -> None:
    """Left: held-out metrics without/with the layer. Right: validation terms per epoch."""
    from fairguard.loops import pyplot, save_figure

    plt = pyplot()

    bars = [(key, label) for key, label in BARS if key in before and key in after]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    xs = range(len(bars))
    left.bar([x - 0.2 for x in xs], [before[k] for k, _ in bars], 0.4, label="base LM")
    left.bar([x + 0.2 for x in xs], [after[k] for k, _ in bars], 0.4, label="+ REFINE-LM")
    left.set_xticks(list(xs), [label for _, label in bars], rotation=20)
    left.set_title("held-out questions")
    left.legend()
    if curve:
        epochs = [row["epoch"] for row in curve]
        for key in ("positional", "attributive", "abs_c"):
            right.plot(epochs, [row[key] for row in curve], label=key)
        if "utility" in curve[0]:
            twin = right.twinx()
            twin.plot(epochs, [row["utility"] for row in curve], "k--", label="utility (log p)")
            twin.set_ylabel("utility")
            twin.legend(loc="upper right")
        right.set_xlabel("epoch")
        right.set_title("validation terms")
        right.legend(loc="upper left")
    save_figure(fig, path)
