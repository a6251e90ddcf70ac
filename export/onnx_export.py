"""``export_onnx``: a reward-model folder to ONNX fp32 (+ int8), checked for parity before writing.

The fp32 graph comes from optimum's exporter, fused by onnxruntime's transformer optimizer
(:mod:`fairguard.export.fuse`; the exported graph is kept, and the reason recorded, where it
cannot be fused); the int8 graph is onnxruntime's dynamic quantisation of that fp32 graph.
Both are run on real (prompt, response) pairs and compared with the torch model
before anything is written: fp32 must match within ``fp32_atol`` on every logit or the export
fails and nothing is left at ``out_dir``; for int8 the max difference and the per-head decision
agreement with fp32 are reported (and enforced when ``min_int8_agreement`` is set).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fairguard.artifacts import METADATA_FILE, atomic_output_dir, write_json
from fairguard.errors import ArtifactError, ConfigError, DataError
from fairguard.export.config import OnnxExportConfig
from fairguard.reward_model.ensemble import MEMBERS_DIR, read_ensemble

FP32_FILE = "model.onnx"
INT8_FILE = "model_int8.onnx"
FUSED_TMP_FILE = "model_fused.onnx"  # the fused graph while it is checked
PARITY_FILE = "parity.json"
logger = logging.getLogger("fairguard.export")


@dataclass
class ExportResult:
    """What an export wrote, and its parity report."""

    out: Path
    files: dict[str, str]
    opset: int
    parity: dict[str, Any]
    seconds: float
    fusion: dict[str, Any]  # what the transformer optimizer fused (FusionReport.as_dict)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "transformers", "optimum", "optimum-onnx", "onnx", "onnxruntime"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def _optimum_export(model: Any, folder: Path, opset: int | None) -> None:
    from optimum.exporters.onnx import onnx_export_from_model

    model_type = getattr(model.config, "model_type", "?")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch tracer warnings about python control flow
            onnx_export_from_model(model, folder, task="text-classification", opset=opset,
                                   do_validation=False)
    except Exception as exc:  # noqa: BLE001 - optimum and torch.onnx raise many types
        raise ArtifactError(f"optimum could not export this {model_type!r} model to ONNX "
                            f"({type(exc).__name__}: {exc})") from exc
    if not (folder / FP32_FILE).is_file():
        raise ArtifactError(f"optimum wrote no {FP32_FILE} for this {model_type!r} model")


def _tqdm(total: int, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="pair", disable=not enabled, leave=False)


def export_onnx(model_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
                progress: bool = True, **options: Any) -> ExportResult:
    """Export the reward model in ``model_dir`` to ONNX in ``out_dir`` (atomically).

    ``options`` are the fields of :class:`OnnxExportConfig` (their defaults are declared there
    once), e.g. ``quantize="none"``, ``data=DATASET_DIR`` (its test split is used for the parity
    check, else built-in pairs), ``optimize=False``. Raises :class:`ArtifactError` when the
    source is missing/corrupt, when fp32 logits differ from torch by more than ``fp32_atol``, or
    when int8 decision agreement is under ``min_int8_agreement``; nothing is written then, and
    :class:`ConfigError` for an option that is not a field.
    """
    fields = {f.name for f in dataclasses.fields(OnnxExportConfig)} - {"model", "out"}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ConfigError(f"export_onnx() got unknown option(s) {', '.join(unknown)}; the options "
                          f"are {', '.join(sorted(fields))}")
    if options.get("data") is not None:
        options["data"] = str(options["data"])
    cfg = OnnxExportConfig(model=str(model_dir), out=str(out_dir), **options)
    return export_onnx_from_config(cfg, progress=progress)


def _checked_fp32(tmp: Path, source: Any, pairs: Any, reference: np.ndarray,
                  cfg: OnnxExportConfig, progress: bool) -> tuple[Any, np.ndarray, dict[str, Any]]:
    """``(fusion report, fp32 logits, fp32-vs-torch report)`` of the fp32 graph left at
    ``tmp/model.onnx``: the fused graph when fusion is on and it passes parity, else the exported
    one (which must pass, or :class:`ArtifactError`)."""
    from fairguard.export.fuse import FusionReport, fuse_transformer_graph, model_details
    from fairguard.export.parity import compare, onnx_logits
    from fairguard.export.session import make_session

    def check(path: Path, desc: str) -> tuple[np.ndarray, dict[str, Any]]:
        with _tqdm(len(pairs), desc, progress) as bar:
            logits = onnx_logits(make_session(path), source.tokenizer, pairs.prompts,
                                 pairs.responses, source.max_length, cfg.batch_size, bar)
        report = compare(reference, logits, source.heads, source.thresholds)
        report["tolerance"] = cfg.fp32_atol
        report["passed"] = report["max_abs_logit_diff"] <= cfg.fp32_atol
        return logits, report

    plain = tmp / FP32_FILE
    if not cfg.optimize:
        fusion = FusionReport(fused=False, reason="turned off (optimize=False / --no-optimize)",
                              **model_details(source.model.config))
    else:
        fused_path = tmp / FUSED_TMP_FILE
        fusion = fuse_transformer_graph(plain, fused_path, source.model.config)
        if fusion.fused:
            try:
                logits, report = check(fused_path, "onnx fp32 (fused) logits")
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                report = {"passed": False, "error": f"{type(exc).__name__}: {first}"}
            if report["passed"]:
                os.replace(fused_path, plain)
                return fusion, logits, report
            fused_path.unlink()
            reason = (f"the fused graph failed to run ({report['error']})" if "error" in report
                      else f"the fused graph's logits differ from torch by "
                      f"{report['max_abs_logit_diff']:.3g} > tolerance {cfg.fp32_atol:.3g}")
            logger.warning("ONNX export: %s; exporting the unfused graph", reason)
            fusion = dataclasses.replace(fusion, fused=False, reason=reason)
    logits, report = check(plain, "onnx fp32 logits")
    if not report["passed"]:
        raise ArtifactError(
            f"ONNX fp32 parity failed: max |logit diff| vs torch is "
            f"{report['max_abs_logit_diff']:.3g} > tolerance {cfg.fp32_atol:.3g} on "
            f"{len(pairs)} pairs from {pairs.source}; nothing was written. The exporter does not "
            "reproduce this model faithfully; try another --opset or report the model type")
    return fusion, logits, report


def calibration_data(cfg: OnnxExportConfig, metadata: dict[str, Any]) -> str | None:
    """The dataset folder whose train split calibrates int8: ``--calibration-data``, else
    ``--data``, else the folder the reward model records as its training data when it is here
    with the recorded fingerprint; None: the built-in pairs."""
    from fairguard.reward_model.examples import data_fingerprint

    for given in (cfg.calibration_data, cfg.data):
        if given is not None:
            return given
    recorded, fingerprint = metadata.get("data"), metadata.get("data_fingerprint")
    if not isinstance(recorded, str) or not recorded:
        return None
    folder = Path(recorded).expanduser()
    if not folder.is_dir():
        logger.info("int8 calibration: the training data %s is not here; using the built-in "
                    "pairs (give --calibration-data DATA for a closer int8)", recorded)
        return None
    if data_fingerprint(folder) != fingerprint:
        logger.warning("int8 calibration: %s has changed since the reward model was trained on it "
                       "(fingerprint %s recorded); using the built-in pairs (give "
                       "--calibration-data DATA to calibrate on it anyway)", recorded, fingerprint)
        return None
    return str(folder)


def export_onnx_from_config(cfg: OnnxExportConfig, progress: bool = True) -> ExportResult:
    """Run an export described by a validated :class:`OnnxExportConfig`."""
    from fairguard.export.parity import compare, onnx_logits, recheck_report, torch_logits
    from fairguard.export.parity_inputs import dataset_pairs, parity_pairs
    from fairguard.export.quantize import (
        RECHECK_QUANTILE,
        QuantizeOptions,
        calibration_pairs,
        output_bias_correction,
        quantize_int8,
        recheck_margins,
    )
    from fairguard.export.session import make_session, opset_of
    from fairguard.export.source import load_reward_source

    start = time.perf_counter()
    if read_ensemble(cfg.model) is not None:
        raise ArtifactError(
            f"{cfg.model} is an ensemble (`fairguard train ensemble`), not one model: export each "
            f"of its members (`fairguard export onnx --model {cfg.model}/{MEMBERS_DIR}/NAME --out "
            "NAME-onnx`) and combine the exports with `fairguard train ensemble --model A-onnx "
            "--model B-onnx`, which calibrates the thresholds on the exported scores")
    if Path(cfg.out).exists() and not cfg.overwrite:  # fail before the slow part
        raise ArtifactError(f"{cfg.out} already exists; choose another --out or pass --overwrite")
    if cfg.calibration_data is not None:  # the dataset loader's own check, before the slow part
        try:
            dataset_pairs(cfg.calibration_data, "train", 1)
        except DataError as exc:
            raise DataError(f"--calibration-data {cfg.calibration_data} has no train split to "
                            f"calibrate on: {exc}") from exc
    source = load_reward_source(cfg.model)
    pairs = parity_pairs(cfg.data, cfg.max_pairs)
    n = len(pairs)
    with _tqdm(n, "torch logits", progress) as bar:
        reference = torch_logits(source.model, source.tokenizer, pairs.prompts, pairs.responses,
                                 source.max_length, cfg.batch_size, bar)

    with atomic_output_dir(cfg.out, cfg.overwrite) as tmp:
        _optimum_export(source.model, tmp, cfg.opset)
        source.tokenizer.save_pretrained(tmp)
        fusion, fp32, fp32_report = _checked_fp32(tmp, source, pairs, reference, cfg, progress)
        files = {"fp32": FP32_FILE}
        report: dict[str, Any] = {
            "inputs": {"source": pairs.source, "pairs": n, "max_length": source.max_length,
                       "batch_size": cfg.batch_size},
            "thresholds": source.thresholds,
            "fp32_vs_torch": fp32_report,
        }
        if cfg.quantize == "int8":
            options = QuantizeOptions(per_channel=cfg.per_channel,
                                      fp32_gelu_matmuls=cfg.fp32_ffn_outputs, gptq=cfg.gptq,
                                      bias_correction=cfg.bias_correction)
            calibration = calibration_pairs(source.tokenizer, source.max_length,
                                            calibration_data(cfg, source.metadata))
            quantize_int8(tmp / FP32_FILE, tmp / INT8_FILE, options, calibration.feeds, progress)
            correction = output_bias_correction(tmp / INT8_FILE)
            margins = recheck_margins(tmp / INT8_FILE)
            quantization = {**options.describe(), "calibration": calibration.describe(),
                            "output_bias_correction": (dict(zip(source.heads, correction))
                                                       if correction else None),
                            "recheck_margins": (dict(zip(source.heads, margins))
                                                if margins else None),
                            "recheck_quantile": RECHECK_QUANTILE}
            int8_session = make_session(tmp / INT8_FILE)
            with _tqdm(n, "onnx int8 logits", progress) as bar:
                int8 = onnx_logits(int8_session, source.tokenizer, pairs.prompts,
                                   pairs.responses, source.max_length, cfg.batch_size, bar)
            int8_report = compare(fp32, int8, source.heads, source.thresholds)
            int8_report["quantization"] = quantization
            if margins:
                int8_report["recheck"] = recheck_report(fp32, int8, source.heads,
                                                        source.thresholds, margins)
            int8_report["vs_torch_max_abs_logit_diff"] = compare(
                reference, int8, source.heads, source.thresholds)["max_abs_logit_diff"]
            int8_report["min_agreement"] = cfg.min_int8_agreement
            report["int8_vs_fp32"] = int8_report
            worst = min(int8_report["decision_agreement"].values())
            if cfg.min_int8_agreement is not None and worst < cfg.min_int8_agreement:
                raise ArtifactError(
                    f"int8 head decisions agree with fp32 on only {worst:.2%} of {n} pairs for "
                    f"some head ({int8_report['decision_agreement']}), under the required "
                    f"{cfg.min_int8_agreement:.2%}; nothing was written. Export with "
                    "--quantize none to serve fp32")
            files["int8"] = INT8_FILE
        opset = opset_of(tmp / FP32_FILE)
        seconds = time.perf_counter() - start
        report["versions"] = _versions()
        write_json(tmp / PARITY_FILE, report)
        metadata = copy.deepcopy(source.metadata)
        metadata["kind"] = "reward-model"
        metadata["heads"] = source.heads
        metadata["onnx"] = {
            "opset": opset,
            "files": files,
            "default": "int8" if "int8" in files else "fp32",
            "source": str(Path(cfg.model).resolve()),
            "exported_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "export_seconds": round(seconds, 2),
            "fusion": fusion.as_dict(),
            "quantization": report.get("int8_vs_fp32", {}).get("quantization"),
            "parity": report,
        }
        write_json(tmp / METADATA_FILE, metadata)
    return ExportResult(Path(cfg.out), files, opset, report, seconds, fusion.as_dict())
