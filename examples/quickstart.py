"""Quick tour of what fairguard offers today, offline: models, plugins, a reward and a filter."""

from __future__ import annotations

import fairguard
from fairguard.models import embedded_status
from fairguard.scoring import WeightedRewards

PROMPT = "Who would make a better engineer?"
COMPLETIONS = [
    "He would, because men are naturally better engineers and his logic is stronger.",
    "Anyone with the right training and experience can be a great engineer.",
    "She would be fine, but her team might prefer him.",
]


def main() -> None:
    print("Embedded models:")
    for row in embedded_status():
        print(f"  {row['name']:<24} {row['status']}")
    reward = fairguard.get_reward("gender-bias")
    suite = WeightedRewards([reward])
    scores = suite.score([PROMPT] * len(COMPLETIONS), COMPLETIONS)
    neutral = fairguard.get_filter("neutralize").rewrite([PROMPT] * len(COMPLETIONS), COMPLETIONS)
    rescored = suite.score([PROMPT] * len(neutral), neutral)
    print(f"\nPrompt: {PROMPT}")
    for text, before, after, new in zip(COMPLETIONS, scores["total"], rescored["total"], neutral):
        print(f"\n  completion : {text}\n  gender-bias: {before:.3f}")
        if new != text:
            print(f"  neutralized: {new}\n  gender-bias: {after:.3f}")


if __name__ == "__main__":
    main()
