import json
import subprocess
import sys

from click.testing import CliRunner

from fairguard.cli import cli


def test_help_does_not_import_torch():
    code = ("import sys; from fairguard.cli import cli\n"
            "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "assert 'transformers' not in sys.modules, 'transformers imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_command_groups_present():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for group in ("train", "export", "eval", "data", "plugins", "models"):
        assert group in result.output


def test_plugins_hides_builtins_without_all():
    runner = CliRunner()
    assert json.loads(runner.invoke(cli, ["plugins"]).output) == []
    rows = json.loads(runner.invoke(cli, ["plugins", "--all"]).output)
    by_name = {row["name"]: row for row in rows}
    assert by_name["gender_bias"]["hooks"] == ["register_rewards"]
    assert by_name["neutralize"]["hooks"] == ["register_filters"]


def test_models_lists_the_embedded():
    result = CliRunner().invoke(cli, ["models", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert {row["name"] for row in rows} == {"smollm2-135m-instruct", "minilm-l6", "mpnet-base"}
    assert all(row["status"].startswith("available") for row in rows)


def test_rewards_and_filters_listed():
    runner = CliRunner()
    assert "gender-bias" in runner.invoke(cli, ["rewards"]).output
    assert "neutralize" in runner.invoke(cli, ["filters"]).output
