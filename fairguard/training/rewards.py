"""The weighted reward of a training run, built from --reward and --reward-model."""

from __future__ import annotations

from fairguard.registry import get_reward
from fairguard.scoring import WeightedRewards, parse_weights

REWARD_MODEL = "reward-model"
DEFAULT_MODEL_WEIGHTS = {"fairness": 1.0, "relevance": 0.5, "fluency": 0.5}
DEFAULT_WEIGHTS = {"gender-bias": 1.0}


def build_rewards(spec: str | None = None, reward_model: str | None = None) -> WeightedRewards:
    """Rewards and weights: the ``reward-model`` plugin at ``reward_model`` (heads fairness,
    relevance, fluency; default weights 1, 0.5, 0.5) plus every other reward ``spec`` names.

    With neither, the built-in ``gender-bias`` reward with weight 1.
    """
    weights = parse_weights(spec)
    rewards = []
    covered: set[str] = set()
    if reward_model is not None:
        model = get_reward(REWARD_MODEL, path=str(reward_model))
        rewards.append(model)
        covered.update(model.heads)
        if not weights:
            weights = {h: w for h, w in DEFAULT_MODEL_WEIGHTS.items() if h in model.heads}
            weights = weights or {h: 1.0 for h in model.heads}
    elif not weights:
        weights = dict(DEFAULT_WEIGHTS)
    for name in weights:
        if name not in covered:
            reward = get_reward(name)
            rewards.append(reward)
            covered.update(reward.heads)
    return WeightedRewards(rewards, weights)
