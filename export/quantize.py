"""Dynamic int8 quantisation of an exported reward model (onnxruntime's quantizer)."""

from __future__ import annotations

import copy
import json
import logging
import os
import tempfile
from collections.abc import Collection, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fairguard.errors import FairguardError

# Every op type the dynamic quantizer supports (MatMul, Attention -> QAttention on a fused
# graph, Gather / EmbedLayerNormalization = the embedding tables, Gemm, ...). Measured on the
# trained MiniLM-L6 reward model (1200 test-split pairs, docs/export.md "int8 settings"):
# leaving attention in fp32 makes batch-1 calls ~40 % slower; quantising the embedding tables
# shrinks the file from 59 MB to 23 MB at the same decision agreement; per-tensor weight scales
# double the mean logit error and cost ~2 points of agreement per head; reduce_range (for CPUs
# without VNNI) only adds error. Hence all op types, per-channel, no reduce_range.
# SmoothQuant on every quantised MatMul/Attention input at alpha 0.8 (docs/export.md, issue #21):
# the error is in the activations (per-tensor uint8 at run time; one LayerNorm channel reaches
# 28 where the median channel is 2, GELU outputs 25), not the weights; smoothing halves the mean
# logit error for 0-5 % more time at batch 1 (one Mul per node), where keeping the FFN output
# projections in fp32 removes less error and costs ~40-65 %. alpha 0.5 made it worse.
# GPTQ on the smoothed weights (docs/export.md, "GPTQ"): after smoothing, rounding the weights
# is most of the int8 error that is left; GPTQ's compensated rounding on the int8 grid cut the
# mean score error on the val split by 9-18 % per head at no run-time cost.
# Output bias correction (docs/export.md, "Output bias correction"): what error is left shifts
# the logits one way per head (on the fourteenth judge's val split fairness -0.08, relevance
# +0.13, fluency +0.06 logits, int8 - fp32), so int8 flips decisions mostly in one direction;
# subtracting the shift measured on the calibration pairs costs one Add of [batch, heads].
DEFAULT_OP_TYPES: tuple[str, ...] | None = None
DEFAULT_GPTQ = True
GPTQ_DAMP = 0.01  # diagonal damping, as a share of the Hessian's mean diagonal (the GPTQ paper's)
GPTQ_BLOCK = 128  # input channels whose rounding errors are spread before the rest is updated
DEFAULT_SMOOTH = "all"
DEFAULT_SMOOTH_ALPHA = 0.8
CALIBRATION_PAIRS = 1024  # train-split pairs whose activation ranges set the smoothing scales
# onnxruntime threads of the calibration passes (activation ranges, GPTQ statistics, the int8
# error): None = one per physical core. Their outputs are bit for bit those of one thread (MLAS
# splits products by rows and columns, never along the sum; tests/test_export_quantize.py checks
# the int8 graph); with two threads an mpnet export's passes ran 1.6-1.8x as fast (docs/export.md).
CALIBRATION_THREADS: int | None = None
DEFAULT_BIAS_CORRECTION = True
BIAS_CORRECTION_NAME = "fairguard_output_bias_correction"  # the initializer the Add reads
# Boundary re-check (docs/export.md, "Decisions near a threshold"): the int8 error left is
# spread, not shifted, so pairs near a threshold still flip. The scorer re-scores in fp32 any
# pair whose int8 logit lies within this quantile of |int8 - fp32| on the calibration pairs of
# some head's threshold.
RECHECK_QUANTILE = 0.98
RECHECK_MARGINS_KEY = "fairguard_recheck_margins"  # the int8 graph's metadata_props entry


@dataclass(frozen=True)
class QuantizeOptions:
    """How weights are quantised (signed 8-bit, per output channel or per tensor), which nodes
    stay fp32, and whether activation outliers are smoothed onto the weights first."""

    per_channel: bool = True
    reduce_range: bool = False
    op_types: tuple[str, ...] | None = DEFAULT_OP_TYPES  # None = all supported
    exclude: tuple[str, ...] = ()  # node names kept in fp32
    fp32_gelu_matmuls: int = 0  # the first N MatMuls that read a GELU output (FFN outputs) too
    smooth: str | None = DEFAULT_SMOOTH  # SmoothQuant the inputs of: "all" / "gelu" / None
    smooth_alpha: float = DEFAULT_SMOOTH_ALPHA  # migration strength (0: none, 1: all on weights)
    gptq: bool = DEFAULT_GPTQ  # round the MatMul / Attention weights by GPTQ (per-channel, 8 bits)
    bias_correction: bool = DEFAULT_BIAS_CORRECTION  # remove int8's mean logit shift per head

    @property
    def gptq_applies(self) -> bool:
        """GPTQ rounds onto the grid onnxruntime will use: per-channel scales, full 8-bit range."""
        return self.gptq and self.per_channel and not self.reduce_range

    @property
    def needs_calibration(self) -> bool:
        return self.smooth is not None or self.gptq_applies or self.bias_correction

    def describe(self) -> dict[str, Any]:
        return {"method": "onnxruntime.quantization.quantize_dynamic", "weight_type": "QInt8",
                **asdict(self), "gptq": self.gptq_applies,
                "op_types": "all supported" if self.op_types is None else list(self.op_types),
                "exclude": list(self.exclude)}


@dataclass
class Calibration:
    """Session feeds of real pairs for measuring activation ranges, and where they came from."""

    feeds: list[dict[str, np.ndarray]]
    source: str
    pairs: int

    def describe(self) -> dict[str, Any]:
        return {"source": self.source, "pairs": self.pairs}


def calibration_pairs(tokenizer: Any, max_length: int,
                      data: str | os.PathLike[str] | None = None,
                      max_pairs: int = CALIBRATION_PAIRS, batch_size: int = 32) -> Calibration:
    """The first ``max_pairs`` pairs of ``data``'s train split (never the split the parity
    check reads), else the built-in pairs, tokenised as the scorer does in batches."""
    from fairguard.errors import DataError
    from fairguard.export.batching import PairBatcher
    from fairguard.export.parity_inputs import builtin_pairs, dataset_pairs

    pairs = None
    if data is not None:
        try:
            pairs = dataset_pairs(data, "train", max_pairs)
        except DataError as exc:
            logging.getLogger("fairguard.export").info(
                "int8 calibration: no train split in %s (%s); using the built-in pairs", data, exc)
    if pairs is None or not len(pairs):
        pairs = builtin_pairs()
    batcher = PairBatcher(tokenizer, max_length)
    feeds = [{name: array.copy() for name, array in arrays.items()}
             for _, arrays in batcher.batches(pairs.prompts, pairs.responses, batch_size)]
    return Calibration(feeds, pairs.source, len(pairs))


def _passes(feeds: list[dict[str, np.ndarray]], desc: str, progress: bool) -> Iterable[Any]:
    """``feeds`` under a progress bar (one tick per calibration batch) when ``progress``."""
    from tqdm.auto import tqdm

    return tqdm(feeds, desc=desc, unit="batch", disable=not progress, leave=False)


def quantize_int8(fp32_path: str | os.PathLike[str], out_path: str | os.PathLike[str],
                  options: QuantizeOptions = QuantizeOptions(),
                  calibration: Iterable[dict[str, np.ndarray]] | None = None,
                  progress: bool = False) -> Path:
    """Write a dynamically quantised (int8 weights, int8/uint8 activations at run time) copy.

    With ``options.smooth``, the graph is first smoothed (:func:`smooth_activations`) with
    activation ranges measured on ``calibration`` (session feeds of real pairs); with
    ``options.gptq`` (per-channel, full range), its weights are then rounded by
    :func:`gptq_round_weights` on the same feeds. With ``options.bias_correction``, the int8
    graph's mean logit shift from ``fp32_path`` on the feeds is then subtracted
    (:func:`correct_output_bias`). Whenever ``calibration`` is given, the quantile
    ``RECHECK_QUANTILE`` of each head's remaining ``|int8 - fp32|`` logit error on it is
    recorded in the graph (:func:`recheck_margins`). ``progress``: a bar for each pass over
    the calibration pairs and for the GPTQ rounding.
    """
    exclude = _fp32_nodes(fp32_path, options)
    if calibration is None and not options.needs_calibration:
        return _quantize_dynamic(fp32_path, out_path, options, exclude)
    if calibration is None:
        raise FairguardError("smoothing, GPTQ and bias correction of the int8 graph need "
                             "calibration pairs")
    feeds = list(calibration)
    steps = [(f"smoothing {fp32_path}", lambda src, dst: smooth_activations(
        src, dst, str(options.smooth), options.smooth_alpha,
        _passes(feeds, "int8: activation ranges", progress), skip=exclude))
        ] if options.smooth is not None else []
    if options.gptq_applies:
        steps.append((f"GPTQ rounding of {fp32_path}", lambda src, dst: gptq_round_weights(
            src, dst, _passes(feeds, "int8: GPTQ input statistics", progress), skip=exclude,
            progress=progress)))
    with tempfile.TemporaryDirectory(prefix="fairguard-int8-") as tmp:
        current = Path(fp32_path)
        for i, (what, step) in enumerate(steps):
            target = Path(tmp) / f"step{i}.onnx"
            try:
                step(current, target)
            except FairguardError:
                raise
            except Exception as exc:  # noqa: BLE001 - onnx and onnxruntime raise many types
                raise FairguardError(f"{what} before int8 quantisation failed "
                                     f"({type(exc).__name__}: {exc}); export with --quantize none") from exc
            current = target
        uncorrected = Path(tmp) / "int8.onnx"
        _quantize_dynamic(current, uncorrected, options, exclude)
        try:
            import onnx

            diffs = output_diffs(fp32_path, uncorrected,
                                 _passes(feeds, "int8: error against fp32", progress))
            model = onnx.load(str(uncorrected))
            if options.bias_correction:
                correction = _add_output_bias(model, -diffs.mean(axis=0))
                diffs = diffs + correction
            _record_recheck_margins(model, np.quantile(np.abs(diffs), RECHECK_QUANTILE, axis=0))
            onnx.save(model, str(out_path))
        except FairguardError:
            raise
        except Exception as exc:  # noqa: BLE001 - onnx and onnxruntime raise many types
            raise FairguardError(f"measuring the int8 graph of {fp32_path} against fp32 (for "
                                 "bias correction and the re-check margins) failed "
                                 f"({type(exc).__name__}: {exc}); export with --quantize none") from exc
        return Path(out_path)


def output_diffs(fp32_path: str | os.PathLike[str], int8_path: str | os.PathLike[str],
                 feeds: Iterable[dict[str, np.ndarray]]) -> np.ndarray:
    """``int8 - fp32`` of the graphs' first outputs over ``feeds``, ``[pairs, columns]``
    (float64; columns = heads for logits)."""
    from fairguard.export.session import make_session

    sessions = [make_session(fp32_path, threads=CALIBRATION_THREADS),
                make_session(int8_path, threads=CALIBRATION_THREADS)]
    names = [{spec.name for spec in s.get_inputs()} for s in sessions]
    diffs: list[np.ndarray] = []
    for feed in feeds:
        ref, got = (s.run(None, {k: v for k, v in feed.items() if k in n})[0]
                    for s, n in zip(sessions, names))
        diffs.append((got.astype(np.float64) - ref.astype(np.float64)).reshape(-1, ref.shape[-1]))
    if not diffs:
        raise FairguardError("comparing the int8 graph with fp32 needs calibration pairs; none "
                             "were given")
    out = np.concatenate(diffs)
    if not np.all(np.isfinite(out)):
        raise FairguardError("the int8 graph's outputs on the calibration pairs are not finite; "
                             "export with --quantize none")
    return out


def correct_output_bias(fp32_path: str | os.PathLike[str], int8_path: str | os.PathLike[str],
                        dst: str | os.PathLike[str],
                        feeds: Iterable[dict[str, np.ndarray]]) -> np.ndarray:
    """Write ``int8_path`` to ``dst`` with an ``Add`` on its first output that removes the mean
    difference from ``fp32_path``'s first output over ``feeds`` (per output column: per head
    for logits); return that correction (bias correction, Nagel et al., 2019, applied to the
    graph's output)."""
    import onnx

    correction = -output_diffs(fp32_path, int8_path, feeds).mean(axis=0)
    model = onnx.load(str(int8_path))
    added = _add_output_bias(model, correction)
    onnx.save(model, str(dst))
    return added


def _add_output_bias(model: Any, correction: np.ndarray) -> np.ndarray:
    """Add ``correction`` (as float32, returned) to the first output of the ``ModelProto``."""
    import onnx
    from onnx import numpy_helper

    correction = np.asarray(correction, dtype=np.float32)
    output = model.graph.output[0].name
    raw = f"{output}_before_bias_correction"
    for node in model.graph.node:
        node.output[:] = [raw if name == output else name for name in node.output]
        node.input[:] = [raw if name == output else name for name in node.input]
    model.graph.initializer.append(numpy_helper.from_array(correction, BIAS_CORRECTION_NAME))
    model.graph.node.append(onnx.helper.make_node(
        "Add", [raw, BIAS_CORRECTION_NAME], [output], name="fairguard_bias_correction"))
    return correction


def _record_recheck_margins(model: Any, margins: np.ndarray) -> None:
    """Store the re-check margins (one per output column) in the ``ModelProto``'s metadata."""
    kept = [p for p in model.metadata_props if p.key != RECHECK_MARGINS_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    entry = model.metadata_props.add()
    entry.key = RECHECK_MARGINS_KEY
    entry.value = json.dumps({"quantile": RECHECK_QUANTILE,
                              "margins": [float(f"{m:.6g}") for m in margins]})


def recheck_margins(path: str | os.PathLike[str]) -> list[float] | None:
    """The re-check margins (logits, one per head) recorded in the int8 graph at ``path``, if
    any: within this distance of a head's threshold, an int8 score is re-scored in fp32."""
    import onnx

    for entry in onnx.load(str(path), load_external_data=False).metadata_props:
        if entry.key == RECHECK_MARGINS_KEY:
            return [float(v) for v in json.loads(entry.value)["margins"]]
    return None


def output_bias_correction(path: str | os.PathLike[str]) -> list[float] | None:
    """The correction :func:`correct_output_bias` put into the int8 graph at ``path``, if any."""
    import onnx
    from onnx import numpy_helper

    for init in onnx.load(str(path), load_external_data=False).graph.initializer:
        if init.name == BIAS_CORRECTION_NAME:
            return [float(v) for v in numpy_helper.to_array(init)]
    return None


def _fp32_nodes(fp32_path: str | os.PathLike[str], options: QuantizeOptions) -> list[str]:
    """The nodes kept in fp32: ``options.exclude`` and the first ``fp32_gelu_matmuls`` MatMuls
    that read a GELU output (named in the graph before it is smoothed)."""
    exclude = list(options.exclude)
    if options.fp32_gelu_matmuls:
        import onnx

        try:
            model = onnx.load(str(fp32_path), load_external_data=False)
        except Exception as exc:  # noqa: BLE001 - onnx raises many types
            raise FairguardError(f"int8 quantisation of {fp32_path} failed ({type(exc).__name__}: "
                                 f"{exc}); export with --quantize none") from exc
        exclude += [node.name for node in smoothing_targets(model, "gelu")
                    if node.op_type == "MatMul"][:options.fp32_gelu_matmuls]
    return exclude


def _quantize_dynamic(fp32_path: str | os.PathLike[str], out_path: str | os.PathLike[str],
                      options: QuantizeOptions, exclude: list[str]) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer logs a "consider pre-processing" warning
    op_types = None if options.op_types is None else list(options.op_types)
    # Dynamic quantisation first rewrites each Gemm as "<name>_MatMul" plus an Add, and matches
    # nodes_to_exclude against the new names.
    exclude = exclude + [f"{name}_MatMul" for name in exclude]
    try:
        quantize_dynamic(
            str(fp32_path), str(out_path), op_types_to_quantize=op_types,
            per_channel=options.per_channel, reduce_range=options.reduce_range,
            weight_type=QuantType.QInt8, nodes_to_exclude=exclude or None,
            # Fused graphs hold contrib ops (Attention, SkipLayerNormalization) that ONNX shape
            # inference cannot type; their outputs are float32.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    except Exception as exc:  # noqa: BLE001 - the quantizer raises many types
        raise FairguardError(f"int8 quantisation of {fp32_path} failed ({type(exc).__name__}: "
                             f"{exc}); export with --quantize none") from exc
    finally:
        root.setLevel(level)
    return Path(out_path)


SMOOTH_CHOICES = ("gelu", "all")
_GELU_OPS = ("Gelu", "BiasGelu", "FastGelu")


def smoothing_targets(model: Any, which: str) -> list[Any]:
    """The nodes whose input activation is smoothed: ``"gelu"``, the MatMuls that read a GELU
    output (the feed-forward output projections); ``"all"``, every MatMul and Attention whose
    weight is a constant ``[in, out]`` matrix."""
    if which not in SMOOTH_CHOICES:
        raise FairguardError(f"smooth must be one of {', '.join(SMOOTH_CHOICES)}, got {which!r}")
    weights = {init.name for init in model.graph.initializer if len(init.dims) == 2}
    producers = {out: node.op_type for node in model.graph.node for out in node.output}
    return [node for node in model.graph.node
            if node.op_type in ("MatMul", "Attention") and len(node.input) > 1
            and node.input[1] in weights and node.input[0] not in weights
            and (which == "all" or producers.get(node.input[0], "").endswith(_GELU_OPS))]


def probe_activations(model: Any, tensors: list[str], feeds: Iterable[dict[str, np.ndarray]],
                      real_tokens_only: bool = False) -> Iterator[dict[str, np.ndarray]]:
    """For each feed, the values of ``tensors`` in the (fp32) graph as ``[rows, channels]``, one
    row per leading position; with ``real_tokens_only``, padding positions are left out where
    the tensor has the feed's ``[batch, tokens]`` shape."""
    import onnx

    from fairguard.export.session import make_session

    probe = copy.deepcopy(model)
    del probe.graph.output[:]
    for name in tensors:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT,
                                                                     None))
    with tempfile.TemporaryDirectory(prefix="fairguard-probe-") as tmp:
        onnx.save(probe, os.path.join(tmp, "probe.onnx"))
        session = make_session(os.path.join(tmp, "probe.onnx"), threads=CALIBRATION_THREADS)
        names = {spec.name for spec in session.get_inputs()}
        for feed in feeds:
            values = session.run(tensors, {k: v for k, v in feed.items() if k in names})
            mask = feed.get("attention_mask")
            rows = {}
            for name, value in zip(tensors, values):
                if (real_tokens_only and mask is not None and value.ndim == 3
                        and value.shape[:2] == mask.shape):
                    rows[name] = value[mask.astype(bool)]
                else:
                    rows[name] = value.reshape(-1, value.shape[-1])
            yield rows


def activation_maxima(model: Any, tensors: list[str],
                      feeds: Iterable[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-channel (last axis) max |value| of ``tensors`` over the ``feeds`` (fp32 graph),
    padding positions included: run-time activation scales cover them too in a padded batch."""
    maxima: dict[str, np.ndarray] = {}
    for values in probe_activations(model, tensors, feeds):
        for name, value in values.items():
            m = np.abs(value).max(axis=0)
            maxima[name] = np.maximum(maxima[name], m) if name in maxima else m
    if not maxima:
        raise FairguardError("smoothing needs calibration pairs; none were given")
    return maxima


def gptq_round_weights(src: str | os.PathLike[str], dst: str | os.PathLike[str],
                       feeds: Iterable[dict[str, np.ndarray]], skip: Collection[str] = (),
                       damp: float = GPTQ_DAMP, progress: bool = False) -> int:
    """GPTQ (Frantar et al., 2023) on the constant ``[in, out]`` weight of every MatMul and
    Attention (nodes named in ``skip`` left alone): each output channel is put on the symmetric
    int8 grid that onnxruntime's per-channel quantiser computes for it (scale ``max|W|/127``),
    input channel by input channel in order of decreasing input energy, and each rounding
    error is spread over the input channels still to come through the inverse Hessian
    ``X^T X`` of the node's input on ``feeds`` (real tokens only). The quantiser then keeps
    exactly these values. Writes ``dst``; returns how many weights were rounded. ``progress``:
    a bar over the weights."""
    import onnx
    import torch
    from onnx import numpy_helper
    from tqdm.auto import tqdm

    model = onnx.load(str(src))
    targets = [node for node in smoothing_targets(model, "all") if node.name not in skip]
    inputs = sorted({node.input[0] for node in targets})
    hessians: dict[str, Any] = {}
    for values in probe_activations(model, inputs, feeds, real_tokens_only=True):
        for name, value in values.items():
            # each batch's product in float32 (half the time of float64; relative error about
            # 1e-6, far under the damping), summed over the batches in float64
            x = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
            product = (x.T @ x).double()
            hessians[name] = hessians[name] + product if name in hessians else product
    if targets and not hessians:
        raise FairguardError("GPTQ needs calibration pairs; none were given")
    inits = {init.name: init for init in model.graph.initializer}
    for node in tqdm(targets, desc="int8: GPTQ rounding", unit="weight", disable=not progress,
                     leave=False):
        weight = torch.from_numpy(numpy_helper.to_array(inits[node.input[1]]).astype(np.float64))
        rounded = _gptq(weight, hessians[node.input[0]].clone(), damp)
        name = f"{node.name or node.output[0]}_gptq"
        model.graph.initializer.append(numpy_helper.from_array(rounded.numpy().astype(np.float32),
                                                               name))
        node.input[1] = name
    _save_without_unused_initializers(model, dst)
    return len(targets)


def _save_without_unused_initializers(model: Any, dst: str | os.PathLike[str]) -> None:
    import onnx

    used = {name for node in model.graph.node for name in node.input}
    kept = [init for init in model.graph.initializer if init.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    onnx.save(model, str(dst))


def _gptq(weight: Any, hessian: Any, damp: float) -> Any:
    """``weight`` ``[in, out]`` rounded onto its per-output-channel int8 grid by GPTQ."""
    import torch

    scale = weight.abs().max(dim=0).values / 127.0
    scale[scale == 0] = 1.0
    w = weight.T.clone()  # [out, in]: GPTQ walks the input channels (columns)
    dead = torch.diag(hessian) == 0
    hessian[dead, dead] = 1.0
    w[:, dead] = 0.0
    order = torch.argsort(torch.diag(hessian), descending=True)
    w, hessian = w[:, order], hessian[order][:, order]
    hessian += damp * torch.mean(torch.diag(hessian)) * torch.eye(len(hessian), dtype=hessian.dtype)
    inverse = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(hessian)),
                                    upper=True)
    q = torch.empty_like(w)
    # The GPTQ paper's lazy batch updates: each column's error reaches the rest of its block at
    # once, the columns after the block by one product per block (the same sums, grouped).
    for start in range(0, w.shape[1], GPTQ_BLOCK):
        stop = min(start + GPTQ_BLOCK, w.shape[1])
        block, errors = w[:, start:stop], torch.empty_like(w[:, start:stop])
        for i in range(stop - start):
            column = block[:, i]
            q[:, start + i] = torch.clamp(torch.round(column / scale), -127, 127)
            errors[:, i] = (column - q[:, start + i] * scale) / inverse[start + i, start + i]
            block[:, i:] -= errors[:, i, None] * inverse[start + i, start + i:stop][None, :]
        w[:, stop:] -= errors @ inverse[start:stop, stop:]
    q = q[:, torch.argsort(order)]
    # A channel must keep a +-127 entry, or onnxruntime would compute a smaller scale: restore
    # the largest original weight's own rounding where compensation moved it.
    short = torch.nonzero(q.abs().max(dim=1).values < 127).flatten()
    if len(short):
        top = weight.T.abs().argmax(dim=1)[short]
        q[short, top] = torch.round(weight.T[short, top] / scale[short])
    return (q * scale[:, None]).T


def _folding_attentions(model: Any, targets: list[Any],
                        weights: set[str]) -> dict[str, list[tuple[Any, int]]]:
    """For each target (by its first output) whose input channels are a fused attention's V
    output channels, read by that target alone (through first-token ``Gather`` cuts at most),
    the ``(node, input index)`` of the weight and the bias whose last columns make V: a
    per-channel scale of the target's input can then live there instead of a ``Mul``. That is
    an ``Attention`` node's packed QKV weight and bias, or the packed projection that feeds a
    ``MultiHeadAttention`` through a ``Split`` (:mod:`fairguard.export.attention_fusion`)."""
    producers = {out: n for n in model.graph.node for out in n.output}
    readers: dict[str, int] = {}
    for n in model.graph.node:
        for name in n.input:
            readers[name] = readers.get(name, 0) + 1
    outputs = {out.name for out in model.graph.output}
    found = {}
    for node in targets:
        fold = _attention_behind(node.input[0], producers, readers, outputs, weights)
        if fold is not None:
            found[node.output[0]] = fold
    return found


def _attention_behind(tensor: str, producers: dict[str, Any], readers: dict[str, int],
                      outputs: set[str], weights: set[str]) -> list[tuple[Any, int]] | None:
    while True:
        producer = producers.get(tensor)
        if producer is None or readers.get(tensor, 0) != 1 or tensor in outputs:
            return None
        if producer.op_type == "Gather":  # a cut over batch or tokens keeps the channels
            axis = next((a.i for a in producer.attribute if a.name == "axis"), 0)
            if axis not in (0, 1):
                return None
            tensor = producer.input[0]
            continue
        if producer.domain != "com.microsoft" or len(producer.output) != 1:
            return None
        if producer.op_type == "MultiHeadAttention":
            return _packed_value_projection(producer, producers, readers, outputs, weights)
        ok = (producer.op_type == "Attention" and len(producer.input) > 2
              and producer.input[1] in weights and producer.input[2] in weights
              and not any(a.name == "qkv_hidden_sizes" for a in producer.attribute))
        return [(producer, 1), (producer, 2)] if ok else None


def _packed_value_projection(attention: Any, producers: dict[str, Any], readers: dict[str, int],
                             outputs: set[str], weights: set[str]) -> list[tuple[Any, int]] | None:
    """The packed ``MatMul`` weight and ``Add`` bias whose last third a ``MultiHeadAttention``
    reads as its value, through the last of a ``Split``'s three outputs; None otherwise."""
    if len(attention.input) < 3 or not attention.input[2]:
        return None
    value = attention.input[2]
    split = producers.get(value)
    if (split is None or split.op_type != "Split" or len(split.output) != 3
            or split.output[2] != value or readers.get(value, 0) != 1 or value in outputs
            or next((a.i for a in split.attribute if a.name == "axis"), 0) != -1):
        return None
    add = producers.get(split.input[0])
    if add is None or add.op_type != "Add" or readers.get(split.input[0], 0) != 1:
        return None
    for b, m in ((0, 1), (1, 0)):
        matmul = producers.get(add.input[m])
        if (add.input[b] in weights and matmul is not None and matmul.op_type == "MatMul"
                and matmul.input[1] in weights and readers.get(add.input[m], 0) == 1):
            return [(matmul, 1), (add, b)]
    return None


def smooth_activations(src: str | os.PathLike[str], dst: str | os.PathLike[str], which: str,
                       alpha: float, feeds: Iterable[dict[str, np.ndarray]],
                       skip: Collection[str] = ()) -> int:
    """SmoothQuant (Xiao et al., 2023) on an fp32 graph: each target node's input channel ``j``
    is divided by ``s_j = max|x_j|^alpha / max|W_j|^(1 - alpha)`` and its weight row ``j``
    multiplied by ``s_j``, so the product is unchanged while the activation's outlier channels
    shrink before per-tensor int8 quantisation. ``max|x_j|`` comes from running the graph on
    ``feeds``; nodes named in ``skip`` (kept in fp32) are left alone. The division is a ``Mul``
    before the node, or, where the input is a fused attention's output, folded into that
    attention's V weights and bias (an ``Attention`` node's, or a ``MultiHeadAttention``'s
    packed projection) (attention mixes tokens, never channels), which costs
    nothing at run time. Writes ``dst``; returns how many nodes were smoothed."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    targets = [node for node in smoothing_targets(model, which) if node.name not in skip]
    if not targets:
        onnx.save(model, str(dst))
        return 0
    inits = {init.name: init for init in model.graph.initializer}
    maxima = activation_maxima(model, sorted({node.input[0] for node in targets}), feeds)
    scales: dict[str, np.ndarray] = {}
    for node in targets:
        weight = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        x_max = maxima[node.input[0]].astype(np.float64)
        w_max = np.abs(weight).max(axis=1).astype(np.float64)
        scale = np.where((x_max > 0) & (w_max > 0),
                         x_max ** alpha / np.maximum(w_max, 1e-8) ** (1.0 - alpha), 1.0)
        scales[node.output[0]] = np.clip(scale, 1e-5, 1e5)
    folds = _folding_attentions(model, targets, set(inits))
    own: dict[tuple[str, int], np.ndarray] = {}  # (node output, input index) -> its own copy

    def array(node: Any, index: int) -> np.ndarray:
        key = (node.output[0], index)
        if key not in own:
            own[key] = numpy_helper.to_array(inits[node.input[index]]).astype(np.float32)
        return own[key]

    for node in targets:  # rows first, from the original weights (as the scales were)
        scale = scales[node.output[0]].astype(np.float32)
        own[(node.output[0], 1)] = array(node, 1) * scale[:, None]
    owners = {node.output[0]: node for node in targets}
    for node in targets:
        inverse = (1.0 / scales[node.output[0]]).astype(np.float32)
        for owner, index in folds.get(node.output[0], []):
            owners[owner.output[0]] = owner
            value = array(owner, index)
            if value.ndim == 2:
                value[:, value.shape[1] - inverse.size:] *= inverse
            else:
                value[value.size - inverse.size:] *= inverse
    for (owner, index), value in own.items():
        node = owners[owner]
        name = f"{node.name or node.output[0]}_smooth_{index}"
        model.graph.initializer.append(numpy_helper.from_array(value, name))
        node.input[index] = name
    nodes = list(model.graph.node)
    for node in targets:
        if node.output[0] in folds:
            continue
        stem = f"{node.name or node.output[0]}_smooth"
        model.graph.initializer.append(
            numpy_helper.from_array((1.0 / scales[node.output[0]]).astype(np.float32),
                                    stem + "_inv_scale"))
        mul = onnx.helper.make_node("Mul", [node.input[0], stem + "_inv_scale"], [stem + "_input"],
                                    name=stem)
        nodes.insert(nodes.index(node), mul)
        node.input[0] = stem + "_input"
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    _save_without_unused_initializers(model, dst)
    return len(targets)
