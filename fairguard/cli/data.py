"""``fairguard data ...``: build and inspect the training and evaluation datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fairguard.cli.options import config_file_option, options_from
from fairguard.data.config import DataConfig, DataShowConfig


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
@options_from(DataShowConfig)
@config_file_option
def show(config_path: str | None, **options: Any) -> None:
    """Print the counts of a built dataset FOLDER and a few sample rows."""
    from fairguard.config import build_config
    from fairguard.data.card import describe_dataset

    click.echo(describe_dataset(build_config(DataShowConfig, config_path, **options)))
