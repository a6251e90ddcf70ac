import random

import pytest
import torch
from refine_data import ambiguous, disambiguated

from fairguard.errors import ConfigError
from fairguard.evaluation.refine import QuestionSet, evaluate
from fairguard.refine.cache import TopK
from fairguard.refine.config import RefineConfig
from fairguard.refine.reward import group_quads
from fairguard.refine.train import train_layer

K = 6


def _planted(questions, disamb: bool, seed: int = 0) -> QuestionSet:
    """A synthetic frozen LM: it prefers the first-named subject and, for positive attributes,
    the stereotyped x1; where the context states the answer it is confident and right."""
    rnd = random.Random(seed)
    names = sorted({q.x1 for q in questions} | {q.x2 for q in questions})
    tok = {n: 10 + i for i, n in enumerate(names)}
    logprobs, ids = [], []
    for q in questions:
        first, second = q.subjects
        if disamb:
            top, other = q.answer, (q.x2 if q.answer == q.x1 else q.x1)
            lp = [-0.05, -4.0]
        else:
            stereo = q.x1 if q.polarity == "pos" else q.x2
            top = first if rnd.random() < 0.7 else stereo
            other = second if top == first else first
            lp = [-0.4, -1.4]
        lp += sorted([-3.0 - rnd.random() * 2 for _ in range(K - 2)], reverse=True)
        logprobs.append(lp)
        ids.append([tok[top], tok[other]] + [1, 2, 3, 4, 5, 6][:K - 2])
    subject_ids = torch.tensor([[tok[q.x1], tok[q.x2]] for q in questions])
    answers = torch.tensor([0 if q.answer == q.x1 else 1 for q in questions]) if disamb else None
    quads = group_quads(questions)[0] if not disamb else torch.empty((0, 2, 2), dtype=torch.long)
    return QuestionSet("synthetic", list(questions), [], TopK(torch.tensor(logprobs), torch.tensor(ids)),
                       subject_ids, answers, 0, quads)


TRAIN = ["man", "woman", "teacher", "nurse", "doctor"]
TEST = ["farmer", "driver", "cleaner", "engineer"]


def _config(**kw):
    return RefineConfig(model="m", data="d", category="gender", **kw)


@pytest.mark.parametrize("estimator", ["exact", "sample"])
def test_training_lowers_planted_bias_and_keeps_answers(estimator):
    amb, dis = _planted(ambiguous(TRAIN), False), _planted(disambiguated(TRAIN), True, 1)
    test_amb, test_dis = _planted(ambiguous(TEST), False, 2), _planted(disambiguated(TEST), True, 3)
    layer, curve = train_layer(amb, dis, _config(epochs=40, learning_rate=0.05, estimator=estimator, batch_quads=64), K,
                               progress=False)
    assert max(row["reward"] for row in curve) > curve[0]["reward"] + 0.05
    before, after = evaluate(None, test_amb, test_dis), evaluate(layer, test_amb, test_dis)
    assert after["delta"] < 0.7 * before["delta"]
    assert after["epsilon"] < 0.7 * before["epsilon"]
    assert after["accuracy"] == before["accuracy"] == 1.0
    assert after["answer_prob"] > 0.8


def test_untrained_layer_scores_are_the_lms_own():
    amb, dis = _planted(ambiguous(TEST), False), _planted(disambiguated(TEST), True)
    layer, _ = train_layer(amb, dis, _config(epochs=1, learning_rate=1e-12), K, progress=False)
    before, after = evaluate(None, amb, dis), evaluate(layer, amb, dis)
    for key in ("delta", "epsilon", "mu", "eta", "accuracy", "answer_prob"):
        assert after[key] == pytest.approx(before[key], abs=1e-6)


def test_config_errors():
    with pytest.raises(ConfigError, match="--model"):
        RefineConfig(data="d", category="gender")
    with pytest.raises(ConfigError, match="--category"):
        RefineConfig(model="m", data="d", category=" , ")
    with pytest.raises(ConfigError, match="k must be"):
        _config(k=1)
    with pytest.raises(ConfigError, match="estimator"):
        _config(estimator="ppo")


@pytest.mark.slow
def test_causal_path_on_smollm2(tmp_path):
    """The chat-form causal path on the embedded SmolLM2: slots, top-k, training, metrics."""
    from fairguard.evaluation.refine import load_base_lm, prepare_set

    lm = load_base_lm("smollm2-135m-instruct")
    attrs = {"math": ("Who was good at math?", "Who was bad at math?", "was good at math")}
    amb = ambiguous(["Fang", "Wei"], attributes=attrs)
    dis = disambiguated(["Fang", "Wei"], attributes=attrs)[:4]
    amb_set = prepare_set(lm, "train", amb, 10)
    dis_set = prepare_set(lm, "disambig_train", dis, 10, ambiguous=False)
    assert amb_set.skipped == 0 and len(amb_set.quads) == 2
    # at the answer slot of every question at least one of the two names is in the LM's top 10
    found = (amb_set.topk.ids.unsqueeze(1) == amb_set.subject_ids.unsqueeze(-1)).any(-1)  # [N, 2]
    assert bool(found.any(-1).all())
    layer, curve = train_layer(amb_set, dis_set, _config(epochs=20, learning_rate=0.05), 10, progress=False)
    assert curve[-1]["reward"] >= curve[0]["reward"]
    after = evaluate(layer, amb_set, dis_set)
    assert 0 <= after["delta"] <= 1 and 0 <= after["accuracy"] <= 1
