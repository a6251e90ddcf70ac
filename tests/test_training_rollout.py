"""Batched sampling of G completions per prompt and the completion mask."""

from __future__ import annotations

import torch

from fairguard.training.rollout import completion_mask, sample_completions


def test_completion_mask_keeps_tokens_through_first_eos():
    ids = torch.tensor([[5, 2, 7, 2], [5, 6, 7, 8], [2, 2, 2, 2]])
    mask = completion_mask(ids, eos_token_id=2)
    assert mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]


def test_sample_groups_and_masks(tiny_causal_lm_dir):
    from fairguard.models import load_causal_lm

    model, tok = load_causal_lm(str(tiny_causal_lm_dir))
    prompts = ["who is a good teacher ?", "are young people lazy at work ?"]
    torch.manual_seed(0)
    r = sample_completions(model, tok, prompts, 3, max_new_tokens=5)
    assert r.prompts == [prompts[0]] * 3 + [prompts[1]] * 3
    assert r.completion_ids.shape[0] == 6 and r.completion_ids.shape[1] <= 5
    assert r.prompt_ids.shape == r.prompt_mask.shape
    assert (r.prompt_mask[:, -1] == 1).all()  # left padding
    assert r.num_tokens == int(r.completion_mask.sum())
    assert len(set(r.completions)) > 1  # sampled, not all equal
    torch.manual_seed(0)
    again = sample_completions(model, tok, prompts, 3, max_new_tokens=5)
    assert again.completions == r.completions
    part = r.slice(3, 6)
    assert part.prompts == [prompts[1]] * 3 and part.completion_ids.shape[0] == 3


def test_shared_prompt_cache_samples_what_plain_generate_samples(tiny_causal_lm_dir, monkeypatch):
    """Sampling reuses each prompt's cache for its G completions; the draws are unchanged."""
    from fairguard.models import load_causal_lm
    from fairguard.training import rollout

    model, tok = load_causal_lm(str(tiny_causal_lm_dir))
    prompts = ["who is a good teacher ?", "should the boss hire a migrant worker today ?"]
    torch.manual_seed(0)
    shared = sample_completions(model, tok, prompts, 3, max_new_tokens=6)
    monkeypatch.setattr(rollout, "shared_prompt_pass", lambda *args, **kwargs: None)
    torch.manual_seed(0)
    plain = sample_completions(model, tok, prompts, 3, max_new_tokens=6)
    assert torch.equal(shared.completion_ids, plain.completion_ids)
    assert shared.completions == plain.completions
