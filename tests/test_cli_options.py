"""Click options made from config dataclasses (fairguard.cli.options): one option per field,
types and defaults from the dataclass, flags over YAML over defaults."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Literal

import click
import pytest
from click.testing import CliRunner

from fairguard.cli import cli
from fairguard.cli.options import config_file_option, options_from
from fairguard.config import build_config, config_options
from fairguard.data.config import DataConfig
from fairguard.demo.config import DemoConfig
from fairguard.evaluation.bbq import BBQEvalConfig
from fairguard.evaluation.behaviour import BehaviourEvalConfig
from fairguard.evaluation.everyday import EverydayEvalConfig
from fairguard.evaluation.judge import JudgeEvalConfig
from fairguard.evaluation.quality import QualityEvalConfig
from fairguard.export.config import OnnxExportConfig
from fairguard.guard.config import GuardConfig
from fairguard.refine.config import RefineConfig
from fairguard.reward_model.config import RewardTrainConfig
from fairguard.serve.config import ServeConfig
from fairguard.training.config import GRPOConfig

COMMAND_CONFIGS = [(("train", "grpo"), GRPOConfig), (("train", "reward"), RewardTrainConfig),
                   (("train", "refine"), RefineConfig), (("data", "build"), DataConfig),
                   (("export", "onnx"), OnnxExportConfig), (("demo",), DemoConfig),
                   (("serve",), ServeConfig), (("serve",), GuardConfig),
                   (("eval", "quality"), QualityEvalConfig), (("eval", "bbq"), BBQEvalConfig),
                   (("eval", "judge"), JudgeEvalConfig), (("eval", "everyday"), EverydayEvalConfig),
                   (("eval", "behaviour"), BehaviourEvalConfig)]


@dataclass
class _Inner:
    depth: int | None = field(default=None, metadata={"help": "How deep.", "default_text": "all"})


@dataclass
class _Toy:
    name: str = field(metadata={"help": "A name."})
    mode: Literal["fast", "slow"] = field(default="fast", metadata={"help": "Speed."})
    learning_rate: float = field(default=0.5, metadata={"help": "Step size.", "aliases": ("lr",)})
    eval: bool = field(default=True, metadata={"help": "Evaluate."})
    inner: _Inner = field(default_factory=_Inner)


@click.command()
@config_file_option
@options_from(_Toy)
def _toy(config_path, **options):
    click.echo(repr(build_config(_Toy, config_path, **options)))


def test_one_option_per_field_with_types_defaults_and_aliases() -> None:
    result = CliRunner().invoke(_toy, ["--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for expected in ("--name TEXT A name.", "--mode [fast|slow] Speed. [default: fast]",
                     "--learning-rate, --lr FLOAT Step size. [default: 0.5]",
                     "--eval / --no-eval Evaluate. [default: --eval]",
                     "--depth INTEGER How deep. [default: all]"):
        assert expected in text


def test_flags_override_yaml_which_overrides_defaults(tmp_path) -> None:
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text("name: a\nlr: 0.25\ninner:\n  depth: 3\nmode: slow\n")
    result = CliRunner().invoke(_toy, ["--config", str(yaml_file), "--mode", "fast", "--no-eval"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == repr(_Toy(name="a", mode="fast", learning_rate=0.25, eval=False,
                                               inner=_Inner(depth=3)))
    bad = CliRunner().invoke(_toy, ["--name", "a", "--mode", "medium"])
    assert bad.exit_code == 2 and "medium" in bad.output
    folder = CliRunner().invoke(_toy, ["--config", str(tmp_path)])
    assert folder.exit_code == 2 and "is a directory" in folder.output


@pytest.mark.parametrize("words, cls", COMMAND_CONFIGS)
def test_every_command_offers_every_option_of_its_config(words, cls) -> None:
    result = CliRunner().invoke(cli, [*words, "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in config_options(cls):
        if option.field.metadata.get("cli", True):
            assert f"--{option.name.replace('_', '-')}" in result.output, option.name


@pytest.mark.parametrize("cls", [cls for _, cls in COMMAND_CONFIGS])
def test_help_is_said_once_in_the_dataclass(cls) -> None:
    """Every option has help text, and no help text repeats a default by hand ("[40]")."""
    for option in config_options(cls):
        assert option.help, f"{cls.__name__}.{option.name} has no help"
        typed = re.search(r"\[[^\]]*\]\.?$", option.help) or "[default" in option.help
        assert not typed, f"{cls.__name__}.{option.name}: give the default in the field, not the help"


def test_diffusion_flags_are_unchanged_and_cfg_scale_is_gone() -> None:
    result = CliRunner().invoke(cli, ["train", "grpo", "--help"], terminal_width=200)
    for flag in ("--diffusion-steps", "--block-length", "--remasking", "--diffusion-logprob",
                 "--mask-token-id", "--trust-remote-code", "--lr", "--reward "):
        assert flag in result.output
    assert "--cfg-scale" not in result.output
    assert {f.name for f in dataclasses.fields(GRPOConfig)} >= {"diffusion", "learning_rate"}


def test_the_options_page_matches_the_code() -> None:
    """docs/options.md is generated from the configs; regenerate it when an option changes."""
    from pathlib import Path

    from fairguard.cli.options import REGENERATE, documented_commands, options_markdown

    page = Path(__file__).resolve().parents[1] / "docs" / "options.md"
    assert page.read_text(encoding="utf-8") == options_markdown(documented_commands()), \
        f"docs/options.md is out of date; run: {REGENERATE}"


@dataclass(kw_only=True)
class _Named:
    folder: str = field(metadata={"help": "A folder.", "argument": True, "folder": True})
    n_rows: int = field(default=2, metadata={"help": "Rows.", "flag": "-n"})
    items: tuple[str, ...] = field(default=(), metadata={"help": "An item.", "flag": "--item",
                                                         "multiple": True})
    force: bool = field(default=False, metadata={"help": "Force.", "flag": "--force"})


@click.command()
@options_from(_Named)
@config_file_option
def _named(config_path, **options):
    click.echo(repr(build_config(_Named, config_path, **options)))


def test_arguments_named_flags_and_on_only_flags(tmp_path) -> None:
    text = " ".join(CliRunner().invoke(_named, ["--help"]).output.split())
    assert "[OPTIONS] FOLDER" in text and "-n INTEGER Rows. [default: 2]" in text
    assert "--force Force." in text and "--no-force" not in text and "--n-rows" not in text
    result = CliRunner().invoke(_named, [str(tmp_path), "-n", "3", "--item", "a", "--item", "b", "--force"])
    assert result.output.strip() == repr(_Named(folder=str(tmp_path), n_rows=3, items=("a", "b"), force=True))
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text("n_rows: 5\nforce: true\n")
    result = CliRunner().invoke(_named, [str(tmp_path), "--config", str(yaml_file)])
    assert result.output.strip() == repr(_Named(folder=str(tmp_path), n_rows=5, force=True))
    a_file = tmp_path / "c.yaml"
    assert CliRunner().invoke(_named, [str(a_file)]).exit_code == 2  # a file, not a folder
    assert CliRunner().invoke(_named, []).exit_code == 2  # the argument is required
    from fairguard.cli.options import options_markdown

    page = options_markdown([("named", _Named)])
    assert "| `FOLDER` (argument) | `folder` | required |" in page and "| `-n` | `n_rows` | 2 |" in page
    assert "| `--force` | `force` | false |" in page
