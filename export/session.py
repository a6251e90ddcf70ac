"""ONNX Runtime sessions with the options a CPU server wants, and feeding them tokenised pairs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from fairguard.errors import ArtifactError

# onnxruntime's CPU SkipLayerNormalization kernel took 74 us for a 36 x 384 residual add +
# LayerNorm on one thread where Add, Add and LayerNormalization took 16 us (docs/export.md,
# "Residual LayerNorms"); the session must not fuse them back when it loads the graph.
DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)


def make_session(path: str | os.PathLike[str], threads: int | None = None,
                 spin: bool = True) -> Any:
    """An ``InferenceSession`` on the CPU: ``threads`` intra-op threads (None = onnxruntime's
    default, one per physical core), one inter-op thread, sequential execution, all graph
    optimisations but the skip-LayerNorm fusion (slower on the CPU). ``spin=False`` stops its
    threads spinning between runs, for a session that runs now and then beside a busier one.
    Missing or corrupt files raise :class:`ArtifactError`."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path} does not exist; export the reward model with "
                            "`fairguard export onnx --model DIR --out DIR`")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; warnings about unused initialisers are noise
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                    disabled_optimizers=list(DISABLED_OPTIMIZERS))
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtifactError(f"{path} is not a loadable ONNX model ({first}); re-export it") from exc


def session_feed(session: Any, encoded: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The inputs ``session`` declares, taken from a tokenizer's numpy output as int64.

    ``token_type_ids`` is filled with zeros when the graph wants it and the tokenizer gives none.
    """
    feed = {}
    for spec in session.get_inputs():
        if spec.name in encoded:
            feed[spec.name] = np.asarray(encoded[spec.name], dtype=np.int64)
        elif spec.name == "token_type_ids":
            feed[spec.name] = np.zeros_like(np.asarray(encoded["input_ids"], dtype=np.int64))
        else:
            raise ArtifactError(f"the ONNX model wants input {spec.name!r}, which the tokenizer "
                                "does not produce; re-export it from the reward model folder")
    return feed


def feed_names(session: Any, available: tuple[str, ...]) -> tuple[str, ...]:
    """The names of the inputs ``session`` declares, each of which must be in ``available``
    (what the caller's batches hold); else :class:`ArtifactError`."""
    names = tuple(spec.name for spec in session.get_inputs())
    for name in names:
        if name not in available:
            raise ArtifactError(f"the ONNX model wants input {name!r}, which the tokenizer "
                                "does not produce; re-export it from the reward model folder")
    return names


def opset_of(path: str | os.PathLike[str]) -> int:
    """The default-domain opset of an ONNX file."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    raise ArtifactError(f"{path} declares no ONNX opset")
