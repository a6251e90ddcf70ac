"""Fusing an exported encoder graph with onnxruntime's transformer optimizer (before quantising).

optimum's export keeps every MatMul, Softmax, LayerNorm and GELU of the encoder as separate
nodes. onnxruntime's transformer optimizer (``onnxruntime.transformers.optimizer``, the BERT
fusions) rewrites them into its fused CPU kernels: ``EmbedLayerNormalization`` (word, position
and segment embeddings + LayerNorm), ``Attention`` (one packed QKV projection, softmax and
context), ``LayerNormalization`` and ``BiasGelu``; residual adds stay ``Add`` nodes, not
``SkipLayerNormalization``, whose CPU kernel is slower than ``Add`` + ``LayerNormalization``
at the sizes a judge runs (docs/export.md, "Residual LayerNorms"). The dynamic
quantizer then turns ``Attention`` into ``QAttention`` and ``EmbedLayerNormalization`` into
``QEmbedLayerNormalization``; quantising the unfused graph leaves attention as a dozen small
ops per layer. BERT/MiniLM graphs fuse completely; MPNet's attention, which adds a relative-position
bias to its scores, becomes ``MultiHeadAttention`` with packed Q/K/V projections
(:mod:`fairguard.export.attention_fusion`); DeBERTa-v2/v3's disentangled attention has no fused
kernel, so only its LayerNorms and GELUs fuse. A graph in which nothing fuses, or on
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

from fairguard.export.attention_fusion import fuse_biased_attention, graph_constants

log = logging.getLogger("fairguard.export")

OPTIMIZER = "onnxruntime.transformers.optimizer.optimize_model"
OPTIMIZER_MODEL_TYPE = "bert"  # the encoder fusions; other optimizer types are decoders/vision
# Fused operators worth naming, in the optimizer's statistics (the rest are decoder/vision ops).
ENCODER_FUSIONS = ("EmbedLayerNormalization", "Attention", "MultiHeadAttention",
                   "SkipLayerNormalization", "LayerNormalization", "BiasGelu", "FastGelu", "Gelu")
# Ops that act on each position alone: after the last attention, a chain of these feeding the
# pooler's first-token Gather can run on the first token only.
_POSITIONWISE = frozenset({"MatMul", "Add", "Mul", "Sub", "Div", "Cast", "Tanh", "Erf", "Sqrt",
                           "Relu", "Gelu", "FastGelu", "BiasGelu", "LayerNormalization",
                           "SkipLayerNormalization", "SkipSimplifiedLayerNormalization"})
_ATTENTION_OPS = ("Attention", "MultiHeadAttention")
FIRST_TOKEN_INDEX = "fairguard_first_token_index"


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
    first_token_nodes: int = 0  # nodes after the last attention that run on the first token only
    first_token_reason: str | None = None  # why that was not done

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
            # Residual add + LayerNorm stay Add + LayerNormalization: onnxruntime's fused
            # SkipLayerNormalization CPU kernel is slower (make_session's DISABLED_OPTIMIZERS).
            options.enable_skip_layer_norm = False
            options.enable_bias_skip_layer_norm = False
            optimized = optimize_model(str(src), model_type=OPTIMIZER_MODEL_TYPE,
                                       num_heads=details["num_heads"],
                                       hidden_size=details["hidden_size"],
                                       optimization_options=options, opt_level=0, use_gpu=False)
            counts = {op: int(n) for op, n in optimized.get_fused_operator_statistics().items()
                      if n and op in ENCODER_FUSIONS}
        except Exception as exc:  # noqa: BLE001 - the optimizer raises many types
            return not_fused(f"{OPTIMIZER} failed ({type(exc).__name__}: {exc})", **details)
        if not any(op in counts for op in _ATTENTION_OPS):
            try:
                biased = fuse_biased_attention(optimized.model, details["num_heads"])
            except Exception as exc:  # noqa: BLE001 - an unusual graph must not stop the export
                biased = 0
                log.info("ONNX export: biased attention left unfused (%s: %s)",
                         type(exc).__name__, exc)
            if biased:
                counts["MultiHeadAttention"] = biased
        if not counts:
            return not_fused("the optimizer found no encoder pattern to fuse in this "
                             f"{details['source_model_type'] or 'unknown'} graph", **details)
        try:
            first_token = first_token_tail(optimized.model)
        except Exception as exc:  # noqa: BLE001 - an unusual graph must not stop the export
            first_token = f"the first-token cut failed ({type(exc).__name__}: {exc})"
        optimized.save_model_to_file(str(dst))
    details["nodes_after"] = len(optimized.model.graph.node)
    report = FusionReport(fused=True, fused_ops=counts, **details)
    if isinstance(first_token, int):
        report.first_token_nodes = first_token
    else:
        report.first_token_reason = first_token
        log.info("ONNX export: the last layer runs on every token (%s)", first_token)
    if "Attention" not in counts and "MultiHeadAttention" not in counts:
        log.info("ONNX export: attention is not fused in this %s graph (no fused kernel for its "
                 "attention); fused %s", details["source_model_type"], counts)
    return report


def _is_first_token_gather(node: Any, constants: dict[str, Any]) -> bool:
    from onnx import numpy_helper

    if node.op_type != "Gather" or len(node.input) != 2 or node.input[1] not in constants:
        return False
    axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
    index = numpy_helper.to_array(constants[node.input[1]])
    return axis == 1 and index.size == 1 and int(index.reshape(-1)[0]) == 0


def first_token_tail(model: Any) -> int | str:
    """Make the nodes between the last fused attention and the pooler's first-token ``Gather``
    run on the first token only (in place), returning how many; or, leaving ``model`` as it
    is, the reason they cannot.

    A sequence classifier reads only the first token's final hidden state, so after the last
    attention (which still reads every token's keys and values) the output projection,
    residual LayerNorms and feed-forward block are needed for that one position. Two ``Gather``
    nodes (attention output and the residual) cut their inputs to ``[batch, 1, hidden]``; the
    logits are unchanged.
    """
    import numpy as np
    from onnx import helper, numpy_helper

    graph = model.graph
    constants = graph_constants(model)
    nodes = list(graph.node)
    gathers = [i for i, node in enumerate(nodes) if _is_first_token_gather(node, constants)]
    attentions = [i for i, node in enumerate(nodes) if node.op_type in _ATTENTION_OPS]
    if len(gathers) != 1:
        return f"{len(gathers)} first-token Gather nodes (expected the pooler's one)"
    if not attentions:
        return "no fused attention node"
    last_attention, pooler = attentions[-1], gathers[0]
    if pooler < last_attention:
        return "the first-token Gather comes before the last attention"
    wanted, tail = {nodes[pooler].input[0]}, []
    for node in reversed(nodes[last_attention + 1:pooler]):
        if any(out in wanted for out in node.output):
            if node.op_type not in _POSITIONWISE:
                return f"{node.op_type} between the last attention and the pooler"
            tail.append(node)
            wanted.update(name for name in node.input if name)
    tail.reverse()
    if not tail:
        return "nothing between the last attention and the pooler"
    produced = {out for node in tail for out in node.output}
    in_tail = {id(node) for node in tail}
    if any(out.name in produced for out in graph.output) or any(
            id(node) not in in_tail and i != pooler and produced.intersection(node.input)
            for i, node in enumerate(nodes)):
        return "another node or output reads the last layer's hidden states"
    cut: list[str] = []
    for node in tail:
        for name in node.input:
            if name and name not in constants and name not in produced and name not in cut:
                cut.append(name)
    graph.initializer.append(numpy_helper.from_array(np.array([0], np.int64), FIRST_TOKEN_INDEX))
    renamed = {name: f"{name}_first_token" for name in cut}
    for node in tail:
        for k, name in enumerate(node.input):
            if name in renamed:
                node.input[k] = renamed[name]
    for k, name in enumerate(cut):
        nodes.insert(last_attention + 1 + k, helper.make_node(
            "Gather", [name, FIRST_TOKEN_INDEX], [renamed[name]], name=f"FirstToken_{k}", axis=1))
    del graph.node[:]
    graph.node.extend(nodes)
    return len(tail)
