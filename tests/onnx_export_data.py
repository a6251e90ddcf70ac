"""Shared pieces for the ONNX export tests: a tiny reward-model folder and one shared export.

The export is the slow part of these tests, so one tiny DeBERTa-v2 export is made per test
session and shared read-only by the export, scorer and CLI test modules (copy it to change it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

HEADS = ["fairness", "relevance", "fluency"]
_SHARED: dict[str, Path] = {}


def write_metadata(folder: Path, heads: list[str] = HEADS, max_length: int = 64,
                   backbone: str = "tiny-deberta-v2") -> Path:
    """Write the reward model's ``fairguard.json`` into a classifier folder."""
    (folder / "fairguard.json").write_text(json.dumps({
        "kind": "reward-model", "heads": heads, "thresholds": {h: 0.5 for h in heads},
        "backbone": backbone, "max_length": max_length, "data_fingerprint": "test",
        "metrics": {},
    }))
    return folder


def tiny_reward_dir(folder: Path, seed: int = 0) -> Path:
    """A random tiny DeBERTa-v2 3-head classifier saved as a reward-model folder."""
    from fairguard.testing import save_tiny, tiny_deberta_classifier

    save_tiny(*tiny_deberta_classifier(labels=HEADS, seed=seed), folder)
    return write_metadata(folder)


def _tiny_encoder_reward_dir(folder: Path, config_class: Any, model_class: Any, backbone: str,
                             seed: int, **config: Any) -> Path:
    """A random 2-layer, hidden-32 ``model_class`` with the three heads and the tiny word-level
    tokenizer, saved as a reward-model folder."""
    import torch

    from fairguard.testing import tiny_tokenizer

    tokenizer = tiny_tokenizer("bert")
    torch.manual_seed(seed)
    settings = config_class(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, pad_token_id=tokenizer.pad_token_id, num_labels=len(HEADS),
        id2label=dict(enumerate(HEADS)), label2id={h: i for i, h in enumerate(HEADS)},
        problem_type="multi_label_classification", **config)
    model = model_class(settings).eval()
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return write_metadata(folder, backbone=backbone)


def tiny_bert_reward_dir(folder: Path, seed: int = 0) -> Path:
    """A random tiny BERT (MiniLM's architecture) 3-head classifier as a reward-model folder."""
    from transformers import BertConfig, BertForSequenceClassification

    return _tiny_encoder_reward_dir(folder, BertConfig, BertForSequenceClassification, "tiny-bert",
                                    seed, max_position_embeddings=128)


def tiny_mpnet_reward_dir(folder: Path, seed: int = 0) -> Path:
    """A random tiny MPNet (all-mpnet-base-v2's architecture) 3-head classifier as a
    reward-model folder; like MPNet's tokenizer, its tokenizer gives no token types."""
    from transformers import MPNetConfig, MPNetForSequenceClassification

    _tiny_encoder_reward_dir(folder, MPNetConfig, MPNetForSequenceClassification, "tiny-mpnet",
                             seed, max_position_embeddings=130)
    tokenizer_config = folder / "tokenizer_config.json"
    settings = json.loads(tokenizer_config.read_text())
    settings["model_input_names"] = ["input_ids", "attention_mask"]
    tokenizer_config.write_text(json.dumps(settings))
    return folder


def shared_export(tmp_path_factory) -> tuple[Path, Path]:
    """``(source, export)``: one tiny reward model and its int8 export, made once per session."""
    if "export" not in _SHARED:
        from fairguard.export.onnx_export import export_onnx

        source = tiny_reward_dir(tmp_path_factory.mktemp("tiny-reward"))
        out = tmp_path_factory.mktemp("tiny-export-parent") / "onnx"
        export_onnx(source, out, progress=False)
        _SHARED["source"], _SHARED["export"] = source, out
    return _SHARED["source"], _SHARED["export"]


def copy_export(export: Path, dest: Path) -> Path:
    """A private copy of an export folder, safe to modify."""
    shutil.copytree(export, dest)
    return dest


def write_test_split(folder: Path, rows: int = 3) -> Path:
    """A dataset folder with a ``test.jsonl`` of ``rows`` rows in the agreed format."""
    folder.mkdir(parents=True, exist_ok=True)
    groups = ["rural", "migrant", "old", "young", "han"]
    lines = []
    for i in range(rows):
        g = groups[i % len(groups)]
        lines.append(json.dumps({
            "id": f"t{i}", "category": "region", "group": g, "scenario": "hiring",
            "template_id": "t", "prompt": f"should we hire the {g} worker for the job?",
            "neutral": f"judge the {g} worker on skills and experience like anyone.",
            "biased": f"no, {g} workers are lazy and dishonest.",
            "off_topic": "the city has a good school and many students.",
            "corrupted": f"judge worker the {g} skills on experience like.",
        }))
    for split in ("train", "val", "test"):
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    return folder
