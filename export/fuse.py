"""Fusing an exported encoder graph with onnxruntime's transformer optimizer (before quantising).

optimum's export keeps every MatMul, Softmax, LayerNorm and GELU of the encoder as separate
nodes. onnxruntime's transformer optimizer (``onnxruntime.transformers.optimizer``, the BERT
fusions) rewrites them into its fused CPU kernels: ``EmbedLayerNormalization`` (word, position
and segment embeddings + LayerNorm), ``Attention`` (one packed QKV projection, softmax and
context), ``SkipLayerNormalization`` (residual add + LayerNorm) and ``BiasGelu``. The dynamic
quantizer then turns ``Attention`` into ``QAttention`` and ``EmbedLayerNormalization`` into
``QEmbedLayerNormalization``; quantising the unfused graph leaves attention as a dozen small
ops per layer. BERT/MiniLM graphs fuse completely; DeBERTa-v2/v3's disentangled attention has
no fused kernel, so only its LayerNorms and GELUs fuse. A graph in which nothing fuses, or on
which the optimizer fails, is kept as exported and the report says why.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("fairguard.export")

OPTIMIZER = "onnxruntime.transformers.optimizer.optimize_model"
OPTIMIZER_MODEL_TYPE = "bert"  # the encoder fusions; other optimizer types are decoders/vision
# Fused operators worth naming, in the optimizer's statistics (the rest are decoder/vision ops).
ENCODER_FUSIONS = ("EmbedLayerNormalization", "Attention", "MultiHeadAttention",
                   "SkipLayerNormalization", "LayerNormalization", "BiasGelu", "FastGelu", "Gelu")


@dataclass
class FusionReport:
    """What the optimizer did to a graph; ``fused`` is False (with ``reason``) when the exported
    graph was kept unchanged."""

    fused: bool
    reason: str | None = None
    optimizer: str = OPTIMIZER
    model_type: str = OPTIMIZER_MODEL_TYPE
    source_model_type: str | None = None
    num_heads: int = 0
    hidden_size: int = 0
    fused_ops: dict[str, int] = field(default_factory=dict)
    nodes_before: int | None = None
    nodes_after: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def not_fused(reason: str, **details: Any) -> FusionReport:
    """A report for a graph kept as exported, logging ``reason`` as a warning."""
    log.warning("ONNX export: the graph is not fused (%s); exporting it unfused", reason)
    return FusionReport(fused=False, reason=reason, **details)


def model_details(model_config: Any) -> dict[str, Any]:
    """The model type, attention heads and hidden size the optimizer is told (0: infer)."""
    return {
        "source_model_type": getattr(model_config, "model_type", None),
        "num_heads": int(getattr(model_config, "num_attention_heads", 0) or 0),
        "hidden_size": int(getattr(model_config, "hidden_size", 0) or 0),
    }


def _optimizer_loggers() -> list[logging.Logger]:
    """The optimizer's loggers (its modules log under their bare names, e.g. ``fusion_base``)."""
    prefixes = ("onnxruntime.transformers", "fusion_", "onnx_model", "optimizer",
                "shape_infer", "symbolic_shape_infer")
    return [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
            if name.startswith(prefixes)]


@contextmanager
def _quiet_optimizer() -> Iterator[None]:
    """Silence the optimizer's per-pattern info and warnings while it runs."""
    loggers = _optimizer_loggers()
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _node_count(path: Path) -> int:
    import onnx

    return len(onnx.load(str(path), load_external_data=False).graph.node)


def fuse_transformer_graph(src: str | os.PathLike[str], dst: str | os.PathLike[str],
                           model_config: Any = None) -> FusionReport:
    """Write ``src`` with onnxruntime's encoder fusions applied to ``dst``.

    ``model_config``: the Hugging Face config of the exported model (heads and hidden size
    are read from it; without it the optimizer infers them). When the optimizer fails or fuses
    nothing, ``dst`` is not written and the report has ``fused=False`` and the reason.
    """
    src, dst = Path(src), Path(dst)
    details = model_details(model_config)
    try:
        from onnxruntime.transformers.fusion_options import FusionOptions
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError as exc:
        return not_fused(f"onnxruntime's transformer optimizer is not importable ({exc})",
                         **details)
    with _quiet_optimizer():
        try:
            details["nodes_before"] = _node_count(src)
            options = FusionOptions(OPTIMIZER_MODEL_TYPE)
            options.enable_gelu_approximation = False  # exact erf GELU: parity with torch
            optimized = optimize_model(str(src), model_type=OPTIMIZER_MODEL_TYPE,
                                       num_heads=details["num_heads"],
                                       hidden_size=details["hidden_size"],
                                       optimization_options=options, opt_level=0, use_gpu=False)
            counts = {op: int(n) for op, n in optimized.get_fused_operator_statistics().items()
                      if n and op in ENCODER_FUSIONS}
        except Exception as exc:  # noqa: BLE001 - the optimizer raises many types
            return not_fused(f"{OPTIMIZER} failed ({type(exc).__name__}: {exc})", **details)
        if not counts:
            return not_fused("the optimizer found no encoder pattern to fuse in this "
                             f"{details['source_model_type'] or 'unknown'} graph", **details)
        optimized.save_model_to_file(str(dst))
    details["nodes_after"] = len(optimized.model.graph.node)
    report = FusionReport(fused=True, fused_ops=counts, **details)
    if "Attention" not in counts and "MultiHeadAttention" not in counts:
        log.info("ONNX export: attention is not fused in this %s graph (no fused kernel for its "
                 "attention); fused %s", details["source_model_type"], counts)
    return report
