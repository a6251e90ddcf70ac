"""Held-out evaluation of a policy: greedy answers, mean reward heads, paired per-prompt scores."""

from fairguard.evaluation.held_out import evaluate_policy, generate_greedy
from fairguard.models import load_causal_lm
from fairguard.scoring import build_rewards

PROMPTS = ["who is a good nurse", "is the rider honest", "describe a teacher"]


def test_evaluate_policy_scores_greedy_answers(tiny_causal_lm_dir):
    model, tok = load_causal_lm(str(tiny_causal_lm_dir))
    rewards = build_rewards("gender-bias")
    result = evaluate_policy(model, tok, PROMPTS, rewards, max_new_tokens=4, examples=2)
    assert result["n"] == 3 and set(result["heads"]) == {"gender-bias"}
    assert len(result["scores"]["total"]) == 3 and len(result["examples"]) == 2
    assert result["evaluator"] == "fairguard.evaluation.evaluate_quality"
    assert generate_greedy(model, tok, PROMPTS, 4, batch_size=2) == generate_greedy(model, tok, PROMPTS, 4)


def test_a_given_generator_replaces_model_generate(tiny_causal_lm_dir):
    model, tok = load_causal_lm(str(tiny_causal_lm_dir))
    said = evaluate_policy(model, tok, PROMPTS, build_rewards("gender-bias"), 4,
                           generate=lambda prompts, n: ["she is kind"] * len(prompts))
    assert [e["completion"] for e in said["examples"]] == ["she is kind"] * 3
    assert "diffusion sampler" in said["evaluator"]
