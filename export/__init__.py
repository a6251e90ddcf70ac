"""ONNX export of the reward model and the ONNX scorer (installed as ``fairguard.export``)."""

from __future__ import annotations

from typing import Any

__all__ = ["export_onnx", "OnnxExportConfig", "OnnxRewardScorer"]

_LAZY = {
    "export_onnx": "fairguard.export.onnx_export",
    "OnnxExportConfig": "fairguard.export.config",
    "OnnxRewardScorer": "fairguard.export.onnx_scorer",
}


def __getattr__(name: str) -> Any:
    """Import onnxruntime / optimum only when these are used."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fairguard.export' has no attribute {name!r}")
