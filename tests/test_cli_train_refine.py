import json

import pytest
from click.testing import CliRunner
from refine_data import write_dataset

from fairguard.cli import cli

TRAIN = ["man", "woman", "teacher", "nurse"]
TEST = ["farmer", "driver", "cleaner"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("refine-data"), TRAIN, TEST)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRGUARD_CACHE", str(tmp_path / "cache"))


def _train(model_dir, data, out, *extra):
    return CliRunner().invoke(cli, ["train", "refine", "--model", str(model_dir), "--data", str(data),
                                    "--category", "gender", "--out", str(out), "--epochs", "3", *extra])


def test_train_then_eval_on_tiny_masked_lm(tiny_masked_lm_dir, dataset, tmp_path):
    out = tmp_path / "layer"
    result = _train(tiny_masked_lm_dir, dataset, out)
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= {"refine.safetensors", "fairguard.json", "metrics.json",
                                               "refine.png", "curve.jsonl"}
    meta = json.loads((out / "fairguard.json").read_text())
    assert meta["kind"] == "refine-layer" and meta["k"] == 8 and meta["lm_kind"] == "masked"
    assert meta["categories"] == ["gender"] and meta["base_model"] == str(tiny_masked_lm_dir)
    metrics = json.loads((out / "metrics.json").read_text())
    for when in ("before", "after"):
        assert {"delta", "epsilon", "mu", "eta", "accuracy"} <= set(metrics["held_out"][when])
    assert "Pos. err." in result.output
    assert list((tmp_path / "cache" / "refine").glob("topk-*.safetensors"))  # LM top-k cached

    again = _train(tiny_masked_lm_dir, dataset, out)
    assert again.exit_code != 0 and "already exists" in again.output

    ev = tmp_path / "eval"
    result = CliRunner().invoke(cli, ["eval", "refine", "--model", str(tiny_masked_lm_dir), "--layer",
                                      str(out), "--data", str(dataset), "--out", str(ev)])
    assert result.exit_code == 0, result.output
    assert "+ REFINE-LM" in result.output and "base LM" in result.output
    evm = json.loads((ev / "metrics.json").read_text())
    assert evm["with_layer"]["delta"] == pytest.approx(metrics["held_out"]["after"]["delta"])
    assert evm["without_layer"]["delta"] == pytest.approx(metrics["held_out"]["before"]["delta"])


def test_layer_on_another_base_model_is_refused(tiny_masked_lm_dir, dataset, tmp_path):
    from fairguard.testing import save_tiny, tiny_masked_lm

    out = tmp_path / "layer"
    assert _train(tiny_masked_lm_dir, dataset, out, "--epochs", "1").exit_code == 0
    other = save_tiny(*tiny_masked_lm(seed=5), tmp_path / "other")
    result = CliRunner().invoke(cli, ["eval", "refine", "--model", str(other), "--layer", str(out),
                                      "--data", str(dataset), "--out", str(tmp_path / "ev")])
    assert result.exit_code == 1 and "was trained on base model" in result.output
    assert not (tmp_path / "ev").exists()


def test_clear_errors_for_k_and_empty_questions(tiny_masked_lm_dir, dataset, tmp_path):
    result = _train(tiny_masked_lm_dir, dataset, tmp_path / "a", "--k", "100000")
    assert result.exit_code == 1 and "larger than the model's vocabulary" in result.output
    result = CliRunner().invoke(cli, ["train", "refine", "--model", str(tiny_masked_lm_dir), "--data",
                                      str(dataset), "--category", "region", "--out", str(tmp_path / "b")])
    assert result.exit_code == 1 and "no questions in region" in result.output
    empty = tmp_path / "empty"
    write_dataset(empty, TRAIN, TEST)
    (empty / "unqover" / "train.jsonl").write_text("")
    result = _train(tiny_masked_lm_dir, empty, tmp_path / "c")
    assert result.exit_code == 1 and "train" in result.output
    assert not any((tmp_path / n).exists() for n in "abc")
