"""Building the reward set of an evaluation from ``--reward-model`` and ``--reward``."""

from __future__ import annotations

from typing import Mapping

from fairguard.errors import ConfigError
from fairguard.protocols import Reward
from fairguard.scoring import WeightedRewards, parse_weights

REWARD_MODEL = "reward-model"
DEFAULT_REWARD_MODEL_WEIGHTS = {"fairness": 1.0, "relevance": 0.5, "fluency": 0.5}


def build_rewards(reward_model: str | None = None,
                  weights: str | Mapping[str, float] | None = None) -> WeightedRewards:
    """Rewards from a reward-model folder and/or ``name=weight`` specs.

    ``reward_model`` builds the ``reward-model`` plugin on that folder (its heads become names,
    default weights fairness 1, relevance 0.5, fluency 0.5). Every name in ``weights`` that is not
    one of its heads is looked up as a registered reward (unknown names raise the registry's
    :class:`UnknownNameError`); the weight applies to each of that reward's heads.
    """
    from fairguard.registry import get_reward

    spec = parse_weights(weights)
    rewards: list[Reward] = []
    head_weights: dict[str, float] = {}
    heads: set[str] = set()
    if reward_model is not None:
        rm = get_reward(REWARD_MODEL, path=reward_model)
        rewards.append(rm)
        heads.update(rm.heads)
        if not spec:
            head_weights.update({h: w for h, w in DEFAULT_REWARD_MODEL_WEIGHTS.items() if h in heads})
    for name, weight in spec.items():
        if name in heads:
            head_weights[name] = weight
            continue
        reward = get_reward(name)
        overlap = heads.intersection(reward.heads)
        if overlap:
            raise ConfigError(f"reward {name!r} produces head(s) {sorted(overlap)} that another "
                              "reward already produces")
        rewards.append(reward)
        heads.update(reward.heads)
        head_weights.update({h: weight for h in reward.heads})
    if not rewards:
        raise ConfigError("no rewards to evaluate with; pass --reward-model DIR and/or "
                          "--reward NAME=WEIGHT (see `fairguard rewards`)")
    return WeightedRewards(rewards, head_weights or None)
