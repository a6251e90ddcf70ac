import json

from click.testing import CliRunner

from fairguard.cli import cli


def test_build_show_and_refuse_overwrite(tmp_path):
    out = tmp_path / "d"
    runner = CliRunner()
    result = runner.invoke(cli, ["data", "build", "--out", str(out), "--seed", "2", "--size", "80"])
    assert result.exit_code == 0, result.output
    assert "train" in result.output and "fingerprint" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 2 and manifest["n_prompts"] == 80
    first = (out / "train.jsonl").read_bytes()

    again = runner.invoke(cli, ["data", "build", "--out", str(out), "--size", "80"])
    assert again.exit_code == 1
    assert "already exists" in again.output and "--overwrite" in again.output
    assert (out / "train.jsonl").read_bytes() == first

    over = runner.invoke(cli, ["data", "build", "--out", str(out), "--size", "80", "--seed", "9",
                               "--overwrite"])
    assert over.exit_code == 0, over.output
    assert (out / "train.jsonl").read_bytes() != first

    shown = runner.invoke(cli, ["data", "show", str(out), "-n", "1"])
    assert shown.exit_code == 0, shown.output
    assert "neutral" in shown.output and "unqover/train" in shown.output


def test_build_config_yaml_and_errors(tmp_path):
    runner = CliRunner()
    cfg = tmp_path / "c.yaml"
    cfg.write_text("seed: 4\nsize: 70\nunqover: false\n")
    out = tmp_path / "d"
    result = runner.invoke(cli, ["data", "build", "--out", str(out), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 4 and manifest["n_prompts"] == 70
    assert not (out / "unqover").exists()

    bad = runner.invoke(cli, ["data", "build", "--out", str(tmp_path / "e"), "--size", "huge"])
    assert bad.exit_code == 1 and "--size" in bad.output
    assert not (tmp_path / "e").exists()
    cfg.write_text("sead: 4\n")
    bad = runner.invoke(cli, ["data", "build", "--out", str(tmp_path / "e"), "--config", str(cfg)])
    assert bad.exit_code == 1 and "unknown option" in bad.output


def test_show_errors(tmp_path):
    result = CliRunner().invoke(cli, ["data", "show", str(tmp_path)])
    assert result.exit_code == 1 and "manifest.json" in result.output
