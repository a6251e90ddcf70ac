"""``fairguard train refine``: train a REFINE-LM debiasing layer over a frozen LM."""

from __future__ import annotations

import json
from typing import Any

import click


@click.command(name="refine")
@click.option("--model", help="Base LM: embedded name (smollm2-135m-instruct), folder or hub id.")
@click.option("--data", type=click.Path(), help="Dataset folder from `fairguard data build` (uses DIR/unqover/).")
@click.option("--category", help="UnQover category to debias (gender, region, ethnicity, occupation, ...; "
              "comma list allowed).")
@click.option("--out", required=True, type=click.Path(), help="Output folder for the layer.")
@click.option("--k", type=int, default=None, help="Top-k size (default 8 for masked LMs, 10 for causal LMs).")
@click.option("--epochs", type=int, default=None, help="Passes over the cached training questions (default 100).")
@click.option("--lr", type=float, default=None, help="Adam learning rate (default 0.02).")
@click.option("--seed", type=int, default=None, help="Random seed (default 0).")
@click.option("--estimator", type=click.Choice(["exact", "sample"]), default=None,
              help="Policy gradient: exact expected gradient (default) or sampled REINFORCE.")
@click.option("--max-quads", type=int, default=None, help="Cap on training quads (0 = all).")
@click.option("--max-disambig", type=int, default=None, help="Cap on disambiguated questions per split (0 = all).")
@click.option("--keep-order/--allow-reranking", "keep_order", default=None,
              help="Sort the refined top-k back into the LM's ranking, so the layer re-weights but "
                   "never changes the greedy answer (default: keep order).")
@click.option("--config", "config_path", type=click.Path(), default=None, help="YAML file with any of these options.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out folder.")
@click.option("--no-cache", is_flag=True, help="Do not keep the LM's top-k in the fairguard cache folder.")
def train_refine(out: str, config_path: str | None, overwrite: bool, no_cache: bool, **options: Any) -> None:
    """Train a REFINE-LM layer (top-k -> Linear(k,k) -> softmax) on UnQover questions."""
    from fairguard.config import build_config
    from fairguard.refine.evaluate import format_table
    from fairguard.refine.train import RefineConfig, run_training, write_artifact

    if no_cache:
        options["cache"] = False
    config = build_config(RefineConfig, config_path, **options)
    result = run_training(config, log=lambda msg: click.echo(msg, err=True))
    write_artifact(result, out, overwrite)
    held = result.metrics["held_out"]
    click.echo(format_table(held["before"], held["after"],
                            f"held-out {', '.join(config.categories())} questions ({config.model}):"))
    click.echo(json.dumps({"out": out, "seconds": result.metrics["seconds"]}))
