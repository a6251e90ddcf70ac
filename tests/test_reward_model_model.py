import json

import pytest
from reward_model_data import train_tiny

from fairguard.errors import ArtifactError, ModelNotFoundError
from fairguard.reward_model.model import build_reward_model, label_config, load_reward_model

HEADS = ["fairness", "relevance", "fluency"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_deberta_dir):
    return train_tiny(tmp_path_factory.mktemp("rm"), tiny_deberta_dir)


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_label_config():
    cfg = label_config(["fairness", "fluency"])
    assert cfg["num_labels"] == 2 and cfg["id2label"] == {0: "fairness", 1: "fluency"}
    assert cfg["problem_type"] == "multi_label_classification"


def test_build_sets_heads_on_any_backbone(tiny_deberta_dir, tiny_masked_lm_dir):
    model, tokenizer, _ = build_reward_model(str(tiny_deberta_dir), ["fluency", "fairness"])
    assert model.config.id2label == {0: "fluency", 1: "fairness"}
    assert model.config.problem_type == "multi_label_classification"
    bert, _, _ = build_reward_model(str(tiny_masked_lm_dir), HEADS)  # a BERT encoder folder
    assert bert.config.num_labels == 3 and type(bert).__name__ == "BertForSequenceClassification"


def test_build_errors(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        build_reward_model(str(tmp_path), HEADS)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    with pytest.raises(ModelNotFoundError, match="could not load"):
        build_reward_model(str(bad), HEADS)


def test_folder_loads_with_plain_transformers(trained):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(trained)
    AutoTokenizer.from_pretrained(trained)
    assert [model.config.id2label[i] for i in range(3)] == HEADS
    assert model.config.problem_type == "multi_label_classification"
    loaded = load_reward_model(trained)
    assert loaded.heads == tuple(HEADS)
    assert loaded.thresholds == loaded.metadata["thresholds"]  # calibrated at training time
    assert set(loaded.thresholds) == set(HEADS)
    assert loaded.max_length == loaded.metadata["max_length"]
    assert not loaded.model.training


def test_missing_folder(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist.*fairguard train reward"):
        load_reward_model(tmp_path / "nope")


def test_missing_or_wrong_metadata(trained, tmp_path):
    folder = _copy(trained, tmp_path / "m")
    meta = json.loads((folder / "fairguard.json").read_text())
    (folder / "fairguard.json").write_text(json.dumps(dict(meta, kind="refine-layer")))
    with pytest.raises(ArtifactError, match="expected 'reward-model'"):
        load_reward_model(folder)
    (folder / "fairguard.json").unlink()
    with pytest.raises(ArtifactError, match="no fairguard.json"):
        load_reward_model(folder)


def test_mismatched_heads(trained, tmp_path):
    folder = _copy(trained, tmp_path / "m")
    meta = json.loads((folder / "fairguard.json").read_text())
    (folder / "fairguard.json").write_text(json.dumps(dict(meta, heads=["fluency", "relevance", "fairness"])))
    with pytest.raises(ArtifactError, match="do not match config.json id2label"):
        load_reward_model(folder)


def test_corrupt_weights_config_and_tokenizer(trained, tmp_path):
    folder = _copy(trained, tmp_path / "w")
    (folder / "model.safetensors").write_bytes(b"garbage" * 10)
    with pytest.raises(ArtifactError, match="weights or config are corrupt"):
        load_reward_model(folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ArtifactError, match="no model.safetensors"):
        load_reward_model(folder)
    folder = _copy(trained, tmp_path / "c")
    (folder / "config.json").write_text("{")
    with pytest.raises(ArtifactError, match="config.json is corrupt"):
        load_reward_model(folder)
    folder = _copy(trained, tmp_path / "t")
    (folder / "tokenizer.json").write_text("{")
    with pytest.raises(ArtifactError, match="tokenizer"):
        load_reward_model(folder)
