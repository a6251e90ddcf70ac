import json

import numpy as np
import pytest
from reward_model_data import train_tiny

from fairguard.errors import ConfigError, DataError
from fairguard.reward_model.config import RewardTrainConfig
from fairguard.reward_model.debias import bow_bias_logits


def _answers(rows: int):
    """Every row has a fair answer with "kind" and a biased one with "lazy"."""
    responses, labels, groups = [], [], []
    for i in range(rows):
        responses += [f"The people of town {i} are kind.", f"The people of town {i} are lazy."]
        labels += [1.0, 0.0]
        groups += [i, i]
    return responses, np.array(labels), groups


def test_word_model_learns_telling_words_out_of_fold():
    responses, labels, groups = _answers(30)
    logits, report = bow_bias_logits(responses, labels, groups, seed=0)
    assert report["out_of_fold_roc_auc"] == 1.0 and report["folds"] == 5
    assert report["examples"] == 60
    assert (logits[labels == 1] > 0).all() and (logits[labels == 0] < 0).all()


def test_unlabelled_answers_get_no_bias():
    responses, labels, groups = _answers(30)
    labels[:4] = np.nan
    logits, report = bow_bias_logits(responses, labels, groups, seed=0)
    assert (logits[:4] == 0).all() and report["examples"] == 56


def test_a_row_never_scores_its_own_answers():
    """Both answers of a row share a word found nowhere else and the row's label: a model
    that saw one of them would give the other away; out of fold by row, nothing can."""
    row_labels = np.random.default_rng(0).integers(0, 2, 60).astype(float)
    responses = [f"word{r} is said here" for r in range(60) for _ in range(2)]
    labels = np.repeat(row_labels, 2)
    _, by_row = bow_bias_logits(responses, labels, np.repeat(np.arange(60), 2), seed=0)
    _, by_answer = bow_bias_logits(responses, labels, np.arange(120), seed=0)
    assert by_row["out_of_fold_roc_auc"] < 0.75
    assert by_answer["out_of_fold_roc_auc"] > 0.9  # the leak the row folds prevent


def test_too_few_labelled_answers():
    responses, labels, groups = _answers(3)
    with pytest.raises(DataError, match="debias-bow off"):
        bow_bias_logits(responses, labels, groups, seed=0)
    with pytest.raises(DataError):
        bow_bias_logits(responses, np.ones(6), groups, seed=0)  # one label only


@pytest.mark.parametrize("value", [-1.0, float("nan"), True, "1"])
def test_debias_bow_must_be_a_non_negative_number(tmp_path, value):
    with pytest.raises(ConfigError, match="debias_bow"):
        RewardTrainConfig(data=str(tmp_path), out=str(tmp_path / "o"), debias_bow=value)


def test_training_with_the_word_model_changes_the_judge(tmp_path, tiny_deberta_dir):
    from safetensors.numpy import load_file

    plain = train_tiny(tmp_path / "plain", tiny_deberta_dir, seed=1, dilution_cases=0)
    poe = train_tiny(tmp_path / "poe", tiny_deberta_dir, seed=1, dilution_cases=0, debias_bow=1.0)
    report = json.loads((poe / "metrics.json").read_text())["debias_bow"]
    assert report["scale"] == 1.0 and 0.0 <= report["out_of_fold_roc_auc"] <= 1.0
    assert json.loads((plain / "metrics.json").read_text())["debias_bow"] is None
    a, b = load_file(plain / "model.safetensors"), load_file(poe / "model.safetensors")
    assert any(not np.array_equal(a[k], b[k]) for k in a)
