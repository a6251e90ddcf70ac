"""``fairguard train refine``: train a REFINE-LM debiasing layer over a frozen LM."""

from __future__ import annotations

import json
from typing import Any

import click

from fairguard.cli.options import options_from
from fairguard.refine.config import RefineConfig


@click.command(name="refine")
@options_from(RefineConfig)
@click.option("--out", required=True, type=click.Path(), help="Output folder for the layer.")
@click.option("--config", "config_path", type=click.Path(), default=None, help="YAML file with any of these options.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out folder.")
def train_refine(out: str, config_path: str | None, overwrite: bool, **options: Any) -> None:
    """Train a REFINE-LM layer (top-k -> Linear(k,k) -> softmax) on UnQover questions."""
    from fairguard.config import build_config
    from fairguard.evaluation.refine import format_table
    from fairguard.refine.train import train_refine_layer

    config = build_config(RefineConfig, config_path, **options)
    result = train_refine_layer(config, out, overwrite=overwrite,
                                log=lambda msg: click.echo(msg, err=True))
    held = result.metrics["held_out"]
    click.echo(format_table(held["before"], held["after"],
                            f"held-out {', '.join(config.categories())} questions ({config.model}):"))
    click.echo(json.dumps({"out": out, "seconds": result.metrics["seconds"]}))
