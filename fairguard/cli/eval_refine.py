"""``fairguard eval refine``: UnQover bias of a base LM with and without a REFINE-LM layer."""

from __future__ import annotations

import json
from typing import Any

import click

from fairguard.cli.options import config_file_option, options_from
from fairguard.refine.config import RefineEvalConfig


@click.command(name="refine")
@options_from(RefineEvalConfig)
@config_file_option
def eval_refine(config_path: str | None, **options: Any) -> None:
    """Positional error, attributive error and bias intensity (mu, eta) with and without the layer,
    plus accuracy on disambiguated questions (the REFINE-LM paper's table)."""
    from fairguard.config import build_config
    from fairguard.evaluation.refine import run_refine_eval

    config = build_config(RefineEvalConfig, config_path, **options)
    metrics, table = run_refine_eval(config)
    click.echo(table)
    click.echo(json.dumps({"out": config.out, "relative_change": metrics["relative_change"]}))
