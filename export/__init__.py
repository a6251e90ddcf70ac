"""ONNX export of the reward model and the ONNX scorer (installed as ``fairguard.export``)."""

from __future__ import annotations

from fairguard.lazy import lazy_attributes

__all__ = ["export_onnx", "OnnxExportConfig", "OnnxRewardScorer"]

# onnxruntime / optimum load only when these are used
__getattr__ = lazy_attributes(__name__, {
    "export_onnx": "fairguard.export.onnx_export",
    "OnnxExportConfig": "fairguard.export.config",
    "OnnxRewardScorer": "fairguard.export.onnx_scorer",
})
