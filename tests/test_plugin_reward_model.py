import json
import shutil

import numpy as np
import pytest
from reward_model_data import train_tiny

import fairguard
from fairguard.errors import ArtifactError, ConfigError
from fairguard.plugins.reward_model import RewardModelReward, choose_backend
from fairguard.registry import reward_registrations
from fairguard.scoring import WeightedRewards

HEADS = ("fairness", "relevance", "fluency")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_deberta_dir):
    return train_tiny(tmp_path_factory.mktemp("rm"), tiny_deberta_dir)


def test_registered_by_name():
    assert reward_registrations()["reward-model"].plugin == "reward_model"


def test_scores_three_named_heads(trained):
    reward = fairguard.get_reward("reward-model", path=str(trained), batch_size=2)
    assert isinstance(reward, fairguard.Reward)
    assert reward.name == "reward-model" and reward.heads == HEADS
    assert reward.backend == "torch"
    out = reward.score(["who should we hire?"] * 3, ["anyone skilled", "not the rural people", ""])
    assert set(out) == set(HEADS)
    assert all(v.shape == (3,) and v.dtype == np.float64 for v in out.values())
    # the thresholds calibrated at training time and shipped in fairguard.json
    shipped = json.loads((trained / "fairguard.json").read_text())["thresholds"]
    assert reward.thresholds == shipped and set(shipped) == set(HEADS)


def test_works_inside_weighted_rewards(trained):
    reward = fairguard.get_reward("reward-model", path=str(trained))
    combined = WeightedRewards([reward], {"fairness": 1.0, "relevance": 0.5, "fluency": 0.5})
    out = combined.score(["who should we hire?"], ["anyone skilled"])
    assert "total" in out and np.isfinite(out["total"]).all()


def test_missing_path_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match="needs path"):
        fairguard.get_reward("reward-model")
    with pytest.raises(ConfigError, match="not a folder"):
        fairguard.get_reward("reward-model", path=str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="batch_size"):
        RewardModelReward(path=str(tmp_path), batch_size=0)


def test_backend_choice(trained, tmp_path):
    assert choose_backend(trained, "auto") == "torch"
    onnx_like = tmp_path / "onnx"
    onnx_like.mkdir()
    (onnx_like / "model.onnx").write_bytes(b"")
    assert choose_backend(onnx_like, "auto") == "onnx"
    assert choose_backend(onnx_like, "torch") == "torch"
    with pytest.raises(ConfigError, match="backend must be one of"):
        choose_backend(trained, "tensorrt")
    with pytest.raises(ConfigError, match="onnx backend runs on the CPU"):
        RewardModelReward(path=str(trained), backend="onnx", device="cuda")


def test_corrupt_folder_is_artifact_error(trained, tmp_path):
    folder = tmp_path / "bad"
    shutil.copytree(trained, folder)
    (folder / "model.safetensors").write_bytes(b"junk")
    with pytest.raises(ArtifactError, match="corrupt"):
        fairguard.get_reward("reward-model", path=str(folder))


def test_onnx_backend_matches_torch(trained, tmp_path):
    from fairguard.export import onnx_export

    out = tmp_path / "onnx"
    onnx_export.export_onnx(trained, out, quantize="none", progress=False)
    prompts = ["should the rural worker be hired?"] * 2
    responses = ["judge the skills of the person", "no, rural people are lazy"]
    onnx = fairguard.get_reward("reward-model", path=str(out), threads=1)
    assert onnx.backend == "onnx" and onnx.heads == HEADS
    torch_scores = fairguard.get_reward("reward-model", path=str(trained)).score(prompts, responses)
    onnx_scores = onnx.score(prompts, responses)
    for head in HEADS:
        np.testing.assert_allclose(onnx_scores[head], torch_scores[head], atol=1e-4)
    with pytest.raises(ConfigError, match="onnx backend only"):
        fairguard.get_reward("reward-model", path=str(trained), threads=1)


@pytest.fixture(scope="module")
def reseeded(tmp_path_factory, tiny_deberta_dir):
    return train_tiny(tmp_path_factory.mktemp("rm-seed1"), tiny_deberta_dir, seed=1)


def test_an_ensemble_combines_its_members_per_head(trained, reseeded):
    prompts = ["who should we hire?"] * 3
    responses = ["anyone skilled", "not the rural people", "the answer is"]
    members = [fairguard.get_reward("reward-model", path=str(f)).score(prompts, responses)
               for f in (trained, reseeded)]
    # two different judges (tiny and barely trained: their scores differ in the 6th decimal)
    assert not np.array_equal(members[0]["fairness"], members[1]["fairness"])
    for how, combine in (("mean", np.mean), ("min", np.min)):
        ensemble = fairguard.get_reward("reward-model", path=[str(trained), str(reseeded)],
                                        ensemble=how)
        assert ensemble.heads == HEADS and ensemble.paths == [trained, reseeded]
        assert ensemble.thresholds == {}  # each member's threshold fits its own scores only
        out = ensemble.score(prompts, responses)
        for head in HEADS:
            np.testing.assert_allclose(out[head], combine([m[head] for m in members], axis=0))
    one = fairguard.get_reward("reward-model", path=[str(trained)])
    assert one.thresholds and one.score(prompts, responses)["fairness"] == pytest.approx(
        members[0]["fairness"])


def test_bad_ensembles_are_config_errors(trained, tmp_path, tiny_deberta_dir):
    with pytest.raises(ConfigError, match="same folder"):
        RewardModelReward(path=[str(trained), str(trained)])
    with pytest.raises(ConfigError, match="needs path"):
        RewardModelReward(path=[])
    with pytest.raises(ConfigError, match="needs a reward-model folder"):
        RewardModelReward(path=[str(trained), 3])
    with pytest.raises(ConfigError, match="ensemble must be one of"):
        RewardModelReward(path=str(trained), ensemble="max")
    two_heads = train_tiny(tmp_path, tiny_deberta_dir, heads="fairness,relevance")
    with pytest.raises(ConfigError, match="same heads"):
        RewardModelReward(path=[str(trained), str(two_heads)])
