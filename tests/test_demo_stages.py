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
                                          "data-independent", "judge-independent", "cross-judge",
                                          "behaviour", "refine-gender", "guard"]
    assert len({s.folder for s in stages}) == len(stages)


def test_rerun_skips_finished_stages_and_resumes_after_a_crash(tmp_path: Path, caplog) -> None:
    caplog.set_level("INFO", logger="fairguard.demo")
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
    out = caplog.text
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
    export = next(s for s in build_stages() if s.folder == "reward-onnx")
    (tmp_path / "reward-onnx").mkdir()
    (tmp_path / "reward-onnx" / "parity.json").write_text("{}")
    assert not export.done(config)  # exported, but the latency run did not finish
    calls: list[str] = []
    monkeypatch.setattr(stages_module, "_export", lambda cfg: calls.append("export onnx"))
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
def test_every_preset_section_builds_a_valid_config(tmp_path: Path, quick: bool) -> None:
    """The full preset cannot run in CI, so at least build every stage's config from it."""
    from fairguard.demo import stages as stages_module
    from fairguard.training.config import GRPOConfig

    for folder in ("judge-independent", "reward-model"):  # `eval quality` checks its judges exist
        (tmp_path / folder).mkdir()
    config = DemoConfig(out=tmp_path, quick=quick, seed=3)
    built = [stages_module.data_config(config), stages_module.reward_config(config),
             stages_module.export_config(config), stages_module.grpo_config(config),
             stages_module.judge_data_config(config), stages_module.judge_config(config),
             stages_module.quality_config(config, None, "base"),
             stages_module.behaviour_config(config), stages_module.refine_config(config)]
    assert [type(c).__name__ for c in built] == [
        "DataConfig", "RewardTrainConfig", "OnnxExportConfig", "GRPOConfig", "DataConfig",
        "RewardTrainConfig", "QualityEvalConfig", "BehaviourEvalConfig", "RefineConfig"]
    grpo = built[3]
    assert isinstance(grpo, GRPOConfig) and grpo.reward_model == str(tmp_path / "reward-model")
    assert built[1].out == str(tmp_path / "reward-model") and built[1].overwrite
    data, judge_data, judge = built[0], built[4], built[5]
    assert (data.seed, judge_data.seed) == (3, 4)  # the independent judge holds out other groups
    assert {k: v for k, v in vars(judge_data).items() if k != "seed"} == \
        {k: v for k, v in vars(data).items() if k != "seed"}
    assert judge.data == str(tmp_path / "data-independent") and judge.out == str(tmp_path / "judge-independent")
    quality, behaviour = built[6], built[7]
    assert quality.judge == (str(tmp_path / "judge-independent"), str(tmp_path / "reward-model"))
    assert quality.adapter is None and quality.split == "test" and not quality.sample
    assert quality.data == str(tmp_path / "data") and quality.out == str(tmp_path / "cross-judge" / "base")
    assert stages_module.quality_config(config, "A", "grpo-adapter").adapter == "A"
    assert behaviour.adapter == str(tmp_path / "grpo-adapter")
    assert behaviour.judge == str(tmp_path / "judge-independent") and behaviour.seed == 3
    preset = config.preset()
    latency, guard = preset["latency"], preset["guard"]
    assert latency["pairs"] >= 1 and latency["rounds"] >= 1 and latency["threads"] == 1
    assert guard["n"] >= 2 and guard["max_new_tokens"] >= 1


def test_quick_preset_keeps_the_tiny_budgets(tmp_path: Path) -> None:
    from fairguard.demo import stages as stages_module

    config = DemoConfig(out=tmp_path, quick=True)
    assert stages_module.data_config(config).n_prompts == 600
    reward = stages_module.reward_config(config)
    assert (reward.epochs, reward.learning_rate, reward.limit) == (1, 3e-4, 240)
    grpo = stages_module.grpo_config(config)
    assert (grpo.max_steps, grpo.num_generations, grpo.max_new_tokens) == (3, 2, 16)
    judge = stages_module.judge_config(config)  # the reward settings, fewer rows
    assert (judge.epochs, judge.learning_rate, judge.max_length, judge.limit) == (1, 3e-4, 96, 48)
    (tmp_path / "judge-independent").mkdir()
    (tmp_path / "reward-model").mkdir()
    assert stages_module.quality_config(config, None, "base").limit <= 8
    assert stages_module.behaviour_config(config).limit <= 4


def test_full_preset_judges_with_the_training_judges_recipe(tmp_path: Path) -> None:
    from dataclasses import asdict

    from fairguard.demo import stages as stages_module

    config = DemoConfig(out=tmp_path)
    ignore = {"data", "out"}
    reward, judge = (asdict(c) for c in (stages_module.reward_config(config),
                                         stages_module.judge_config(config)))
    assert {k: v for k, v in judge.items() if k not in ignore} == \
        {k: v for k, v in reward.items() if k not in ignore}
    (tmp_path / "judge-independent").mkdir()
    (tmp_path / "reward-model").mkdir()
    assert 50 <= stages_module.quality_config(config, None, "base").limit <= 200
    assert 10 <= stages_module.behaviour_config(config).limit <= 40


def test_cross_judge_stage_compares_both_sides_and_resumes(tmp_path: Path, monkeypatch) -> None:
    """The stage runs `eval quality` per side (here replaced by a writer of scored answers) and
    the real `eval compare`; a finished side is not redone on a resume."""
    import shutil

    from fairguard.evaluation import quality

    calls: list[str | None] = []

    def fake_quality_eval(cfg) -> dict:
        calls.append(cfg.adapter)
        folder = Path(cfg.out)
        folder.mkdir(parents=True)
        value = 0.5 if cfg.adapter is None else 0.75
        rows = [{"id": str(i), "category": "gender", "prompt": f"p{i}", "response": "r",
                 "judges": {Path(j).name: {"fairness": value + i / 10} for j in cfg.judge}}
                for i in range(2)]
        (folder / "responses.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (folder / "metrics.json").write_text(json.dumps({"judges": {
            "judge-independent": {"relation": "independent"},
            "reward-model": {"relation": "independent" if cfg.adapter is None else "training"}}}))
        return {}

    monkeypatch.setattr(quality, "run_quality_eval", fake_quality_eval)
    for folder in ("judge-independent", "reward-model"):
        (tmp_path / folder).mkdir()
    config = DemoConfig(out=tmp_path, quick=True)
    stage = next(s for s in build_stages() if s.folder == "cross-judge")
    assert not stage.done(config)
    stage.run(config)
    assert calls == [None, str(tmp_path / "grpo-adapter")] and stage.done(config)
    compare = json.loads((tmp_path / "cross-judge" / "compare" / "compare.json").read_text())
    assert list(compare["judges"]) == ["judge-independent", "reward-model"]
    assert compare["judges"]["reward-model"]["relation"] == "training"
    assert compare["judges"]["judge-independent"]["heads"]["fairness"]["change"] == pytest.approx(0.25)
    calls.clear()
    shutil.rmtree(tmp_path / "cross-judge" / "grpo-adapter")
    stage.run(config)  # resume: only the missing side
    assert calls == [str(tmp_path / "grpo-adapter")]


def test_a_preset_without_a_stage_section_is_a_config_error(monkeypatch) -> None:
    import yaml

    from fairguard.demo import config as config_module

    real = yaml.safe_load
    monkeypatch.setattr(yaml, "safe_load", lambda text: {k: v for k, v in real(text).items()
                                                         if k != "guard"})
    with pytest.raises(ConfigError, match="guard"):
        config_module.load_preset("quick")


def test_settings_file_goes_on_top_of_the_preset(tmp_path: Path) -> None:
    from fairguard.demo import stages as stages_module

    settings = tmp_path / "mine.yaml"
    settings.write_text("reward:\n  backbone: mpnet-base\n  seed: 5\nguard:\n  n: 3\n")
    config = DemoConfig(out=tmp_path / "run", quick=True, settings=settings)
    reward = stages_module.reward_config(config)
    # the mpnet recipe where the quick preset says nothing; the preset's own budget stays
    assert reward.backbone == "mpnet-base" and reward.epochs == 1 and reward.limit == 240
    assert stages_module.judge_config(config).backbone == "mpnet-base"  # the judge is `reward` + `judge`
    assert config.preset()["guard"]["n"] == 3
    assert DemoConfig(out=tmp_path / "run", quick=True).preset()["guard"]["n"] == 2
    full = stages_module.reward_config(DemoConfig(out=tmp_path / "run", settings=settings))
    assert (full.epochs, full.learning_rate) == (2, 1e-4)
    stages_module.check_settings(config)


@pytest.mark.parametrize("text, match", [
    ("reward: [1, 2]\n", "must map option names"),
    ("rewards:\n  backbone: mpnet-base\n", "unknown section.*rewards.*the stages are"),
    ("- reward\n", "must map stage names"),
    ("reward: {backbone: [\n", "not valid YAML"),
])
def test_bad_settings_file_fails_before_any_stage(tmp_path: Path, text: str, match: str) -> None:
    settings = tmp_path / "mine.yaml"
    settings.write_text(text)
    with pytest.raises(ConfigError, match=match):
        DemoConfig(out=tmp_path / "run", settings=settings)
    with pytest.raises(ConfigError, match="no such file"):
        DemoConfig(out=tmp_path / "run", settings=tmp_path / "missing.yaml")


@pytest.mark.parametrize("text, match", [
    ("reward:\n  backbones: mpnet-base\n", "section reward has no option.*backbones.*options.md"),
    ("guard:\n  candidates: 3\n", "section guard has no option.*candidates.*it takes max_new_tokens, n"),
])
def test_unknown_option_in_settings_stops_the_demo_before_any_stage(tmp_path: Path, text: str,
                                                                     match: str) -> None:
    settings = tmp_path / "mine.yaml"
    settings.write_text(text)
    calls: list[str] = []
    with pytest.raises(ConfigError, match=match):
        run_demo(DemoConfig(out=tmp_path / "run", quick=True, settings=settings), _stages(calls))
    assert calls == [] and not (tmp_path / "run").exists()
