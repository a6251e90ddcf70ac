"""``fairguard score``: try a trained reward model on a prompt and one or more responses."""

from __future__ import annotations

import json
from typing import Any

import click

from fairguard.cli.options import config_file_option, options_from
from fairguard.reward_model.config import ScoreConfig


@click.command(name="score")
@options_from(ScoreConfig)
@config_file_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def score(config_path: str | None, as_json: bool, **options: Any) -> None:
    """Score responses to a prompt for fairness, relevance and fluency (1 = good)."""
    from fairguard.config import build_config
    from fairguard.reward_model.inference import run_score

    scored = run_score(build_config(ScoreConfig, config_path, **options))
    if as_json:
        click.echo(json.dumps(scored, indent=2))
        return
    heads = scored["heads"]
    click.echo("  ".join(f"{head:>9}" for head in heads) + "  response")
    for row in scored["results"]:
        values = "  ".join(f"{row[head]:>9.3f}" for head in heads)
        flag = f"  [low: {', '.join(row['flags'])}]" if row["flags"] else ""
        text = row["response"] if len(row["response"]) <= 70 else row["response"][:67] + "..."
        click.echo(f"{values}  {text}{flag}")
