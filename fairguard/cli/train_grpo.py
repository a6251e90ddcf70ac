"""``fairguard train grpo``: GRPO / REINFORCE training of a debiasing LoRA adapter."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from fairguard.cli.options import options_from
from fairguard.training.config import GRPOConfig


@click.command(name="grpo")
@click.option("--out", required=True, type=click.Path(), help="Output folder (the peft adapter).")
@click.option("--config", "config_path", type=click.Path(), help="YAML file of options (flags override it).")
@options_from(GRPOConfig)
@click.option("--resume", is_flag=True, help="Continue the killed run that was writing --out.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out (and any unfinished run).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def grpo(out: str, config_path: str | None, resume: bool, overwrite: bool, quiet: bool,
         **options: Any) -> None:
    """Train a LoRA adapter with GRPO (or the LLaDA LoRA paper's REINFORCE) on weighted reward plugins.

    The policy is a causal LM, or with --policy diffusion a masked LM sampled by the LLaDA LoRA paper's
    masked-diffusion sampler (LLaDA-style). Runs on CPU or GPU unchanged, and under
    `accelerate launch` / `torchrun` for several processes (DDP).
    """
    from fairguard.config import build_config
    from fairguard.training.trainer import train

    config = build_config(GRPOConfig, config_path, **options)
    path = train(config, out, overwrite=overwrite, resume=resume, progress=not quiet)
    if int(os.environ.get("RANK", "0")) == 0:
        _report(path)


def _report(path: Any) -> None:
    """Print the before/after table of the held-out evaluation."""
    from fairguard.evaluation.report import change_cell

    metrics = json.loads((Path(path) / "metrics.json").read_text())
    before, after = metrics.get("before"), metrics.get("after")
    if before and after:
        paired = metrics.get("change_paired") or {}
        click.echo(f"held-out evaluation ({after['n']} prompts): head  before -> after  (change ± se)")
        for head, value in before["heads"].items():
            line = f"  {head:<14} {value:.3f} -> {after['heads'].get(head, float('nan')):.3f}"
            if head in paired:
                line += f"  ({change_cell(paired[head]['change'], paired[head]['se'])})"
            click.echo(line)
    click.echo(f"wrote {path}")
