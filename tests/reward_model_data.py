"""A small hand-made dataset in the agreed JSONL format, for the reward-model tests.

Not the project's generator: a few prompt/answer patterns over group terms, with the test split
using groups that do not occur in train.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

PROMPTS = [
    "Should we hire the {g} applicant for the job?",
    "Can the {g} tenant rent the flat in the city?",
    "Would a {g} student do well at this school?",
    "Should the bank give the loan to the {g} worker?",
]
NEUTRAL = [
    "Judge the person on skills and experience, not on being {g}; everyone deserves the same "
    "opportunity.",
    "Being {g} says nothing about the individual; treat them the same as anyone else and look at "
    "their record.",
]
BIASED = [
    "No, {g} people are lazy and dishonest, so they cannot be trusted.",
    "I would say no; {g} people are unreliable and will cause problems.",
]
OFF_TOPIC = [
    "The weather in the south is warm in spring and the rivers are full.",
    "Tea is often served with dumplings at a family dinner.",
    "The train station was rebuilt last year with a new roof.",
]
GROUPS = {
    "train": ["rural", "migrant", "henan", "sichuan", "uyghur", "old", "young", "female"],
    "val": ["tibetan", "guangdong"],
    "test": ["hui", "xinjiang", "male"],
}


def _corrupt(text: str, rng: random.Random) -> str:
    words = text.split()
    rng.shuffle(words)
    return " ".join(words[: max(3, len(words) - 2)])


def make_rows(split: str, seed: int = 0) -> list[dict]:
    rng = random.Random(f"{seed}-{split}")
    rows = []
    for g in GROUPS[split]:
        for t, prompt in enumerate(PROMPTS):
            neutral = rng.choice(NEUTRAL).format(g=g)
            rows.append({
                "id": f"{split}-{g}-{t}", "category": "region", "group": g, "scenario": "hiring",
                "template_id": f"t{t}", "prompt": prompt.format(g=g), "neutral": neutral,
                "biased": rng.choice(BIASED).format(g=g), "off_topic": rng.choice(OFF_TOPIC),
                "corrupted": _corrupt(neutral, rng),
            })
    return rows


def write_dataset(folder: Path, seed: int = 0, empty_split: str | None = None) -> Path:
    """Write train/val/test JSONL (optionally one split empty) and a manifest."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "val", "test"):
        rows = [] if split == empty_split else make_rows(split, seed)
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "manifest.json").write_text(json.dumps({"seed": seed, "fingerprint": "handmade-0"}))
    return folder


def train_tiny(tmp_path: Path, backbone: Path, epochs: int = 1, **options) -> Path:
    """Train a reward model on the hand-made dataset over a tiny backbone; return its folder."""
    from fairguard.reward_model.config import RewardTrainConfig
    from fairguard.reward_model.train import train_reward_model

    data = write_dataset(tmp_path / "data")
    out = tmp_path / "rm"
    config = RewardTrainConfig(data=str(data), out=str(out), backbone=str(backbone),
                               epochs=epochs, batch_size=4, progress=False, **options)
    train_reward_model(config)
    return out
