import torch

from fairguard.refine.layer import RefineLayer
from fairguard.refine.processor import RefineLogitsProcessor, refine_mask_logits, refine_scores
from fairguard.testing import tiny_causal_lm


def _skewed(k):
    layer = RefineLayer(k)
    with torch.no_grad():
        layer.linear.weight.mul_(0.2)  # flattens the top k
    return layer


def test_identity_layer_changes_nothing():
    scores = torch.randn(3, 50)
    out = refine_scores(RefineLayer(6), scores)
    assert torch.allclose(out.softmax(-1), scores.softmax(-1), atol=1e-6)


def test_only_topk_is_reweighted_and_mass_is_kept():
    torch.manual_seed(0)
    scores = torch.randn(2, 40) * 3
    out = refine_scores(_skewed(5), scores)
    p, q = scores.softmax(-1), out.exp()
    top = scores.topk(5).indices
    rest = torch.ones_like(p, dtype=torch.bool).scatter(-1, top, False)
    assert torch.allclose(q[rest], p[rest], atol=1e-6)
    assert torch.allclose(q.gather(-1, top).sum(-1), p.gather(-1, top).sum(-1), atol=1e-5)
    assert not torch.allclose(q.gather(-1, top), p.gather(-1, top), atol=1e-3)
    assert torch.allclose(q.sum(-1), torch.ones(2), atol=1e-5)


def test_minus_inf_scores_stay_excluded():
    scores = torch.full((1, 20), float("-inf"))
    scores[0, :3] = torch.tensor([2.0, 1.0, 0.0])
    out = refine_scores(_skewed(5), scores)
    assert torch.isinf(out[0, 3:]).all() and torch.isfinite(out[0, :3]).all()
    assert torch.allclose(out[0, :3].exp().sum(), torch.tensor(1.0), atol=1e-5)


def test_first_slot_only_during_generation():
    model, tok = tiny_causal_lm()
    ids = tok(["the man and the woman"], return_tensors="pt")
    calls = []

    class Spy(RefineLogitsProcessor):
        def __call__(self, input_ids, scores):
            out = super().__call__(input_ids, scores)
            calls.append(not torch.equal(out, scores))
            return out

    spy = Spy(_skewed(5), slots="first")
    model.generate(**ids, max_new_tokens=4, do_sample=False, logits_processor=[spy])
    assert calls == [True, False, False, False]
    calls.clear()
    model.generate(**ids, max_new_tokens=3, do_sample=False, logits_processor=[spy])  # reused
    assert calls == [True, False, False]
    calls.clear()
    every = Spy(_skewed(5), slots="every")
    model.generate(**ids, max_new_tokens=3, do_sample=False, logits_processor=[every])
    assert calls == [True, True, True]


def test_fill_mask_positions_only():
    logits = torch.randn(1, 4, 30)
    input_ids = torch.tensor([[2, 4, 9, 3]])
    out = refine_mask_logits(_skewed(5), logits, input_ids, mask_token_id=4)
    assert torch.equal(out[0, [0, 2, 3]], logits[0, [0, 2, 3]])
    assert not torch.allclose(out[0, 1].softmax(-1), logits[0, 1].softmax(-1), atol=1e-3)
