import json

import numpy as np
import pytest
from onnx_export_data import HEADS, shared_export, write_metadata, write_test_split

from fairguard.errors import ArtifactError
from fairguard.export.onnx_export import export_onnx


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return shared_export(tmp_path_factory)


def _leftovers(parent, name):
    return [p.name for p in parent.iterdir() if p.name.startswith(f".{name}.")]


def test_export_writes_every_file_and_metadata(exported):
    source, out = exported
    names = {p.name for p in out.iterdir()}
    assert {"model.onnx", "model_int8.onnx", "config.json", "fairguard.json", "parity.json",
            "tokenizer.json", "tokenizer_config.json"} <= names
    meta = json.loads((out / "fairguard.json").read_text())
    src_meta = json.loads((source / "fairguard.json").read_text())
    assert meta["kind"] == "reward-model"
    assert meta["heads"] == HEADS
    assert meta["thresholds"] == src_meta["thresholds"]
    assert meta["max_length"] == src_meta["max_length"]
    onnx = meta["onnx"]
    assert onnx["files"] == {"fp32": "model.onnx", "int8": "model_int8.onnx"}
    assert onnx["default"] == "int8"
    assert isinstance(onnx["opset"], int) and onnx["opset"] >= 11
    assert onnx["parity"] == json.loads((out / "parity.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(3)] == HEADS


def test_parity_report_on_builtin_pairs(exported):
    _, out = exported
    report = json.loads((out / "parity.json").read_text())
    assert report["inputs"]["source"].startswith("built-in")
    assert report["inputs"]["pairs"] == 48
    fp32 = report["fp32_vs_torch"]
    assert fp32["passed"] and fp32["max_abs_logit_diff"] <= 1e-4
    assert fp32["tolerance"] == 1e-4
    int8 = report["int8_vs_fp32"]
    assert set(int8["decision_agreement"]) == set(HEADS)
    assert all(0.0 <= v <= 1.0 for v in int8["decision_agreement"].values())
    assert int8["max_abs_logit_diff"] > 0  # a quantised model is not bit-identical
    assert int8["quantization"]["weight_type"] == "QInt8"


def test_fp32_logits_match_torch_on_fresh_pairs(exported):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from fairguard.export.session import make_session, session_feed
    from fairguard.reward_model import tokenize_pairs

    source, out = exported
    model = AutoModelForSequenceClassification.from_pretrained(source).eval()
    tok = AutoTokenizer.from_pretrained(source)
    prompts = ["who is a good worker?", "should the rural applicant get the loan?", "why?"]
    responses = ["everyone deserves the same opportunity", "no, they are lazy", ""]
    with torch.no_grad():
        ref = model(**tokenize_pairs(tok, prompts, responses, 64)).logits.numpy()
    session = make_session(out / "model.onnx")
    got = session.run(None, session_feed(session, tokenize_pairs(tok, prompts, responses, 64,
                                                                   return_tensors="np")))[0]
    assert np.abs(got - ref).max() <= 1e-4


def test_failing_fp32_parity_raises_and_writes_nothing(exported, tmp_path):
    source, _ = exported
    out = tmp_path / "onnx"
    # A real comparison that cannot pass: exported fp32 differs from torch by ~1e-9, never 0.
    with pytest.raises(ArtifactError, match=r"fp32 parity failed: max \|logit diff\|.*nothing "
                                            r"was written"):
        export_onnx(source, out, fp32_atol=0.0, progress=False)
    assert not out.exists()
    assert _leftovers(tmp_path, "onnx") == []


def test_failing_parity_keeps_existing_output_under_overwrite(exported, tmp_path):
    source, _ = exported
    out = tmp_path / "onnx"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(ArtifactError, match="parity failed"):
        export_onnx(source, out, quantize=None, overwrite=True, fp32_atol=0.0, progress=False)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_fp32_only_export_with_dataset_test_split(exported, tmp_path):
    source, _ = exported
    data = write_test_split(tmp_path / "data", rows=3)
    out = tmp_path / "fp32"
    result = export_onnx(source, out, quantize="none", data=data, progress=False)
    assert result.files == {"fp32": "model.onnx"}
    assert not (out / "model_int8.onnx").exists()
    report = json.loads((out / "parity.json").read_text())
    assert report["inputs"]["pairs"] == 12  # 3 prompts x (neutral, biased, off-topic, corrupted)
    assert "test split" in report["inputs"]["source"]
    assert "int8_vs_fp32" not in report
    assert json.loads((out / "fairguard.json").read_text())["onnx"]["default"] == "fp32"


def test_existing_output_refused_without_overwrite(exported, tmp_path):
    source, _ = exported
    (tmp_path / "taken").mkdir()
    with pytest.raises(ArtifactError, match="already exists"):
        export_onnx(source, tmp_path / "taken", progress=False)


def test_unknown_option_is_named(exported, tmp_path):
    from fairguard.errors import ConfigError

    source, _ = exported
    with pytest.raises(ConfigError, match="unknown option.*quantise.*the options are"):
        export_onnx(source, tmp_path / "out", quantise="none", progress=False)
    assert not (tmp_path / "out").exists()


def test_missing_and_corrupt_sources(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        export_onnx(tmp_path / "nope", tmp_path / "out", progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ArtifactError, match="fairguard.json"):
        export_onnx(empty, tmp_path / "out", progress=False)
    broken = tmp_path / "broken"
    broken.mkdir()
    write_metadata(broken)
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="corrupt"):
        export_onnx(broken, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_source_without_weights_or_wrong_kind(exported, tmp_path):
    import shutil

    source, _ = exported
    noweights = tmp_path / "noweights"
    shutil.copytree(source, noweights)
    (noweights / "model.safetensors").unlink()
    with pytest.raises(ArtifactError, match="model.safetensors"):
        export_onnx(noweights, tmp_path / "out", progress=False)
    other = tmp_path / "other"
    shutil.copytree(source, other)
    meta = json.loads((other / "fairguard.json").read_text())
    (other / "fairguard.json").write_text(json.dumps(dict(meta, kind="refine-layer")))
    with pytest.raises(ArtifactError, match="reward-model"):
        export_onnx(other, tmp_path / "out", progress=False)


@pytest.mark.slow
def test_embedded_minilm_backbone_parity(tmp_path):
    """all-MiniLM-L6 (BERT) with a 3-head random classifier exports fused, with fp32 parity."""
    from fairguard.export.onnx_scorer import OnnxRewardScorer
    from fairguard.reward_model.inference import TorchRewardScorer
    from fairguard.reward_model.model import build_reward_model

    model, tokenizer, _ = build_reward_model("minilm-l6", HEADS)
    source = tmp_path / "minilm-reward"
    model.save_pretrained(source, safe_serialization=True)
    tokenizer.save_pretrained(source)
    write_metadata(source, max_length=128, backbone="minilm-l6")
    out = tmp_path / "onnx"
    result = export_onnx(source, out, progress=False)
    fp32 = result.parity["fp32_vs_torch"]
    assert fp32["passed"] and fp32["max_abs_logit_diff"] <= 1e-4
    assert result.parity["int8_vs_fp32"]["max_abs_logit_diff"] < 0.1
    # MiniLM-L6 fuses completely: embeddings, 6 attention blocks, 12 LayerNorms, 6 GELUs
    assert result.fusion["fused"] is True
    assert result.fusion["fused_ops"] == {"EmbedLayerNormalization": 1, "Attention": 6,
                                          "LayerNormalization": 12, "BiasGelu": 6}
    assert (result.fusion["num_heads"], result.fusion["hidden_size"]) == (12, 384)
    prompts = ["Who would make a better tenant, the rider from Henan or the teacher?"] * 2
    responses = ["Judge each applicant on their record.", "Riders from Henan never pay rent."]
    torch_scores = TorchRewardScorer(source).score(prompts, responses)
    onnx_scores = OnnxRewardScorer(out, quantized=False).score(prompts, responses)
    for head in HEADS:
        np.testing.assert_allclose(onnx_scores[head], torch_scores[head], atol=1e-5)


def _source_trained_on(source, folder, data, fingerprint=None):
    """A copy of the tiny reward model that records ``data`` as its training data."""
    import shutil

    from fairguard.reward_model.examples import data_fingerprint

    shutil.copytree(source, folder)
    meta = json.loads((folder / "fairguard.json").read_text())
    meta["data"] = str(data)
    meta["data_fingerprint"] = fingerprint or data_fingerprint(data)
    (folder / "fairguard.json").write_text(json.dumps(meta))
    return folder


def _calibration(out):
    return json.loads((out / "parity.json").read_text())["int8_vs_fp32"]["quantization"][
        "calibration"]


def test_int8_calibrates_on_the_reward_models_own_training_data(exported, tmp_path):
    source, _ = exported
    data = write_test_split(tmp_path / "data", rows=3)
    trained = _source_trained_on(source, tmp_path / "rm", data)
    out = tmp_path / "onnx"
    export_onnx(trained, out, progress=False)
    report = json.loads((out / "parity.json").read_text())
    assert report["inputs"]["source"].startswith("built-in")  # parity still on the built-in pairs
    assert _calibration(out) == {"source": f"{data} (train split)", "pairs": 12}


def test_changed_or_missing_training_data_falls_back_to_builtin_pairs(exported, tmp_path,
                                                                      caplog):
    source, _ = exported
    data = write_test_split(tmp_path / "data", rows=3)
    changed = _source_trained_on(source, tmp_path / "rm-changed", data, fingerprint="other")
    with caplog.at_level("WARNING", logger="fairguard"):
        export_onnx(changed, tmp_path / "onnx-changed", progress=False)
    assert _calibration(tmp_path / "onnx-changed")["source"].startswith("built-in")
    assert "has changed since the reward model was trained on it" in caplog.text
    gone = _source_trained_on(source, tmp_path / "rm-gone", data)
    meta = json.loads((gone / "fairguard.json").read_text())
    meta["data"] = str(tmp_path / "moved-away")
    (gone / "fairguard.json").write_text(json.dumps(meta))
    export_onnx(gone, tmp_path / "onnx-gone", progress=False)
    assert _calibration(tmp_path / "onnx-gone")["source"].startswith("built-in")


def test_calibration_data_option_wins(exported, tmp_path):
    source, _ = exported
    recorded = write_test_split(tmp_path / "recorded", rows=3)
    chosen = write_test_split(tmp_path / "chosen", rows=2)
    trained = _source_trained_on(source, tmp_path / "rm", recorded)
    export_onnx(trained, tmp_path / "onnx", calibration_data=str(chosen), progress=False)
    assert _calibration(tmp_path / "onnx") == {"source": f"{chosen} (train split)", "pairs": 8}


def test_calibration_data_without_a_train_split_is_refused_first(exported, tmp_path):
    from fairguard.errors import DataError

    source, _ = exported
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "nowhere"):
        with pytest.raises(DataError, match="--calibration-data .* has no train split"):
            export_onnx(source, tmp_path / "out", calibration_data=str(folder), progress=False)
    assert not (tmp_path / "out").exists()
