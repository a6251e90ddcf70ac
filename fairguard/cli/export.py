"""``fairguard export ...``: turn trained artifacts into serving formats."""

from __future__ import annotations

import click


@click.group()
def export() -> None:
    """Export trained artifacts (ONNX reward model, ...)."""


def _add_commands() -> None:
    from fairguard.cli.export_onnx import onnx

    export.add_command(onnx)


_add_commands()
