"""``fairguard eval behaviour``: a policy's behaviour against its base model, with paired errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fairguard.cli.options import config_file_option, options_from
from fairguard.cli.reports import echo_report
from fairguard.evaluation.behaviour import BehaviourEvalConfig


@click.command(name="behaviour")
@options_from(BehaviourEvalConfig)
@config_file_option
@click.option("--quiet", is_flag=True, help="No progress bars.")
def eval_behaviour(config_path: str | None, quiet: bool, **options: Any) -> None:
    """Multiple choice (likelihood and generation), evasion, gendered language and counterfactual
    consistency of a policy and its base model on the project's own questions.

    The 'after' side is a peft adapter (--adapter), another LM (--policy), or the guard's
    rewrite step on the base model's answers (--guard-filters lora,refine, with
    --guard-lora-adapter and --guard-refine-layer). Every metric is reported base -> after with
    the paired standard error of the change.
    Writes metrics.json, report.md and answers.jsonl.
    """
    from fairguard.config import build_config
    from fairguard.evaluation.behaviour import REPORT_FILE, run_behaviour

    config = build_config(BehaviourEvalConfig, config_path, **options)
    echo_report(Path(config.out, REPORT_FILE), run_behaviour(config, progress=not quiet),
                ("n_questions",), out=config.out)
