"""``fairguard eval refine``: UnQover bias of a base LM with and without a REFINE-LM layer."""

from __future__ import annotations

import json

import click


@click.command(name="refine")
@click.option("--model", required=True, help="Base LM the layer was trained on (embedded name, folder, hub id).")
@click.option("--layer", "layer_dir", required=True, type=click.Path(),
              help="Layer folder from `fairguard train refine`.")
@click.option("--data", required=True, type=click.Path(), help="Dataset folder (uses DIR/unqover/).")
@click.option("--category", default=None, help="Categories to evaluate [default: the layer's].")
@click.option("--split", type=click.Choice(["test", "train"]), default="test", show_default=True,
              help="Ambiguous split (disambiguated accuracy uses the matching disambig_ split).")
@click.option("--max-quads", type=int, default=0, show_default=True, help="Cap on evaluated quads (0 = all).")
@click.option("--max-disambig", type=int, default=0, show_default=True,
              help="Cap on disambiguated questions (0 = all).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the caps' random choice.")
@click.option("--out", required=True, type=click.Path(), help="Output folder (metrics.json, metrics.md).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out folder.")
def eval_refine(model: str, layer_dir: str, data: str, category: str | None, split: str, max_quads: int,
                max_disambig: int, seed: int, out: str, overwrite: bool) -> None:
    """Positional error, attributive error and bias intensity (mu, eta) with and without the layer,
    plus accuracy on disambiguated questions (the REFINE-LM paper's table)."""
    from fairguard.evaluation.refine import run_eval

    metrics, table = run_eval(model, layer_dir, data, out, category=category, split=split,
                              max_quads=max_quads, max_disambig=max_disambig, seed=seed,
                              overwrite=overwrite)
    click.echo(table)
    click.echo(json.dumps({"out": out, "relative_change": metrics["relative_change"]}))
