"""``fairguard data ...``: build and inspect the training and evaluation datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fairguard.cli.options import options_from
from fairguard.data.config import DataConfig


@click.group()
def data() -> None:
    """Build and inspect datasets."""


@data.command()
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write (must not exist unless --overwrite).")
@options_from(DataConfig)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="YAML file with build options (flags override it).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out folder.")
def build(out: Path, config_path: Path | None, overwrite: bool, **options: Any) -> None:
    """Build the Chinese-context discrimination dataset and UnQover questions into OUT."""
    import time

    from fairguard.config import build_config
    from fairguard.data.builder import build_dataset

    config = build_config(DataConfig, config_path, **options)
    start = time.perf_counter()
    result = build_dataset(config, out, overwrite=overwrite)
    elapsed = time.perf_counter() - start
    rows = result.counts["rows"]
    click.echo(f"wrote {out} in {elapsed:.1f}s: " +
               ", ".join(f"{k} {v}" for k, v in rows.items()) + " prompts")
    if "unqover" in result.counts:
        click.echo("unqover: " + ", ".join(f"{k} {v}" for k, v in result.counts["unqover"].items()))
    click.echo(f"held out for test: {len(result.holdout.groups)} groups, "
               f"{len(result.holdout.templates)} templates; fingerprint {result.fingerprint[:16]}")


@data.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--split", default="train", show_default=True,
              type=click.Choice(["train", "val", "test"]), help="Split to sample rows from.")
@click.option("-n", "n_rows", default=2, show_default=True, type=click.IntRange(0, 50),
              help="Number of sample rows to print.")
def show(folder: Path, split: str, n_rows: int) -> None:
    """Print the counts of a built dataset FOLDER and a few sample rows."""
    import json
    import random

    from fairguard.data.loaders import load_pairs
    from fairguard.errors import DataError

    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise DataError(f"{folder} has no manifest.json; build it with `fairguard data build`")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{manifest_path} is not valid JSON ({exc.msg}); "
                        "rebuild the dataset") from exc
    counts = manifest.get("counts", {})
    click.echo(f"{folder}: seed {manifest.get('seed')}, fingerprint "
               f"{str(manifest.get('fingerprint'))[:16]}")
    for name, n in counts.get("rows", {}).items():
        cats = counts.get("by_category", {}).get(name, {})
        click.echo(f"  {name:<6} {n:>6}  " + " ".join(f"{c}={k}" for c, k in cats.items()))
    for name, n in counts.get("unqover", {}).items():
        click.echo(f"  unqover/{name:<15} {n:>6}")
    rows = load_pairs(folder, split)
    for row in random.Random(0).sample(rows, min(n_rows, len(rows))):
        click.echo("")
        click.echo(f"[{row.id}] {row.category} / {row.group} / {row.scenario} ({row.template_id})")
        for key in ("prompt", "neutral", "biased", "off_topic", "corrupted"):
            click.echo(f"  {key:<9} {getattr(row, key)}")
