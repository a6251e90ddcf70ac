"""What an evaluation command prints: the report it wrote, then a one-line JSON summary."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click


def echo_report(report: str | Path, metrics: Mapping[str, Any], keys: tuple[str, ...],
                **extra: Any) -> None:
    """Print the markdown file ``report``, then ``metrics``' ``keys`` (and ``extra``) as one JSON line."""
    click.echo(Path(report).read_text(encoding="utf-8"))
    click.echo(json.dumps({**extra, **{key: metrics[key] for key in keys}}))
