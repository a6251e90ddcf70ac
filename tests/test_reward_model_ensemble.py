"""``fairguard train ensemble``: tiny reward models trained at two seeds combined into one judge
folder with thresholds calibrated for its combined scores, loaded wherever a reward model is."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from cross_judge_models import adapter_metadata, train_judge

import fairguard
from fairguard.cli import cli
from fairguard.errors import ArtifactError, ConfigError, DataError
from fairguard.evaluation.behaviour import calibrated_threshold
from fairguard.evaluation.cross_judge import (
    INDEPENDENT,
    TRAINING,
    judge_relation,
    training_judge,
)
from fairguard.guard import Guard
from fairguard.reward_model.calibrate import calibrate_thresholds
from fairguard.reward_model.ensemble import EnsembleConfig, build_ensemble, read_ensemble
from fairguard.reward_model.examples import build_examples, load_split
from fairguard.reward_model.truncation import cut_and_end

HEADS = ("fairness", "relevance", "fluency")
PROMPTS = ["who should we hire?"] * 3
ANSWERS = ["anyone skilled", "not the rural people, they are lazy", ""]


@pytest.fixture(scope="module")
def members(tmp_path_factory, tiny_deberta_dir):
    """Two tiny judges on the same data at seeds 0 and 1, and one on other data."""
    root = tmp_path_factory.mktemp("members")
    return {"a": train_judge(root, tiny_deberta_dir, "rm-a"),
            "b": train_judge(root, tiny_deberta_dir, "rm-b", seed=1),
            "other": train_judge(root, tiny_deberta_dir, "rm-other", data_seed=1)}


@pytest.fixture(scope="module")
def ensemble(members, tmp_path_factory):
    out = tmp_path_factory.mktemp("ens") / "ens"
    metrics = build_ensemble(EnsembleConfig(model=(str(members["a"]), str(members["b"])),
                                            out=str(out), dilution_cases=6, progress=False))
    return out, metrics


def _calibrated(folders, data, rate=0.02, combine="mean"):
    """Thresholds computed here from the public parts: the validation answers cut off as the
    first member was trained, scored by the list of folders, quantile of the good ones."""
    rows = cut_and_end(load_split(data, "val"), 0.5, 0.5, 0)
    examples = build_examples(rows, HEADS)
    reward = fairguard.get_reward("reward-model", path=[str(f) for f in folders], ensemble=combine)
    out = reward.score(examples.prompts, examples.responses)
    return calibrate_thresholds(examples, np.stack([out[h] for h in HEADS], axis=1), rate)["thresholds"]


def test_the_folder_holds_its_members_and_calibrated_thresholds(members, ensemble):
    out, metrics = ensemble
    meta = json.loads((out / "fairguard.json").read_text())
    assert meta["kind"] == "reward-ensemble" and meta["combine"] == "mean"
    assert meta["members"] == ["0-rm-a", "1-rm-b"] and meta["heads"] == list(HEADS)
    for name, source in zip(meta["members"], ("a", "b")):  # whole copies: the folder moves as one
        copied = out / "members" / name
        assert (copied / "model.safetensors").read_bytes() == (members[source] / "model.safetensors").read_bytes()
    data = members["a"].parent / "data-0-0"
    expected = _calibrated([members["a"], members["b"]], data)
    assert meta["thresholds"] == pytest.approx(expected, abs=1e-9)
    assert metrics["calibration"]["split"] == "val" and metrics["data"] == str(data)
    # the ensemble and each member on the test split, each at its own thresholds
    assert set(metrics["test"]["ensemble"]["heads"]) == set(HEADS) and len(metrics["test"]["members"]) == 2
    shipped = json.loads((members["b"] / "fairguard.json").read_text())["thresholds"]
    assert metrics["test"]["members"][1]["heads"]["fairness"]["threshold"] == pytest.approx(shipped["fairness"])
    assert 1 <= metrics["dilution"]["ensemble"]["cases"] <= 6 and len(metrics["dilution"]["members"]) == 2
    assert json.loads((out / "metrics.json").read_text())["thresholds"] == meta["thresholds"]


def test_one_member_recalibrates_at_another_false_flag_rate(members, tmp_path):
    build_ensemble(EnsembleConfig(model=(str(members["a"]),), out=str(tmp_path / "one"),
                                  false_flag_rate=0.25, dilution_cases=0, progress=False))
    got = read_ensemble(tmp_path / "one")
    assert got.thresholds == pytest.approx(
        _calibrated([members["a"]], members["a"].parent / "data-0-0", 0.25), abs=1e-9)


def test_loads_as_a_reward_model_with_its_thresholds(members, ensemble):
    out, _ = ensemble
    reward = fairguard.get_reward("reward-model", path=str(out))
    pair = fairguard.get_reward("reward-model", path=[str(members["a"]), str(members["b"])])
    got, want = reward.score(PROMPTS, ANSWERS), pair.score(PROMPTS, ANSWERS)
    for head in HEADS:
        np.testing.assert_allclose(got[head], want[head], atol=1e-6)
    assert reward.thresholds == read_ensemble(out).thresholds and pair.thresholds == {}
    assert reward.ensemble_folder == out and len(reward.scorers) == 2
    # a one-folder list (as --reward-model passes it) and a guard take them too
    assert fairguard.get_reward("reward-model", path=[str(out)]).thresholds == reward.thresholds
    guard = Guard.from_names("reward-model", reward_options={"reward-model": {"path": str(out)}})
    assert guard.thresholds == reward.thresholds
    assert calibrated_threshold(reward, "relevance") == (reward.thresholds["relevance"],
                                                         "fairguard.json thresholds")


def test_min_rule_is_kept_by_the_folder(members, tmp_path):
    out = tmp_path / "min"
    build_ensemble(EnsembleConfig(model=(str(members["a"]), str(members["b"])), out=str(out),
                                  combine="min", dilution_cases=0, progress=False))
    reward = fairguard.get_reward("reward-model", path=str(out), ensemble="mean")  # the folder's rule wins
    want = fairguard.get_reward("reward-model", path=[str(members["a"]), str(members["b"])],
                                ensemble="min").score(PROMPTS, ANSWERS)
    assert reward.ensemble == "min"
    np.testing.assert_allclose(reward.score(PROMPTS, ANSWERS)["fairness"], want["fairness"], atol=1e-6)


def test_cli_writes_the_ensemble(members, tmp_path):
    out = tmp_path / "cli"
    result = CliRunner().invoke(cli, ["train", "ensemble", "--model", str(members["a"]), "--model",
                                       str(members["b"]), "--out", str(out), "--dilution-cases", "4",
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    assert "2 members" in result.output and "ensemble thresholds" in result.output
    assert read_ensemble(out).combine == "mean"


def test_bad_input_is_a_clear_error_and_writes_nothing(members, ensemble, tmp_path):
    out, _ = ensemble
    a, b = str(members["a"]), str(members["b"])
    target = tmp_path / "x"
    with pytest.raises(ConfigError, match="ensemble already"):
        build_ensemble(EnsembleConfig(model=(str(out), a), out=str(target), progress=False))
    with pytest.raises(ArtifactError, match="already exists"):
        build_ensemble(EnsembleConfig(model=(a, b), out=str(out), progress=False))
    with pytest.raises(DataError, match="--data"):
        build_ensemble(EnsembleConfig(model=(a, b), out=str(target), data=str(tmp_path / "none"),
                                      progress=False))
    with pytest.raises(ConfigError, match="--model is missing"):
        EnsembleConfig(model=(), out=str(target))
    with pytest.raises(ConfigError, match="combine"):
        EnsembleConfig(model=(a,), out=str(target), combine="median")
    assert not target.exists()
    with pytest.raises(ConfigError, match="ensemble folder"):  # not inside a list of folders
        fairguard.get_reward("reward-model", path=[str(out), a])
    with pytest.raises(ArtifactError, match="ensemble of reward models"):
        from fairguard.reward_model.model import load_reward_model
        load_reward_model(out)
    from fairguard.export.onnx_export import export_onnx

    with pytest.raises(ArtifactError, match="export each of its members"):
        export_onnx(out, tmp_path / "onnx", progress=False)
    assert not (tmp_path / "onnx").exists()
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    shutil.rmtree(broken / "members" / "1-rm-b")
    with pytest.raises(ArtifactError, match="missing"):
        fairguard.get_reward("reward-model", path=str(broken))


def test_members_with_other_heads_are_refused(members, tmp_path, tiny_deberta_dir):
    from fairguard.reward_model.config import RewardTrainConfig
    from fairguard.reward_model.train import train_reward_model

    fair_only = tmp_path / "fair-only"
    train_reward_model(RewardTrainConfig(data=str(members["a"].parent / "data-0-0"), out=str(fair_only),
                                         backbone=str(tiny_deberta_dir), epochs=1, batch_size=4,
                                         heads="fairness", progress=False, dilution_cases=0))
    with pytest.raises(ConfigError, match="same heads"):
        build_ensemble(EnsembleConfig(model=(str(members["a"]), str(fair_only)),
                                      out=str(tmp_path / "x"), progress=False))


def test_members_from_other_data_are_warned_about(members, tmp_path, caplog):
    with caplog.at_level("WARNING", logger="fairguard"):
        build_ensemble(EnsembleConfig(model=(str(members["a"]), str(members["other"])),
                                      out=str(tmp_path / "mixed"), dilution_cases=0, progress=False))
    assert "trained on other data" in caplog.text and "rm-other" in caplog.text


def test_cross_judge_sees_through_an_ensemble_folder(members, ensemble, tmp_path):
    out, _ = ensemble
    # trained against the ensemble folder: a member, or its copy, is the training judge
    against = training_judge(adapter_metadata(tmp_path / "adapter", str(out)))
    assert len(against.members) == 2
    assert judge_relation(members["a"], against).kind == TRAINING
    assert judge_relation(members["other"], against).kind == INDEPENDENT
    # judged by the ensemble folder: as close as its closest member
    on_b = training_judge(adapter_metadata(tmp_path / "adapter-b", str(members["b"])))
    relation = judge_relation(out, on_b)
    assert relation.kind == TRAINING and relation.reason.startswith("its member 1-rm-b: ")
    on_other_seed = training_judge(adapter_metadata(tmp_path / "adapter-c", str(members["other"])))
    assert judge_relation(out, on_other_seed).kind == INDEPENDENT


def test_an_onnx_export_is_a_member_on_its_own_backend(members, tmp_path, tmp_path_factory):
    from onnx_export_data import shared_export  # the export tests' tiny int8 export

    _, export = shared_export(tmp_path_factory)
    out = tmp_path / "mixed"
    build_ensemble(EnsembleConfig(model=(str(export), str(members["a"])), out=str(out),
                                  data=str(members["a"].parent / "data-0-0"), dilution_cases=0,
                                  progress=False))
    reward = fairguard.get_reward("reward-model", path=str(out))
    assert [s.backend for s in reward.scorers] == ["onnx-int8", "torch"]
    assert (out / "members" / "0-onnx" / "model_int8.onnx").is_file()
    want = fairguard.get_reward("reward-model", path=[str(export), str(members["a"])])
    np.testing.assert_allclose(reward.score(PROMPTS, ANSWERS)["fairness"],
                               want.score(PROMPTS, ANSWERS)["fairness"], atol=1e-6)


def test_one_member_at_its_own_rate_gets_its_shipped_thresholds(members, tmp_path):
    build_ensemble(EnsembleConfig(model=(str(members["b"]),), out=str(tmp_path / "same"),
                                  dilution_cases=0, progress=False))
    shipped = json.loads((members["b"] / "fairguard.json").read_text())["thresholds"]
    assert read_ensemble(tmp_path / "same").thresholds == pytest.approx(shipped, abs=1e-6)


def test_shipped_thresholds_are_calibrated_on_what_the_scorers_read(members, tmp_path, tiny_deberta_dir):
    """Validation answers with disguised words: `train reward` calibrates on them read in their
    plain spelling, as every scorer reads them, so the shipped thresholds are the serving ones."""
    from fairguard.reward_model.config import RewardTrainConfig
    from fairguard.reward_model.train import train_reward_model

    data = tmp_path / "data"
    shutil.copytree(members["a"].parent / "data-0-0", data)
    rows = [json.loads(line) for line in (data / "val.jsonl").read_text().splitlines()]
    for row in rows:
        for kind in ("neutral", "biased"):
            row[kind] = row[kind].replace("experience", "3xp3ri3nc3").replace("people", "p e o p l e")
    (data / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    judge = tmp_path / "rm"
    train_reward_model(RewardTrainConfig(data=str(data), out=str(judge), backbone=str(tiny_deberta_dir),
                                         epochs=1, batch_size=4, progress=False, dilution_cases=0))
    shipped = json.loads((judge / "fairguard.json").read_text())["thresholds"]
    build_ensemble(EnsembleConfig(model=(str(judge),), out=str(tmp_path / "one"), dilution_cases=0,
                                  progress=False))
    assert read_ensemble(tmp_path / "one").thresholds == pytest.approx(shipped, abs=1e-6)


@pytest.mark.parametrize("option", [{"batch_size": 0}, {"dilution_cases": -1}, {"batch_size": True},
                                    {"false_flag_rate": 0.5}, {"backend": "tensorrt"}])
def test_bad_options_are_config_errors(option):
    with pytest.raises(ConfigError):
        EnsembleConfig(model=("a",), out="e", **option)
