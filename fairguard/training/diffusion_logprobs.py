"""Per-token log-probabilities of a masked-diffusion policy's answers (the policy-gradient term).

A masked-diffusion LM has no tractable ``log p(answer | prompt)``: the exact likelihood sums
over every order in which the sampler could have unmasked the answer. Two single-pass estimates
are offered; both are deterministic (the same rollout gives the same numbers under the same
weights, so GRPO's old / new / reference log-probs and ratios are consistent), differentiable
w.r.t. the LoRA parameters, and give the reference (base model) values when run inside
``adapter_disabled(model)``.

``clean`` (default; the LLaDA LoRA paper's definition). The paper extracts "the LoRA model's logits and the
base model's logits on the same generated sequence" and sums ``ln p_lora(x_t | ...)`` over the
generated tokens. So: one forward pass over ``prompt + answer`` with nothing masked, and per
answer position ``t``

    logp_t = log softmax(l_t / T)[x_t]

(``T`` the sampling temperature as in the causal trainer, 1 when ``T`` is 0). Each position sees
the whole finished answer, itself included: a *clean-sequence pseudo-likelihood*. It is not a
bound on ``log p(answer)``; the mask predictor was trained to predict masked positions, so at an
unmasked position it can simply re-read the visible token, and the estimate is typically above
the exact value. It is cheap (one pass) and it is what the LLaDA LoRA paper trained with.

``masked``: one forward pass over ``prompt + [MASK] * gen_length`` and

    logp_t = log softmax(l_t / T)[x_t]   with every answer position masked

i.e. the answer's log-likelihood under the mean-field distribution of the sampler's very first
iteration. This is the ``t = 1`` term of the masked-diffusion ELBO (LLaDA eq. 3,
``log p(x) >= E_t[(1/t) sum_{masked i} log p(x_i | x_t)]``) evaluated at its single fully
masked point, the one-step estimate diffu-GRPO (d1) uses: a *fully-masked single-pass ELBO-term
estimate*. It ignores dependencies between answer tokens (lower than the exact value on
answers whose tokens depend on each other) but it queries the model only where it was
trained.

In both, the mask token is excluded from the softmax, matching the sampler, which never emits
it. Attention covers the prompt (without padding) and every answer position, as the sampler's
did; tokens after the first end-of-answer token are left out of losses by ``completion_mask``.
"""

from __future__ import annotations

from typing import Any

import torch

from fairguard.training.diffusion_sampler import forward_logits, without_mask_token

ESTIMATORS = ("clean", "masked")


def diffusion_completion_logits(model: Any, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor,
                                completion_ids: torch.Tensor, completion_mask: torch.Tensor, *,
                                mask_token_id: int, estimator: str = "clean",
                                temperature: float = 1.0, position_ids: bool = False
                                ) -> torch.Tensor:
    """Float32 logits at the answer positions (divided by ``temperature`` when > 0): (N, C, V).

    ``completion_mask`` is accepted for the common signature; the forward attends to every answer
    position either way (the sampler did).
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown diffusion log-prob estimator {estimator!r}")
    answer = completion_ids if estimator == "clean" else torch.full_like(completion_ids, mask_token_id)
    input_ids = torch.cat([prompt_ids, answer], dim=1)
    attention_mask = torch.cat([prompt_mask.long(), torch.ones_like(completion_ids)], dim=1)
    logits = forward_logits(model, input_ids, attention_mask, position_ids)
    logits = logits[:, prompt_ids.shape[1]:, :].float()
    if temperature not in (0, 1.0):
        logits = logits / temperature
    return without_mask_token(logits, mask_token_id)  # after the division: stays finite
