"""``fairguard eval behaviour``: a policy's behaviour against its base model, with paired errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from fairguard.cli.options import options_from
from fairguard.evaluation.behaviour import BehaviourEvalConfig


@click.command(name="behaviour")
@options_from(BehaviourEvalConfig)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML file with any of these options; flags override it.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def eval_behaviour(config_path: str | None, quiet: bool, **options: Any) -> None:
    """Multiple choice (likelihood and generation), evasion, gendered language and counterfactual
    consistency of a policy and its base model on the project's own questions.

    Every metric is reported base -> after with the paired standard error of the change.
    Writes metrics.json, report.md and answers.jsonl.
    """
    from fairguard.config import build_config
    from fairguard.evaluation.behaviour import REPORT_FILE, run_behaviour

    config = build_config(BehaviourEvalConfig, config_path, **options)
    metrics = run_behaviour(config, progress=not quiet)
    click.echo(Path(config.out, REPORT_FILE).read_text(encoding="utf-8"))
    click.echo(json.dumps({"out": config.out, "n_questions": metrics["n_questions"]}))
