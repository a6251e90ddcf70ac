import json

import numpy as np
import pytest
from onnx_export_data import shared_export, tiny_reward_dir, write_metadata
from reward_model_data import write_dataset

import fairguard
from fairguard.errors import ConfigError
from fairguard.reward_model.config import RewardTrainConfig
from fairguard.reward_model.distill import blend_targets, distilled_targets
from fairguard.reward_model.examples import build_examples
from fairguard.reward_model.train import train_reward_model
from fairguard.testing import save_tiny, tiny_deberta_classifier

HEADS = ("fairness", "relevance", "fluency")


def _config(tmp_path, backbone, **kw):
    data = write_dataset(tmp_path / "data")
    return RewardTrainConfig(data=str(data), out=str(tmp_path / "out" / "rm"), backbone=str(backbone),
                             epochs=1, batch_size=4, progress=False, dilution_cases=0, **kw)


def test_blend_takes_the_teachers_share_of_labels_and_its_score_where_none():
    labels = np.array([[1.0, np.nan], [0.0, 1.0]])
    teacher = np.array([[0.2, 0.7], [0.6, 0.9]])
    np.testing.assert_allclose(blend_targets(labels, teacher, 0.25),
                               [[0.25 * 0.2 + 0.75, 0.7], [0.25 * 0.6, 0.25 * 0.9 + 0.75]])
    np.testing.assert_allclose(blend_targets(labels, teacher, 0.0), [[1.0, 0.7], [0.0, 1.0]])


@pytest.mark.parametrize("exported", [False, True], ids=["torch-teacher", "onnx-teacher"])
def test_targets_are_the_teachers_scores_blended_into_the_labels(tmp_path, tmp_path_factory, exported):
    teacher = (shared_export(tmp_path_factory)[1] if exported
               else tiny_reward_dir(tmp_path / "teacher", seed=4))
    config = _config(tmp_path, "unused", teacher=str(teacher), teacher_weight=0.3)
    rows = [json.loads(line) for line in (tmp_path / "data" / "train.jsonl").read_text().splitlines()]
    examples = build_examples(rows, HEADS)
    targets, report = distilled_targets(config, examples, HEADS)
    # the teacher scored as the guard scores: the reward-model plugin on the same pairs
    scored = fairguard.get_reward("reward-model", path=str(teacher)).score(examples.prompts,
                                                                            examples.responses)
    expected = np.stack([np.asarray(scored[h], dtype=float) for h in HEADS], axis=1)
    labels = np.asarray(examples.labels, dtype=float)
    known = ~np.isnan(labels)
    assert (~known).any() and known.any()
    np.testing.assert_allclose(targets[~known], expected[~known], atol=1e-6)
    np.testing.assert_allclose(targets[known], 0.3 * expected[known] + 0.7 * labels[known], atol=1e-6)
    assert report["weight"] == 0.3 and report["teacher"] == str(teacher)
    for h, head in enumerate(HEADS):
        assert report["heads"][head]["labelled_pairs"] == int(known[:, h].sum())
        agree = ((expected[known[:, h], h] >= 0.5) == (labels[known[:, h], h] >= 0.5)).mean()
        assert report["heads"][head]["agreement"] == pytest.approx(agree)


def test_a_teacher_changes_the_student_and_is_reported(tmp_path, tiny_deberta_dir):
    from safetensors.numpy import load_file

    teacher = tiny_reward_dir(tmp_path / "teacher", seed=5)
    plain = train_reward_model(_config(tmp_path / "a", tiny_deberta_dir, seed=1, device="cpu")).out
    taught = train_reward_model(_config(tmp_path / "b", tiny_deberta_dir, seed=1, device="cpu",
                                        teacher=str(teacher), teacher_weight=1.0)).out
    wa, wb = load_file(plain / "model.safetensors"), load_file(taught / "model.safetensors")
    assert not all(np.array_equal(wa[k], wb[k]) for k in wa)
    metrics = json.loads((taught / "metrics.json").read_text())
    report = metrics["distillation"]
    assert report["weight"] == 1.0 and report["teacher"] == str(teacher)
    assert {head: sum(report["heads"][head][k] for k in ("labelled_pairs", "unlabelled_pairs"))
            for head in HEADS} == {head: metrics["train_pairs"] for head in HEADS}
    meta = json.loads((taught / "fairguard.json").read_text())
    assert meta["train_config"]["teacher"] == str(teacher)
    assert json.loads((plain / "metrics.json").read_text())["distillation"] is None


def test_teacher_problems_are_config_errors_before_anything_is_written(tmp_path, tiny_deberta_dir):
    with pytest.raises(ConfigError, match="--teacher .* does not exist"):
        train_reward_model(_config(tmp_path, tiny_deberta_dir, teacher=str(tmp_path / "nowhere")))
    fairness_only = tmp_path / "teacher"
    save_tiny(*tiny_deberta_classifier(labels=["fairness"]), fairness_only)
    write_metadata(fairness_only, heads=["fairness"])
    with pytest.raises(ConfigError, match=r"not \['relevance', 'fluency'\]"):
        train_reward_model(_config(tmp_path, tiny_deberta_dir, teacher=str(fairness_only)))
    for weight in (1.5, -0.1, float("nan"), True):
        with pytest.raises(ConfigError, match="teacher_weight"):
            _config(tmp_path, tiny_deberta_dir, teacher_weight=weight)
    assert not (tmp_path / "out").exists()
