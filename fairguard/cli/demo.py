"""`fairguard demo`: run the whole mission end to end and write a report."""

from __future__ import annotations

import logging
from typing import Any

import click

from fairguard.cli.options import options_from
from fairguard.demo.config import DemoConfig


@click.command()
@options_from(DemoConfig)
def demo(**options: Any) -> None:
    """Build data, train and export the reward model, run GRPO (judged by an independent reward
    model too: quality and behaviour) and REFINE-LM, guard a pipeline, and write OUT/report.md.
    Finished stages are skipped on a rerun (resume after a crash)."""
    from fairguard.config import build_config
    from fairguard.demo.stages import run_demo

    config = build_config(DemoConfig, None, **options)
    progress = logging.getLogger("fairguard.demo")
    handler, level = _EchoHandler(), progress.level
    progress.addHandler(handler)
    progress.setLevel(logging.INFO)
    try:
        run_demo(config)
    finally:
        progress.removeHandler(handler)
        progress.setLevel(level)


class _EchoHandler(logging.Handler):
    """Shows the demo's progress messages (the ``fairguard.demo`` logger) as plain lines."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(record.getMessage(), err=record.levelno >= logging.WARNING)
