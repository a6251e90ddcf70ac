import json
import os

import numpy as np
import pytest
from reward_model_data import write_dataset

from fairguard.errors import ArtifactError, ConfigError, DataError, ModelNotFoundError
from fairguard.reward_model.config import RewardTrainConfig
from fairguard.reward_model.train import train_reward_model

HEADS = ["fairness", "relevance", "fluency"]


def _config(tmp_path, backbone, **kw):
    data = kw.pop("data", None) or write_dataset(tmp_path / "data")
    return RewardTrainConfig(data=str(data), out=str(tmp_path / "out" / "rm"), backbone=str(backbone),
                             epochs=kw.pop("epochs", 1), batch_size=4, progress=False, **kw)


def _nothing_written(tmp_path):
    parent = tmp_path / "out"
    return not parent.exists() or list(parent.iterdir()) == []


def test_full_wiring_tiny_deberta(tmp_path, tiny_deberta_dir):
    from transformers import AutoModelForSequenceClassification

    import fairguard

    result = train_reward_model(_config(tmp_path, tiny_deberta_dir, epochs=2, seed=3))
    out = result.out
    names = set(os.listdir(out))
    assert {"config.json", "model.safetensors", "fairguard.json", "metrics.json",
            "training.png", "tokenizer.json"} <= names
    meta = json.loads((out / "fairguard.json").read_text())
    assert meta["kind"] == "reward-model" and meta["heads"] == HEADS
    # calibrated on the validation split: 2 % of its good texts fall below each threshold
    assert set(meta["thresholds"]) == set(HEADS)
    assert meta["calibration"]["false_flag_rate"] == 0.02
    assert meta["calibration"]["split"] == "val"
    for head in HEADS:
        assert 0.0 < meta["thresholds"][head] < 1.0
        assert meta["calibration"]["per_head"][head]["false_flag_rate"] <= 0.02
        lo, hi = meta["calibration"]["per_head"][head]["threshold_interval"]
        assert lo <= meta["thresholds"][head] <= hi
    assert meta["backbone"] == str(tiny_deberta_dir) and meta["max_length"] == 128
    assert meta["data_fingerprint"] == "handmade-0"
    assert meta["train_config"]["seed"] == 3
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split"] == "test" and len(metrics["epochs"]) == 2
    assert metrics["best_epoch"] in (1, 2)
    for head in HEADS:
        for key in ("accuracy", "roc_auc", "pairwise_accuracy"):
            assert 0.0 <= metrics["heads"][head][key] <= 1.0
    assert metrics["fairness_pairwise_accuracy"] == metrics["heads"]["fairness"]["pairwise_accuracy"]
    assert metrics["handwritten"]["n_pairs"] == 46
    assert metrics["test_cut_off"]["n_pairs"] == metrics["n_pairs"]  # every test response, cut off
    assert set(metrics["test_cut_off"]["heads"]) == set(HEADS)
    dilution = metrics["dilution"]  # mixed answers from the test split, scored in windows
    assert dilution["cases"] == 300 and dilution["threshold"] == meta["thresholds"]["fairness"]
    assert 0.0 <= dilution["flagged_with_biased"] <= 1.0 and dilution["by_length"]
    assert metrics["split_overlap"]["group"]["also_in_train"] == 0
    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert type(model).__name__ == "DebertaV2ForSequenceClassification"
    reward = fairguard.get_reward("reward-model", path=str(out))
    scores = reward.score(["Should we hire the hui applicant?"] * 2, ["judge skills", "no"])
    assert set(scores) == set(HEADS)


def test_same_seed_same_weights(tmp_path, tiny_deberta_dir):
    from safetensors.numpy import load_file

    # bit-exact on CPU; CUDA's atomic adds (embedding backward) may sum in another order
    a = train_reward_model(_config(tmp_path / "a", tiny_deberta_dir, seed=1, device="cpu")).out
    b = train_reward_model(_config(tmp_path / "b", tiny_deberta_dir, seed=1, dilution_cases=0,
                                   device="cpu")).out
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)  # the report's checks do not touch them
    assert json.loads((b / "metrics.json").read_text())["dilution"] is None  # 0 skips the check


def test_head_loss_weights_are_relative(tmp_path, tiny_deberta_dir):
    from safetensors.numpy import load_file

    def weights(name, spec):
        out = train_reward_model(_config(tmp_path / name, tiny_deberta_dir, seed=1, device="cpu",
                                         dilution_cases=0, head_loss_weights=spec)).out
        meta = json.loads((out / "fairguard.json").read_text())
        assert meta["train_config"]["head_loss_weights"] == spec
        return load_file(out / "model.safetensors")

    plain = weights("plain", "fairness=1")  # every head 1
    same = weights("same", "fairness=2,relevance=2,fluency=2")  # the weighted mean, all equal
    assert all(np.allclose(plain[k], same[k], atol=1e-5) for k in plain)
    fair = weights("fair", "fairness=4")
    assert not all(np.allclose(plain[k], fair[k], atol=1e-5) for k in plain)


@pytest.mark.parametrize("spec, message", [
    ("toxicity=2", "not a trained head"), ("fairness=0", "must be > 0"),
    ("fairness=x", "not name=number"), ("fairness", "not name=number")])
def test_head_loss_weights_refused(tmp_path, tiny_deberta_dir, spec, message):
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, tiny_deberta_dir, head_loss_weights=spec)


def test_heads_subset(tmp_path, tiny_deberta_dir):
    out = train_reward_model(_config(tmp_path, tiny_deberta_dir, heads="fluency")).out
    meta = json.loads((out / "fairguard.json").read_text())
    assert meta["heads"] == ["fluency"]
    assert "fairness_pairwise_accuracy" not in json.loads((out / "metrics.json").read_text())


def test_empty_dataset_leaves_nothing(tmp_path, tiny_deberta_dir):
    data = write_dataset(tmp_path / "data", empty_split="train")
    with pytest.raises(DataError, match=r"train.jsonl (holds no rows|is empty)"):
        train_reward_model(_config(tmp_path, tiny_deberta_dir, data=data))
    assert _nothing_written(tmp_path)


def test_missing_data_dir_leaves_nothing(tmp_path, tiny_deberta_dir):
    with pytest.raises(DataError, match="does not exist"):
        train_reward_model(_config(tmp_path, tiny_deberta_dir, data=tmp_path / "nowhere"))
    assert _nothing_written(tmp_path)


def test_corrupt_backbone_leaves_nothing(tmp_path, tiny_deberta_dir):
    import shutil

    bad = tmp_path / "bad-backbone"
    shutil.copytree(tiny_deberta_dir, bad)
    (bad / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelNotFoundError, match="could not load weights"):
        train_reward_model(_config(tmp_path, bad))
    assert _nothing_written(tmp_path)


def test_unknown_heads(tmp_path, tiny_deberta_dir):
    with pytest.raises(ConfigError, match="unknown head"):
        _config(tmp_path, tiny_deberta_dir, heads="fairness,toxicity")


def test_refuses_existing_out_and_failure_keeps_old(tmp_path, tiny_deberta_dir, monkeypatch):
    out = tmp_path / "out" / "rm"
    out.mkdir(parents=True)
    (out / "keep.txt").write_text("old")
    with pytest.raises(ArtifactError, match="--overwrite"):
        train_reward_model(_config(tmp_path, tiny_deberta_dir))

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("fairguard.reward_model.plot.plot_training", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        train_reward_model(_config(tmp_path, tiny_deberta_dir, overwrite=True))
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["rm"]
    assert os.listdir(out) == ["keep.txt"]


@pytest.mark.slow
def test_minilm_separates_neutral_from_biased(tmp_path):
    """Embedded MiniLM backbone on a small dataset: fairness ranks neutral above biased on
    held-out groups (and the hand-written set is at least better than chance)."""
    data = _small_dataset(tmp_path)
    config = RewardTrainConfig(data=str(data), out=str(tmp_path / "rm"), backbone="minilm-l6",
                               epochs=4, rows_per_epoch=80, batch_size=4, learning_rate=3e-4,
                               max_length=128, limit=120, val_rows=24, freeze_layers=2, dilution_cases=40,
                               progress=False)
    metrics = train_reward_model(config).metrics
    fair = metrics["heads"]["fairness"]
    summary = {h: {k: m[k] for k in ("roc_auc", "pairwise_accuracy", "mean_score_positive",
                                     "mean_score_negative")} for h, m in metrics["heads"].items()}
    # an untrained or broken model sits near 0.5 on each of these
    assert fair["pairwise_accuracy"] >= 0.85, summary
    assert fair["roc_auc"] >= 0.85, summary
    assert fair["mean_score_positive"] - fair["mean_score_negative"] >= 0.2, summary
    # relevance learns slower on 120 rows (0.69 since the cue-word pools, 2026-12-01)
    assert metrics["heads"]["relevance"]["roc_auc"] >= 0.65, summary
    assert metrics["handwritten"]["heads"]["fairness"]["pairwise_accuracy"] > 0.5, summary


def _small_dataset(tmp_path):
    """`fairguard data build --size small`, scenario rows only: a quick check that the embedded
    backbone learns (the broad rows are harder and need the default recipe)."""
    from fairguard.data.builder import build_dataset
    from fairguard.data.config import DataConfig

    out = tmp_path / "data"
    build_dataset(DataConfig(size="small", broad_fraction=0.0, unqover=False), out)
    return out


def test_freeze_layers_and_rows_per_epoch(tmp_path, tiny_deberta_dir):
    from safetensors.numpy import load_file

    result = train_reward_model(_config(tmp_path, tiny_deberta_dir, epochs=2, rows_per_epoch=8,
                                        freeze_layers=1, val_rows=3))
    assert result.metrics["rows_per_epoch"] == 8 and result.metrics["val_rows"] == 3
    assert result.metrics["epochs"][1]["val"]["n_rows"] == 3
    before = load_file(tiny_deberta_dir / "model.safetensors")
    after = load_file(result.out / "model.safetensors")
    emb = "deberta.embeddings.word_embeddings.weight"
    assert np.array_equal(before[emb], after[emb])
    frozen = "deberta.encoder.layer.0.attention.self.query_proj.weight"
    trained = "deberta.encoder.layer.1.attention.self.query_proj.weight"
    assert np.array_equal(before[frozen], after[frozen])
    assert not np.array_equal(before[trained], after[trained])


def test_freeze_layers_on_a_decoder_backbone(tiny_causal_lm_dir):
    from fairguard.reward_model.model import build_reward_model
    from fairguard.reward_model.train import freeze_layers

    model, _, _ = build_reward_model(str(tiny_causal_lm_dir), ["fairness", "relevance"])
    assert freeze_layers(model, 1) == 1
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    assert "model.embed_tokens.weight" in frozen
    assert any(name.startswith("model.layers.0.") for name in frozen)
    assert not any(name.startswith(("model.layers.1.", "score")) for name in frozen)
    with pytest.raises(ConfigError, match="only 2 layers"):
        freeze_layers(build_reward_model(str(tiny_causal_lm_dir), ["fairness"])[0], 3)


def test_freezing_layers_of_a_relative_position_encoder_cuts_their_backward():
    """MPNet's relative attention bias feeds every layer: left trainable, it would make the
    frozen layers' outputs need gradients, and their backward would cost as much as training."""
    import torch
    from transformers import MPNetConfig, MPNetForSequenceClassification

    from fairguard.reward_model.train import freeze_layers

    torch.manual_seed(0)
    model = MPNetForSequenceClassification(MPNetConfig(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
        num_attention_heads=4, num_labels=3, max_position_embeddings=40))
    assert freeze_layers(model, 2) == 2
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    assert "mpnet.encoder.relative_attention_bias.weight" in frozen
    assert not any(name.startswith(("mpnet.encoder.layer.2.", "classifier")) for name in frozen)
    needs_grad = []
    for layer in model.mpnet.encoder.layer:
        layer.register_forward_hook(lambda _m, _i, out: needs_grad.append(out[0].requires_grad))
    model(input_ids=torch.randint(5, 64, (2, 9))).logits.sum().backward()
    assert needs_grad == [False, False, True]


def test_default_freezes_a_third_of_the_layers(tmp_path, tiny_deberta_dir):
    # the tiny DeBERTa has 2 layers, so "a third" is 0 and nothing is frozen
    result = train_reward_model(_config(tmp_path, tiny_deberta_dir))
    assert result.metrics["frozen_layers"] == 0


def test_freeze_too_many_layers(tmp_path, tiny_deberta_dir):
    with pytest.raises(ConfigError, match="only 2 layers"):
        train_reward_model(_config(tmp_path, tiny_deberta_dir, freeze_layers=5))
    assert _nothing_written(tmp_path)


def test_group_by_length_batches_rows_of_similar_length():
    import numpy as np

    from fairguard.reward_model.train import group_by_length

    rng = np.random.default_rng(0)
    lengths = [int(x) for x in rng.integers(10, 500, size=203)]
    order = [int(i) for i in rng.permutation(203)]
    grouped = group_by_length(order, lengths, 8, np.random.default_rng(1))
    assert sorted(grouped) == sorted(order)
    assert grouped == group_by_length(order, lengths, 8, np.random.default_rng(1))
    batches = [grouped[i:i + 8] for i in range(0, len(grouped), 8)]
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches])
    random_spread = np.mean([max(lengths[i] for i in order[j:j + 8]) - min(lengths[i] for i in order[j:j + 8])
                             for j in range(0, 200, 8)])
    assert spread < random_spread / 4
    assert len(batches[-1]) == 203 % 8  # the short batch comes last


def test_probe_fraction_trains_the_heads_alone_first(tmp_path, tiny_deberta_dir):
    from safetensors.numpy import load_file

    before = load_file(tiny_deberta_dir / "model.safetensors")
    layer = "deberta.encoder.layer.1.attention.self.query_proj.weight"
    probe_only = train_reward_model(_config(tmp_path / "a", tiny_deberta_dir, epochs=2,
                                            rows_per_epoch=8, probe_fraction=1.0))
    after = load_file(probe_only.out / "model.safetensors")
    assert probe_only.metrics["probe_steps"] == 4
    assert np.array_equal(before[layer], after[layer])  # the whole run was the probe
    assert not np.array_equal(before["classifier.weight"], after["classifier.weight"])
    # one epoch of four steps, so that the weights saved (the best epoch's) are those after
    # the encoder trained too
    half = train_reward_model(_config(tmp_path / "b", tiny_deberta_dir, epochs=1,
                                      rows_per_epoch=16, probe_fraction=0.5))
    assert half.metrics["probe_steps"] == 2
    assert not np.array_equal(before[layer], load_file(half.out / "model.safetensors")[layer])


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), True])
def test_probe_fraction_must_be_a_share(tmp_path, value):
    with pytest.raises(ConfigError, match="probe_fraction"):
        RewardTrainConfig(data=str(tmp_path), out=str(tmp_path / "rm"), probe_fraction=value)


def test_statement_repeats_draw_statement_rows_more_often(tmp_path, tiny_deberta_dir):
    from fairguard.data.broad import STATEMENT_SCENARIO
    from fairguard.reward_model.examples import load_split

    data = write_dataset(tmp_path / "data")
    rows = [json.loads(line) for line in (data / "train.jsonl").read_text().splitlines()]
    for row in rows[::2]:
        row["scenario"] = STATEMENT_SCENARIO
    (data / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert sum(r.scenario == STATEMENT_SCENARIO for r in load_split(data, "train")) == len(rows[::2])
    once = train_reward_model(_config(tmp_path / "a", tiny_deberta_dir, data=data, rows_per_epoch=0))
    assert once.metrics["rows_per_epoch"] == len(rows)
    twice = train_reward_model(_config(tmp_path / "b", tiny_deberta_dir, data=data, rows_per_epoch=0,
                                       statement_repeats=2))
    assert twice.metrics["rows_per_epoch"] == len(rows) + len(rows[::2])
    with pytest.raises(ConfigError, match="statement-repeats must be at least 1"):
        _config(tmp_path / "c", tiny_deberta_dir, data=data, statement_repeats=0)


def test_batch_logits_split_by_length_match_one_forward(tiny_deberta_dir):
    """Pairs of about the same length share a forward pass: the logits, in the pairs' order,
    and their gradients are those of one padded forward over the whole batch."""
    import torch

    from fairguard.reward_model.model import build_reward_model
    from fairguard.reward_model.train import PAIRS_PER_FORWARD, batch_logits

    model, tokenizer, _ = build_reward_model(str(tiny_deberta_dir), HEADS)
    model.eval()
    for n in (2 * PAIRS_PER_FORWARD + 3, PAIRS_PER_FORWARD, 5):  # several forwards, and one
        prompts = [f"Question {i}?" for i in range(n)]
        responses = [" ".join(["word"] * (1 + (i * 7) % 40)) + "." for i in range(n)]
        grads = []
        for split in (False, True):
            model.zero_grad()
            logits = batch_logits(model, tokenizer, prompts, responses, 64, "cpu", split=split)
            assert logits.shape == (n, len(HEADS))
            (logits * torch.arange(n * len(HEADS)).reshape(n, -1)).sum().backward()
            grads.append((logits.detach(), model.classifier.weight.grad.clone()))
        assert torch.allclose(grads[0][0], grads[1][0], atol=1e-5), n
        assert torch.allclose(grads[0][1], grads[1][1], atol=1e-4), n


def test_average_last_saves_the_mean_of_the_last_steps_weights(tmp_path, tiny_deberta_dir):
    import torch
    from safetensors.numpy import load_file

    from fairguard.loops import WeightAverage

    layer = torch.nn.Linear(2, 2)
    average = WeightAverage(start=1)
    for step in range(1, 4):
        with torch.no_grad():
            layer.weight.fill_(float(step))
        average.update(layer, step)
    average.restore(layer)
    assert average.count == 2 and torch.all(layer.weight == 2.5)  # steps 2 and 3

    plain = train_reward_model(_config(tmp_path / "a", tiny_deberta_dir, epochs=2, rows_per_epoch=16))
    averaged = train_reward_model(_config(tmp_path / "b", tiny_deberta_dir, epochs=2, rows_per_epoch=16,
                                          average_last=0.5))
    assert plain.metrics["averaged"] is None
    report = averaged.metrics["averaged"]
    assert report["steps"] == 4 and averaged.metrics["best_epoch"] == 2
    assert set(report["val"]["heads"]) == {"fairness", "relevance", "fluency"}
    name = "classifier.weight"
    assert not np.array_equal(load_file(plain.out / "model.safetensors")[name],
                              load_file(averaged.out / "model.safetensors")[name])


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_average_last_must_be_a_share(tmp_path, value):
    with pytest.raises(ConfigError, match="average_last"):
        RewardTrainConfig(data=str(tmp_path), out=str(tmp_path / "rm"), average_last=value)


def test_mixed_precision_bf16_trains_float32_weights_or_is_refused(tmp_path, tiny_deberta_dir):
    from safetensors.numpy import load_file

    from fairguard.training.rollout import bf16_decoding_supported

    config = _config(tmp_path / "b", tiny_deberta_dir, seed=1, device="cpu", dilution_cases=0,
                     mixed_precision="bf16")
    if not bf16_decoding_supported():  # a CPU that would emulate bfloat16
        with pytest.raises(ConfigError, match="no native bfloat16"):
            train_reward_model(config)
        assert _nothing_written(tmp_path / "b")
        return
    bf16 = load_file(train_reward_model(config).out / "model.safetensors")
    fp32 = load_file(train_reward_model(_config(tmp_path / "a", tiny_deberta_dir, seed=1, device="cpu",
                                                dilution_cases=0)).out / "model.safetensors")
    assert all(w.dtype == np.float32 for w in bf16.values())  # only the forward ran in bfloat16
    assert not all(np.array_equal(bf16[k], fp32[k]) for k in fp32)


@pytest.mark.parametrize("value", ["fp16", "yes", ""])
def test_mixed_precision_must_be_no_or_bf16(tmp_path, value):
    with pytest.raises(ConfigError, match="mixed_precision must be auto, no or bf16"):
        _config(tmp_path, "unused", mixed_precision=value)
