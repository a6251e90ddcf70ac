import json

import pytest
from click.testing import CliRunner
from reward_model_data import train_tiny

from fairguard.cli import cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_deberta_dir):
    return train_tiny(tmp_path_factory.mktemp("rm"), tiny_deberta_dir)


def test_table_and_json(trained):
    runner = CliRunner()
    args = ["score", "--model", str(trained), "--prompt", "Should we hire the rural worker?",
            "--response", "Judge the skills.", "--response", "No, rural people are lazy."]
    table = runner.invoke(cli, args)
    assert table.exit_code == 0, table.output
    lines = table.output.strip().splitlines()
    assert lines[0].split()[:3] == ["fairness", "relevance", "fluency"] and len(lines) == 3
    result = runner.invoke(cli, args + ["--json"])
    data = json.loads(result.output)
    assert data["heads"] == ["fairness", "relevance", "fluency"] and len(data["results"]) == 2
    for row in data["results"]:
        assert 0 <= row["fairness"] <= 1 and isinstance(row["flags"], list)


def test_errors(tmp_path, trained):
    runner = CliRunner()
    result = runner.invoke(cli, ["score", "--model", str(tmp_path / "none"), "--prompt", "p",
                                 "--response", "r"])
    assert result.exit_code == 1 and "not a folder" in result.output
    result = runner.invoke(cli, ["score", "--model", str(trained), "--prompt", " ", "--response", "r"])
    assert result.exit_code == 1 and "empty" in result.output
