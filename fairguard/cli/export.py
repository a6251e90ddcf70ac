"""``fairguard export ...``: turn trained artifacts into serving formats."""

from __future__ import annotations

import click


@click.group()
def export() -> None:
    """Export trained artifacts (ONNX reward model, ...)."""
