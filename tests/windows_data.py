"""A tiny reward model that flags one kind of sentence, for the long-answer tests.

Random tiny models give every text about the same score, so they cannot show that a sentence
deep inside a long answer is read. This one is a tiny DeBERTa-v2 fitted in a few seconds to
give fairness 0 to any short answer holding a "lazy"/"dishonest" sentence and 1 otherwise;
shared per test session with its ONNX export.
"""

from __future__ import annotations

import random
from pathlib import Path

from onnx_export_data import HEADS, write_metadata

NEUTRAL = ["the worker is skilled and has good experience.",
           "judge every applicant on skills and experience.",
           "the boss should treat everyone the same.",
           "a fair answer says the same for anyone who has the skills.",
           "the city and the village have many good workers."]
BIASED = ["they are lazy and dishonest because they are rural people.",
          "rural people are lazy.", "migrant workers are dishonest and lazy."]
PROMPTS = ["should we hire the rural worker for the job?", "can the old tenant rent the flat?",
           "who is a good student?"]
MAX_LENGTH = 64
_SHARED: dict[str, Path] = {}


def _sample(rng: random.Random) -> tuple[str, str, list[float]]:
    parts = rng.sample(NEUTRAL, rng.randint(1, 3))
    biased = rng.random() < 0.5
    if biased:
        parts.insert(rng.randint(0, len(parts)), rng.choice(BIASED))
    return rng.choice(PROMPTS), " ".join(parts), [0.0 if biased else 1.0, 1.0, 1.0]


def marker_reward_dir(folder: Path, steps: int = 100) -> Path:
    """Fit the tiny classifier (fairness 0 for answers with a biased sentence) and save it as a
    reward-model folder with ``max_length`` 64."""
    import torch

    from fairguard.reward_model.tokenize import tokenize_pairs
    from fairguard.testing import save_tiny, tiny_deberta_classifier

    model, tokenizer = tiny_deberta_classifier(labels=HEADS, seed=0)
    rng = random.Random(0)
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        batch = [_sample(rng) for _ in range(16)]
        enc = tokenize_pairs(tokenizer, [b[0] for b in batch], [b[1] for b in batch], MAX_LENGTH)
        labels = torch.tensor([b[2] for b in batch])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(**enc).logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    save_tiny(model, tokenizer, folder)
    return write_metadata(folder, max_length=MAX_LENGTH)


def marker_source(tmp_path_factory) -> Path:
    """The fitted tiny reward model (torch folder), made once per session."""
    if "source" not in _SHARED:
        _SHARED["source"] = marker_reward_dir(tmp_path_factory.mktemp("marker-reward"))
    return _SHARED["source"]


def marker_export(tmp_path_factory) -> tuple[Path, Path]:
    """``(source, export)``: the fitted tiny reward model and its int8 export, made once."""
    if "export" not in _SHARED:
        from fairguard.export.onnx_export import export_onnx

        out = tmp_path_factory.mktemp("marker-export-parent") / "onnx"
        export_onnx(marker_source(tmp_path_factory), out, progress=False)
        _SHARED["export"] = out
    return marker_source(tmp_path_factory), _SHARED["export"]
