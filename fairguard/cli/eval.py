"""``fairguard eval ...``: bias and quality metrics for models, adapters and layers."""

from __future__ import annotations

import click


@click.group(name="eval")
def eval_group() -> None:
    """Evaluate bias and quality (UnQover, BBQ-style, fairness/relevance/fluency)."""
