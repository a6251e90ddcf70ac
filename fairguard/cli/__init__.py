"""The ``fairguard`` command line. Commands parse options and call library functions; heavy
imports (torch, transformers, optimum) happen inside commands so that ``--help`` stays fast."""

from __future__ import annotations

import json
from typing import Any

import click

from fairguard.errors import FairguardError


class FairguardGroup(click.Group):
    """A click group that turns :class:`FairguardError` into a one-line error and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FairguardError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=FairguardGroup)
@click.version_option(package_name="fairguard")
def cli() -> None:
    """fairguard: train less-biased language models and guard their generations."""


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include the built-in plugins.")
def plugins(show_all: bool) -> None:
    """List installed plugins and the hooks they implement (JSON)."""
    from fairguard.plugin_manager import plugin_infos

    rows = []
    for info in plugin_infos(include_builtin=show_all):
        row: dict[str, Any] = {"name": info.name, "hooks": info.hooks}
        if info.version:
            row["version"] = info.version
        if info.builtin:
            row["builtin"] = True
        if info.error:
            row["error"] = info.error
        rows.append(row)
    click.echo(json.dumps(rows, indent=2))


@cli.command()
def rewards() -> None:
    """List the registered rewards by name."""
    from fairguard.registry import reward_registrations

    for name, reg in sorted(reward_registrations().items()):
        click.echo(f"{name:<20} {reg.description}  [{reg.plugin}]")


@cli.command()
def filters() -> None:
    """List the registered filters by name."""
    from fairguard.registry import filter_registrations

    for name, reg in sorted(filter_registrations().items()):
        click.echo(f"{name:<20} {reg.description}  [{reg.plugin}]")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def models(as_json: bool) -> None:
    """List the embedded models available offline and where they live."""
    from fairguard.models import embedded_status

    rows = embedded_status()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']:<24} {row['kind']:<10} {row['status']}")
        click.echo(f"{'':<24} {row['description']} ({row['license']})")
        click.echo(f"{'':<24} {row['location']}")
    click.echo("Any local model folder, or a Hugging Face hub id when online, works too.")


def _add_groups() -> None:
    from fairguard.cli.data import data
    from fairguard.cli.demo import demo
    from fairguard.cli.eval import eval_group
    from fairguard.cli.export import export
    from fairguard.cli.score import score
    from fairguard.cli.serve import serve
    from fairguard.cli.train import train

    for command in (train, export, eval_group, data, score, serve, demo):
        cli.add_command(command)


def _add_plugin_commands() -> None:
    from fairguard.plugin_manager import load_plugins

    load_plugins().hook.register_commands(cli=cli)


_add_groups()
_add_plugin_commands()


def main() -> None:
    """Console-script entry point."""
    cli()
