"""`fairguard demo`: run the whole mission end to end and write a report."""

from __future__ import annotations

import click


@click.command()
@click.option("--out", default="runs/demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for every stage's artifact and report.md.")
@click.option("--quick", is_flag=True, help="Tiny budgets (a few minutes) instead of the full run.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for every stage.")
@click.option("--overwrite", is_flag=True,
              help="Rerun every stage even where its artifact exists (default: skip finished ones).")
def demo(out: str, quick: bool, seed: int, overwrite: bool) -> None:
    """Build data, train and export the reward model, run GRPO and REFINE-LM, guard a pipeline,
    and write OUT/report.md. Finished stages are skipped on a rerun (resume after a crash)."""
    from fairguard.demo import DemoConfig, run_demo

    run_demo(DemoConfig(out=out, quick=quick, seed=seed, overwrite=overwrite))
