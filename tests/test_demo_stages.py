"""The demo's stage list and resume logic (stages whose artifact exists are skipped); no models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fairguard.demo import DemoConfig, Stage, build_stages, run_demo
from fairguard.errors import ConfigError


def _stages(calls: list[str], fail_at: str | None = None) -> list[Stage]:
    def make(name: str) -> Stage:
        def run(config: DemoConfig) -> None:
            calls.append(name)
            if name == fail_at:
                raise RuntimeError("crash")
            folder = config.out / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "done.json").write_text("{}")
        return Stage(name, name, "done.json", run)
    return [make(n) for n in ("a", "b", "c")]


def test_build_stages_order_and_folders() -> None:
    stages = build_stages()
    assert [s.folder for s in stages] == ["data", "reward-model", "reward-onnx", "grpo-adapter",
                                          "refine-gender", "guard"]
    assert len({s.folder for s in stages}) == len(stages)


def test_rerun_skips_finished_stages_and_resumes_after_a_crash(tmp_path: Path, capsys) -> None:
    config = DemoConfig(out=tmp_path / "demo", quick=True)
    calls: list[str] = []
    with pytest.raises(RuntimeError):
        run_demo(config, _stages(calls, fail_at="b"))
    assert calls == ["a", "b"] and not (config.out / "report.md").exists()
    calls.clear()
    report = run_demo(config, _stages(calls))
    assert calls == ["b", "c"]
    assert report.is_file() and "Not available" in report.read_text()
    assert set(json.loads((config.out / "timings.json").read_text())) == {"a", "b", "c"}
    out = capsys.readouterr().out
    assert "[stage 1/3] a: done already" in out and "[stage 3/3] c: finished" in out
    calls.clear()
    run_demo(config, _stages(calls))
    assert calls == []


def test_overwrite_reruns_every_stage(tmp_path: Path) -> None:
    calls: list[str] = []
    run_demo(DemoConfig(out=tmp_path / "demo"), _stages(calls))
    calls.clear()
    run_demo(DemoConfig(out=tmp_path / "demo", overwrite=True), _stages(calls))
    assert calls == ["a", "b", "c"]


def test_real_stage_is_done_only_with_its_marker(tmp_path: Path) -> None:
    config = DemoConfig(out=tmp_path)
    data = build_stages()[0]
    (tmp_path / "data").mkdir()
    assert not data.done(config)
    (tmp_path / "data" / "manifest.json").write_text("{}")
    assert data.done(config)


def test_export_stage_needs_the_latency_file_too(tmp_path: Path, monkeypatch) -> None:
    from fairguard.demo import stages as stages_module

    config = DemoConfig(out=tmp_path, quick=True)
    export = build_stages()[2]
    (tmp_path / "reward-onnx").mkdir()
    (tmp_path / "reward-onnx" / "parity.json").write_text("{}")
    assert not export.done(config)  # exported, but the latency run did not finish
    calls: list[str] = []
    monkeypatch.setattr(stages_module, "_cli", lambda args: calls.append(" ".join(args[:2])))
    monkeypatch.setattr(stages_module, "_latency", lambda cfg: calls.append("latency"))
    export.run(config)
    assert calls == ["latency"]  # resume: the finished export is not redone
    calls.clear()
    export.run(DemoConfig(out=tmp_path, quick=True, overwrite=True))
    assert calls == ["export onnx", "latency"]
    (tmp_path / "latency.json").write_text("{}")
    assert export.done(config)


def test_negative_seed_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--seed"):
        DemoConfig(seed=-1)


@pytest.mark.parametrize("quick", [True, False])
def test_every_stage_passes_options_its_command_accepts(tmp_path: Path, monkeypatch, quick: bool) -> None:
    """The full settings cannot run in CI, so at least parse them with the real commands."""
    import click

    from fairguard.cli import cli
    from fairguard.demo import stages as stages_module

    parsed: list[str] = []

    def parse(args: list[str]) -> None:
        ctx, cmd, rest = click.Context(cli), cli, list(args)
        while isinstance(cmd, click.Group):
            name, cmd, rest = cmd.resolve_command(ctx, rest)
            ctx = click.Context(cmd, parent=ctx, info_name=name)
        cmd.make_context(name, rest)  # raises click.UsageError on an unknown or bad option
        parsed.append(" ".join(args[:2]))

    monkeypatch.setattr(stages_module, "_cli", parse)
    monkeypatch.setattr(stages_module, "_latency", lambda cfg: parsed.append("latency"))
    config = DemoConfig(out=tmp_path, quick=quick)
    for stage in build_stages()[:-1]:  # the last stage calls the guard library, not a command
        stage.run(config)
    assert parsed == ["data build", "train reward", "export onnx", "latency", "train grpo",
                      "train refine"]
    mode = "quick" if quick else "full"
    n_pairs, rounds, threads = (int(v) for v in stages_module.SETTINGS["latency"][mode])
    assert n_pairs >= 1 and rounds >= 1 and threads == 1
