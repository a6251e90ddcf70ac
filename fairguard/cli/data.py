"""``fairguard data ...``: build and inspect the training and evaluation datasets."""

from __future__ import annotations

import click


@click.group()
def data() -> None:
    """Build and inspect datasets."""
