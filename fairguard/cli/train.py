"""``fairguard train ...``: reward model, GRPO/REINFORCE adapters, REFINE-LM layers."""

from __future__ import annotations

import click


@click.group()
def train() -> None:
    """Train reward models, debiasing adapters and REFINE-LM layers."""
