"""Building a multi-head reward model over any HF encoder, and loading a trained one safely.

The artifact is an ordinary ``AutoModelForSequenceClassification`` folder: ``config.json`` with
``id2label`` = the head names and ``problem_type`` = ``multi_label_classification``,
``model.safetensors``, the tokenizer, plus ``fairguard.json`` (kind ``reward-model``).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from fairguard.artifacts import read_metadata
from fairguard.errors import ArtifactError, ModelNotFoundError
from fairguard.reward_model.ensemble import ENSEMBLE_KIND
from fairguard.reward_model.tokenize import DEFAULT_MAX_LENGTH

KIND = "reward-model"
WEIGHTS_FILE = "model.safetensors"


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence the expected 'newly initialized classifier' warning while building."""
    from transformers.utils import logging

    previous = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(previous)


def label_config(heads: Sequence[str]) -> dict[str, Any]:
    """The config keys that make a classifier a multi-head reward model."""
    heads = list(heads)
    return {
        "num_labels": len(heads),
        "id2label": dict(enumerate(heads)),
        "label2id": {head: i for i, head in enumerate(heads)},
        "problem_type": "multi_label_classification",
    }


def build_reward_model(backbone: str, heads: Sequence[str]) -> tuple[Any, Any, str]:
    """Return ``(model, tokenizer, location)`` with a fresh head per name over ``backbone``.

    ``backbone`` is an embedded name (``minilm-l6``), a local folder or a hub id.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from fairguard.models import resolve_model

    location = resolve_model(backbone)
    hint = ("use an embedded backbone (minilm-l6), a complete Hugging Face folder, or a hub id "
            "when online")
    try:
        tokenizer = AutoTokenizer.from_pretrained(location)
    except Exception as exc:  # corrupt/missing tokenizer files surface as many exception types
        raise ModelNotFoundError(f"backbone {backbone!r}: could not load its tokenizer from "
                                 f"{location} ({type(exc).__name__}: {_first_line(exc)}); {hint}") from exc
    try:
        with _quiet_transformers():
            model = AutoModelForSequenceClassification.from_pretrained(
                location, ignore_mismatched_sizes=True, **label_config(heads))
    except Exception as exc:  # corrupt weights/config: OSError, ValueError, SafetensorError, ...
        raise ModelNotFoundError(f"backbone {backbone!r}: could not load weights from {location} "
                                 f"({type(exc).__name__}: {_first_line(exc)}); {hint}") from exc
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ModelNotFoundError(f"backbone {backbone!r} has no pad or eos token; choose an "
                                     "encoder with a padding token")
        tokenizer.pad_token = tokenizer.eos_token
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer, location


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""


@dataclass
class LoadedRewardModel:
    """A trained reward model, ready to score (eval mode)."""

    model: Any
    tokenizer: Any
    metadata: dict[str, Any]
    heads: tuple[str, ...]
    max_length: int
    thresholds: dict[str, float]
    folder: Path


def _retrain_hint(folder: Path) -> str:
    return (f"re-create it with `fairguard train reward --data DATA --out {folder} --overwrite` "
            "or point at another reward-model folder")


def read_reward_metadata(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Validate ``fairguard.json`` and the head names in ``config.json``; return (metadata, heads)."""
    folder = Path(folder)
    if not folder.exists():
        raise ArtifactError(f"reward model folder {folder} does not exist; train one with "
                            "`fairguard train reward --data DATA --out DIR`")
    metadata = read_metadata(folder)
    if metadata.get("kind") == ENSEMBLE_KIND:
        raise ArtifactError(f"{folder} is an ensemble of reward models (`fairguard train ensemble`), "
                            "not one model: load it with get_reward('reward-model', path=...) or "
                            f"any --reward-model / --model option, or use one of its {folder}/members/")
    if metadata.get("kind") != KIND:
        raise ArtifactError(f"{folder} holds a {metadata.get('kind')!r} artifact, expected {KIND!r}")
    heads = metadata.get("heads")
    if (not isinstance(heads, list) or not heads
            or not all(isinstance(h, str) and h for h in heads) or len(set(heads)) != len(heads)):
        raise ArtifactError(f"{folder}/fairguard.json has no valid 'heads' list; {_retrain_hint(folder)}")
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ArtifactError(f"{folder} has no config.json; the folder is incomplete; {_retrain_hint(folder)}")
    try:
        config = json.loads(config_path.read_text())
        id2label = config["id2label"]
        config_heads = [id2label[str(i)] for i in range(len(id2label))]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{config_path} is corrupt or has no id2label ({exc}); "
                            f"{_retrain_hint(folder)}") from exc
    if config_heads != heads:
        raise ArtifactError(
            f"{folder}: heads in fairguard.json {heads} do not match config.json id2label "
            f"{config_heads}; the two files come from different models; {_retrain_hint(folder)}")
    return metadata, tuple(heads)


def load_reward_model(folder: str | os.PathLike[str], device: str | None = None) -> LoadedRewardModel:
    """Load and validate a reward-model folder; every problem is an :class:`ArtifactError`."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(folder)
    metadata, heads = read_reward_metadata(folder)
    if not (folder / WEIGHTS_FILE).is_file():
        raise ArtifactError(f"{folder} has no {WEIGHTS_FILE}; the folder is incomplete "
                            f"(an ONNX-only folder needs backend='onnx'); {_retrain_hint(folder)}")
    max_length = metadata.get("max_length", DEFAULT_MAX_LENGTH)
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ArtifactError(f"{folder}/fairguard.json has an invalid max_length {max_length!r}; "
                            f"{_retrain_hint(folder)}")
    raw_thresholds = metadata.get("thresholds") or {}
    if not isinstance(raw_thresholds, dict):
        raise ArtifactError(f"{folder}/fairguard.json: thresholds must be a mapping of head: value")
    try:
        thresholds = {head: float(raw_thresholds.get(head, 0.5)) for head in heads}
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"{folder}/fairguard.json: a threshold is not a number ({exc})") from exc
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
    except Exception as exc:
        raise ArtifactError(f"{folder}: the tokenizer files are missing or corrupt "
                            f"({type(exc).__name__}: {_first_line(exc)}); {_retrain_hint(folder)}") from exc
    try:
        model = AutoModelForSequenceClassification.from_pretrained(folder)
    except Exception as exc:
        raise ArtifactError(f"{folder}: the model weights or config are corrupt "
                            f"({type(exc).__name__}: {_first_line(exc)}); {_retrain_hint(folder)}") from exc
    if model.config.num_labels != len(heads):
        raise ArtifactError(f"{folder}: the model has {model.config.num_labels} outputs but "
                            f"fairguard.json names {len(heads)} heads; {_retrain_hint(folder)}")
    model.eval()
    if device is not None:
        try:
            model.to(device)
        except (RuntimeError, AssertionError) as exc:
            from fairguard.errors import ConfigError

            raise ConfigError(f"cannot move the reward model to device {device!r} ({exc}); "
                              "use device='cpu'") from exc
    return LoadedRewardModel(model=model, tokenizer=tokenizer, metadata=metadata, heads=heads,
                             max_length=max_length, thresholds=thresholds, folder=folder)
