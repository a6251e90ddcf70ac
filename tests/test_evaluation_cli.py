"""The ``fairguard eval`` group: its commands and the hook point for UnQover/REFINE commands."""

from __future__ import annotations

import click
from click.testing import CliRunner

from fairguard.cli import cli
from fairguard.cli.eval import add_unqover_commands


def test_eval_commands_listed():
    result = CliRunner().invoke(cli, ["eval", "--help"])
    assert result.exit_code == 0
    assert "quality" in result.output and "bbq" in result.output


def test_add_unqover_commands_attaches_by_import_path():
    group = click.Group("g")
    add_unqover_commands(group, ("fairguard.cli.eval:bbq",))
    assert "bbq" in group.commands


def test_quality_help_shows_options():
    result = CliRunner().invoke(cli, ["eval", "quality", "--help"])
    assert result.exit_code == 0
    for option in ("--adapter", "--reward-model", "--reward", "--fluency-proxy", "--limit", "--split"):
        assert option in result.output
