"""One test per hook: a plugin object implementing it is picked up through the real manager."""

import click
import numpy as np
import pytest
from click.testing import CliRunner

import fairguard
from fairguard import hookspecs
from fairguard.plugin_manager import load_plugins, register_plugin, unregister_plugin


class _Echo:
    name = "echo-length"
    heads = ("echo-length",)

    def score(self, prompts, completions):
        return {"echo-length": np.array([float(len(c)) for c in completions])}


class _Upper(fairguard.BaseFilter):
    name = "upper"

    def rewrite(self, prompts, completions):
        return [c.upper() for c in completions]


class _Plugin:
    @fairguard.hookimpl
    def register_rewards(self, register):
        register("echo-length", _Echo, "length of the completion")

    @fairguard.hookimpl
    def register_filters(self, register):
        register("upper", _Upper, "upper-cases the completion")

    @fairguard.hookimpl
    def register_commands(self, cli):
        @cli.command(name="hello-plugin")
        def hello():
            click.echo("hello from a plugin")


@pytest.fixture
def plugin():
    register_plugin(_Plugin(), name="test-plugin")
    yield
    unregister_plugin("test-plugin")


def test_hookspecs_are_the_documented_three():
    names = sorted(n for n in dir(hookspecs) if n.startswith("register_"))
    assert names == ["register_commands", "register_filters", "register_rewards"]


def test_hook_register_rewards(plugin):
    reward = fairguard.get_reward("echo-length")
    assert reward.score(["p"], ["abc"])["echo-length"].tolist() == [3.0]


def test_hook_register_filters(plugin):
    flt = fairguard.get_filter("upper")
    assert flt.rewrite(["p"], ["abc"]) == ["ABC"]
    assert flt.logits_processor(None) is None


def test_hook_register_commands(plugin):
    group = click.Group("root")
    load_plugins().hook.register_commands(cli=group)
    result = CliRunner().invoke(group, ["hello-plugin"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello from a plugin\n"
