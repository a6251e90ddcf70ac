import json

import pytest
from onnx_export_data import HEADS, shared_export

from fairguard.errors import ArtifactError
from fairguard.export.source import load_reward_source, max_length_of, thresholds_of


def test_loads_reward_folder(tmp_path_factory):
    source = load_reward_source(shared_export(tmp_path_factory)[0])
    assert source.heads == HEADS
    assert source.thresholds == {h: 0.5 for h in HEADS}
    assert source.max_length == 64
    assert not source.model.training


def test_heads_that_disagree_with_config(tmp_path_factory, tmp_path):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(shared_export(tmp_path_factory)[0], folder)
    meta = json.loads((folder / "fairguard.json").read_text())
    (folder / "fairguard.json").write_text(json.dumps(dict(meta, heads=["fairness", "x", "y"])))
    with pytest.raises(ArtifactError, match="do not match"):
        load_reward_source(folder)


def test_metadata_values_checked():
    assert thresholds_of({"thresholds": {"fairness": 0.7}}, ["fairness", "fluency"]) == \
        {"fairness": 0.7, "fluency": 0.5}
    with pytest.raises(ArtifactError, match="threshold"):
        thresholds_of({"thresholds": {"fairness": 1.5}}, ["fairness"])
    assert max_length_of({}) == 256
    with pytest.raises(ArtifactError, match="max_length"):
        max_length_of({"max_length": "long"})


def test_file_instead_of_folder(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ArtifactError, match="is a file"):
        load_reward_source(tmp_path / "f")
