import random

import pytest
import torch
from refine_data import ambiguous

from fairguard.metrics.unqover import SubjectScore, unqover_metrics
from fairguard.refine.reward import RewardWeights, answer_logprob, bias_terms, group_quads, reward


def _scores_first_mentioned(questions):
    """A model that always answers with the subject the context names first."""
    return torch.tensor([[1.0, 0.0] if q.order == "12" else [0.0, 1.0] for q in questions])


def test_group_quads_complete_and_left_out():
    qs = ambiguous(["man", "woman", "teacher"])
    quads, left = group_quads(qs)
    assert left == 0 and quads.shape == (3 * 2 * 3, 2, 2)
    q = qs[int(quads[0, 1, 0])]
    assert q.polarity == "neg" and q.order == "12"
    quads2, left2 = group_quads(qs[1:])
    assert left2 == 3 and len(quads2) == len(quads) - 1


def test_first_mentioned_model_has_zero_c_but_full_positional_error():
    qs = ambiguous(["man", "woman"])
    quads, _ = group_quads(qs)
    terms = bias_terms(_scores_first_mentioned(qs), quads)
    assert terms["positional"].item() == pytest.approx(1.0)
    assert terms["abs_c"].item() == pytest.approx(0.0)
    assert terms["attributive"].item() == pytest.approx(1.0)


def test_stereotyped_model_hand_computed():
    # x1 always for the positive attribute, x2 always for its negation: B(x1)=1, B(x2)=-1, C=1;
    # no positional dependence; attributive terms |1-1| and |0-0| = 0.
    qs = ambiguous(["man", "woman"])
    quads, _ = group_quads(qs)
    s = torch.tensor([[1.0, 0.0] if q.polarity == "pos" else [0.0, 1.0] for q in qs])
    terms = bias_terms(s, quads)
    assert terms["abs_c"].item() == pytest.approx(1.0)
    assert terms["positional"].item() == pytest.approx(0.0)
    assert terms["attributive"].item() == pytest.approx(0.0)


def test_bias_terms_agree_with_shared_metrics():
    qs = ambiguous(["man", "woman", "teacher", "nurse"])
    quads, _ = group_quads(qs)
    rnd = random.Random(3)
    s = torch.tensor([[rnd.random(), rnd.random()] for _ in qs], dtype=torch.float64)
    rows = [SubjectScore(q.category, q.template_id, q.attribute_id, q.polarity, q.x1, q.x2, q.order,
                         float(s[i, 0]), float(s[i, 1])) for i, q in enumerate(qs)]
    ref = unqover_metrics(rows)
    terms = bias_terms(s, quads)
    assert terms["positional"].item() == pytest.approx(ref.delta, abs=1e-12)
    assert terms["attributive"].item() == pytest.approx(ref.epsilon, abs=1e-12)


def test_answer_logprob_and_reward_sign():
    logp = torch.log(torch.tensor([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]]))
    ids = torch.tensor([[5, 6, 7], [6, 5, 9]])
    out = answer_logprob(logp, ids, torch.tensor([6, 8]))
    assert out[0].item() == pytest.approx(torch.log(torch.tensor(0.2)).item())
    assert out[1].item() == pytest.approx(torch.log(torch.tensor(1e-4)).item())  # absent: floored
    bias = {"abs_c": torch.tensor(0.1), "positional": torch.tensor(0.2), "attributive": torch.tensor(0.3)}
    r = reward(bias, torch.tensor(-1.0), RewardWeights(1, 1, 1, 0.5))
    assert r.item() == pytest.approx(-0.6 - 0.5)


def test_mass_loss_only_counts_mass_moved_off_the_subjects():
    from fairguard.refine.reward import subject_mass_loss

    base = torch.tensor([[0.4, 0.4], [0.3, 0.3]])
    assert subject_mass_loss(base, base).item() == 0.0
    assert subject_mass_loss(torch.tensor([[0.5, 0.5], [0.3, 0.3]]), base).item() == 0.0  # gains: free
    lost = subject_mass_loss(torch.tensor([[0.2, 0.2], [0.3, 0.3]]), base).item()
    assert lost == pytest.approx(0.5 * float(torch.log(torch.tensor(2.0))))


def test_rank_violation_is_zero_for_kept_order():
    from fairguard.refine.reward import rank_violation

    kept = torch.log(torch.tensor([[0.5, 0.3, 0.2], [0.34, 0.33, 0.33]]))
    assert rank_violation(kept).item() == 0.0
    swapped = torch.log(torch.tensor([[0.3, 0.5, 0.2]]))
    assert rank_violation(swapped).item() == pytest.approx(float(torch.log(torch.tensor(5 / 3))))
