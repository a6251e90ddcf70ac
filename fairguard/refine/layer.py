"""The REFINE-LM layer: top-k log-probabilities -> Linear(k, k) -> softmax, and its artifact.

The input is the LM's top-k full-vocabulary log-probabilities at the answer slot (its top-k
logits shifted by one constant per row, so the layer does not see the arbitrary logit offset of
a prompt). The weights start as the identity and the bias at zero, so the untrained layer
returns exactly the LM's own distribution renormalised over its top k; training must earn any
change. (The reference code starts from all-ones weights, i.e. an almost uniform output.)

Artifact folder: ``refine.safetensors`` (``weight`` [k, k], ``bias`` [k]) and ``fairguard.json``
with ``kind: "refine-layer"``, the base model name and fingerprint, k, categories, prompt format
and metrics. Loading it for another base model raises :class:`ArtifactError`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fairguard.artifacts import METADATA_FILE, read_metadata, write_json
from fairguard.errors import ArtifactError

KIND = "refine-layer"
WEIGHTS_FILE = "refine.safetensors"


class RefineLayer(nn.Module):
    """Maps top-k log-probabilities ``[..., k]`` to a refined distribution over the same k tokens.

    With ``keep_order`` (the default for new layers) the refined probabilities are sorted back
    into the LM's ranking: the layer may flatten or sharpen the top k but never re-rank it, so
    the greedy answer stays the LM's. The layer sees only the sorted values, not which token is
    which, so any re-ranking it learns is blind to the answer the context states.
    """

    def __init__(self, k: int, keep_order: bool = True):
        super().__init__()
        self.k = int(k)
        self.keep_order = bool(keep_order)
        self.linear = nn.Linear(self.k, self.k)
        with torch.no_grad():
            self.linear.weight.copy_(torch.eye(self.k))
            self.linear.bias.zero_()

    def _check(self, topk_logprobs: torch.Tensor) -> None:
        if topk_logprobs.shape[-1] != self.k:
            raise ArtifactError(f"layer has k={self.k} but got {topk_logprobs.shape[-1]} top-k "
                                "values; use the k the layer was trained with")

    def forward(self, topk_logprobs: torch.Tensor) -> torch.Tensor:
        """Refined log-probabilities over the k slots."""
        self._check(topk_logprobs)
        x = topk_logprobs.to(self.linear.weight.dtype)
        out = torch.log_softmax(self.linear(x), dim=-1)
        if self.keep_order:
            out = torch.sort(out, dim=-1, descending=True).values
        return out

    def probs(self, topk_logprobs: torch.Tensor) -> torch.Tensor:
        """Refined probabilities over the k slots."""
        return self.forward(topk_logprobs).exp()


def tokenizer_digest(tokenizer: Any) -> str:
    """Hash of the tokenizer's vocabulary (token -> id)."""
    vocab = sorted(tokenizer.get_vocab().items())
    return hashlib.sha256(json.dumps(vocab).encode()).hexdigest()[:16]


def model_fingerprint(model: Any, tokenizer: Any) -> str:
    """Identity of a base model: architecture, sizes, a strided sample of its output weights, and
    its tokenizer. Two checkpoints of one architecture with different weights differ."""
    cfg = model.config
    head = model.get_output_embeddings().weight.detach().float().flatten()
    sample = head[:: max(1, head.numel() // 4096)][:4096].contiguous()
    h = hashlib.sha256()
    h.update(json.dumps([getattr(cfg, "model_type", ""), list(getattr(cfg, "architectures", None) or []),
                         getattr(cfg, "vocab_size", None), getattr(cfg, "hidden_size", None),
                         getattr(cfg, "num_hidden_layers", None)]).encode())
    h.update(sample.numpy().round(5).tobytes())
    h.update(tokenizer_digest(tokenizer).encode())
    return h.hexdigest()[:16]


def check_tokenizer(meta: dict[str, Any], tokenizer: Any, folder: str | os.PathLike[str] = "") -> None:
    """Raise :class:`ArtifactError` unless ``tokenizer`` is the layer's base-model tokenizer."""
    if meta.get("tokenizer_digest") != tokenizer_digest(tokenizer):
        raise ArtifactError(
            f"the layer in {folder} was trained on base model {meta.get('base_model', '?')!r}, whose "
            "tokenizer differs from the one given; use the base model's tokenizer or train a layer "
            "for this model with `fairguard train refine`")


def save_layer(layer: RefineLayer, folder: str | os.PathLike[str], metadata: dict[str, Any]) -> None:
    """Write ``refine.safetensors`` and ``fairguard.json`` into ``folder``."""
    from safetensors.torch import save_file

    folder = Path(folder)
    save_file({"weight": layer.linear.weight.detach().contiguous(),
               "bias": layer.linear.bias.detach().contiguous()}, str(folder / WEIGHTS_FILE))
    write_json(folder / METADATA_FILE, {"kind": KIND, "k": layer.k, "keep_order": layer.keep_order,
                                        **metadata})


def load_layer(folder: str | os.PathLike[str], *, fingerprint: str | None = None,
               tokenizer: Any = None) -> tuple[RefineLayer, dict[str, Any]]:
    """Load a layer folder; with ``fingerprint`` (or ``tokenizer``) check it fits that base model.

    Raises :class:`ArtifactError` for a missing/corrupt folder or a different base model.
    """
    from safetensors.torch import load_file

    folder = Path(folder)
    meta = read_metadata(folder, KIND)
    path = folder / WEIGHTS_FILE
    if not path.is_file():
        raise ArtifactError(f"{folder} has no {WEIGHTS_FILE}; re-train the layer")
    k = meta.get("k")
    if not isinstance(k, int) or k < 2:
        raise ArtifactError(f"{folder / METADATA_FILE} has no valid k; re-train the layer")
    try:
        tensors = load_file(str(path))
        weight, bias = tensors["weight"], tensors["bias"]
    except Exception as exc:
        raise ArtifactError(f"{path} is corrupt ({type(exc).__name__}: {exc}); re-train the layer") from exc
    if tuple(weight.shape) != (k, k) or tuple(bias.shape) != (k,):
        raise ArtifactError(f"{path} holds shapes {tuple(weight.shape)}/{tuple(bias.shape)}, "
                            f"not ({k}, {k})/({k},); re-train the layer")
    base = meta.get("base_model", "?")
    if fingerprint is not None and meta.get("base_fingerprint") != fingerprint:
        raise ArtifactError(
            f"the layer in {folder} was trained on base model {base!r} (fingerprint "
            f"{meta.get('base_fingerprint')}), not on this model (fingerprint {fingerprint}); "
            f"use it with {base!r} or train a layer for this model with `fairguard train refine`")
    if tokenizer is not None:
        check_tokenizer(meta, tokenizer, folder)
    keep_order = meta.get("keep_order", False)  # layers saved before the option re-rank freely
    if not isinstance(keep_order, bool):
        raise ArtifactError(f"{folder / METADATA_FILE}: keep_order must be true or false; re-train the layer")
    layer = RefineLayer(k, keep_order=keep_order)
    with torch.no_grad():
        layer.linear.weight.copy_(weight)
        layer.linear.bias.copy_(bias)
    layer.eval()
    return layer, meta
