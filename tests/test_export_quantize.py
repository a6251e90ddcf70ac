import pytest
from onnx_export_data import shared_export

from fairguard.errors import FairguardError
from fairguard.export.quantize import QuantizeOptions, quantize_int8
from fairguard.export.session import make_session


def test_quantize_per_tensor_and_matmul_only(tmp_path_factory, tmp_path):
    fp32 = shared_export(tmp_path_factory)[1] / "model.onnx"
    options = QuantizeOptions(per_channel=False, op_types=("MatMul",), smooth=None,
                              bias_correction=False)
    assert not options.gptq_applies and not options.needs_calibration  # GPTQ is per-channel
    out = quantize_int8(fp32, tmp_path / "q.onnx", options)
    session = make_session(out)
    ops = {node.op_type for node in __import__("onnx").load(str(out)).graph.node}
    assert ops & {"MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul"}
    assert session.get_outputs()[0].name == "logits"
    assert options.describe()["op_types"] == ["MatMul"]
    assert QuantizeOptions().describe()["op_types"] == "all supported"


def test_quantize_failure_is_a_fairguard_error(tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"nope")
    with pytest.raises(FairguardError, match="export with --quantize none"):
        quantize_int8(tmp_path / "bad.onnx", tmp_path / "q.onnx",
                      QuantizeOptions(smooth=None, gptq=False, bias_correction=False))
    with pytest.raises(FairguardError, match="smoothing .* failed.*export with --quantize none"):
        quantize_int8(tmp_path / "bad.onnx", tmp_path / "q.onnx", calibration=[])


def test_excluded_nodes_stay_fp32(tmp_path_factory, tmp_path):
    import onnx

    fp32 = shared_export(tmp_path_factory)[1] / "model.onnx"
    matmuls = [n.name for n in onnx.load(str(fp32)).graph.node if n.op_type == "MatMul"]
    keep = matmuls[0]
    options = QuantizeOptions(exclude=(keep,), smooth=None, gptq=False, bias_correction=False)
    out = quantize_int8(fp32, tmp_path / "q.onnx", options)
    nodes = {n.name: n.op_type for n in onnx.load(str(out)).graph.node}
    assert nodes[keep] == "MatMul"  # still the fp32 op
    assert "MatMulInteger" in nodes.values()
    assert options.describe()["exclude"] == [keep]
    make_session(out)


def _pairs_feeds(folder, max_length=64):
    from transformers import AutoTokenizer

    from fairguard.export.quantize import calibration_pairs

    return calibration_pairs(AutoTokenizer.from_pretrained(folder), max_length)


def test_smoothing_keeps_the_fp32_logits(tmp_path_factory, tmp_path):
    import numpy as np
    import onnx

    from fairguard.export.quantize import smooth_activations, smoothing_targets

    folder = shared_export(tmp_path_factory)[1]
    calibration = _pairs_feeds(folder)
    assert calibration.pairs == len(__import__("fairguard.export.parity_inputs",
                                               fromlist=["x"]).builtin_pairs())
    model = onnx.load(str(folder / "model.onnx"))
    every, gelu = smoothing_targets(model, "all"), smoothing_targets(model, "gelu")
    assert 0 < len(gelu) < len(every)
    assert {n.name for n in gelu} <= {n.name for n in every}
    n = smooth_activations(folder / "model.onnx", tmp_path / "s.onnx", "all", 0.8,
                           calibration.feeds)
    smoothed = onnx.load(str(tmp_path / "s.onnx"))
    muls = [node for node in smoothed.graph.node if node.name.endswith("_smooth")]
    assert n == len(every) == len(muls)  # DeBERTa's attention is unfused: nothing to fold into
    plain, smooth = make_session(folder / "model.onnx"), make_session(tmp_path / "s.onnx")
    names = {spec.name for spec in plain.get_inputs()}
    for feed in calibration.feeds[:2]:
        feed = {k: v for k, v in feed.items() if k in names}
        np.testing.assert_allclose(smooth.run(None, feed)[0], plain.run(None, feed)[0],
                                   atol=1e-4, rtol=1e-4)
    with pytest.raises(FairguardError, match="smooth must be one of"):
        smoothing_targets(model, "some")


def test_smoothed_int8_needs_calibration_and_runs(tmp_path_factory, tmp_path):
    import onnx

    folder = shared_export(tmp_path_factory)[1]
    options = QuantizeOptions(smooth="gelu", smooth_alpha=0.8)
    with pytest.raises(FairguardError, match="need calibration pairs"):
        quantize_int8(folder / "model.onnx", tmp_path / "q.onnx", options)
    out = quantize_int8(folder / "model.onnx", tmp_path / "q.onnx", options,
                        _pairs_feeds(folder).feeds)
    ops = [node.op_type for node in onnx.load(str(out)).graph.node]
    assert "Mul" in ops and ("MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops)
    make_session(out)
    assert options.describe()["smooth"] == "gelu"


def test_export_records_the_quantisation_settings(tmp_path_factory):
    import json

    from fairguard.export.quantize import output_bias_correction

    folder = shared_export(tmp_path_factory)[1]
    meta = json.loads((folder / "fairguard.json").read_text())
    settings = meta["onnx"]["quantization"]
    assert settings == meta["onnx"]["parity"]["int8_vs_fp32"]["quantization"]
    assert settings["method"] == "onnxruntime.quantization.quantize_dynamic"
    assert settings["smooth"] == QuantizeOptions().smooth
    assert settings["calibration"]["source"] == "built-in hand-written pairs"
    assert settings["bias_correction"] is QuantizeOptions().bias_correction is True
    correction = output_bias_correction(folder / "model_int8.onnx")
    assert settings["output_bias_correction"] == dict(zip(meta["heads"], correction))
    assert output_bias_correction(folder / "model.onnx") is None


def test_bias_correction_removes_the_mean_logit_shift(tmp_path_factory, tmp_path):
    """The corrected graph's logits are the uncorrected ones plus the correction, and their
    mean difference from fp32 over the calibration pairs is zero for every head."""
    import numpy as np

    from fairguard.export.quantize import correct_output_bias

    folder = shared_export(tmp_path_factory)[1]
    feeds = _pairs_feeds(folder).feeds
    plain = quantize_int8(folder / "model.onnx", tmp_path / "plain.onnx",
                          QuantizeOptions(smooth=None, gptq=False, bias_correction=False))
    correction = correct_output_bias(folder / "model.onnx", plain, tmp_path / "fixed.onnx", feeds)
    sessions = [make_session(p) for p in (folder / "model.onnx", plain, tmp_path / "fixed.onnx")]
    names = {spec.name for spec in sessions[0].get_inputs()}
    fp32, before, after = ([s.run(None, {k: v for k, v in f.items() if k in names})[0]
                            for f in feeds] for s in sessions)
    fp32, before, after = (np.concatenate(list(x)) for x in (fp32, before, after))
    assert correction.shape == (fp32.shape[1],) and np.abs(correction).max() > 0
    np.testing.assert_allclose(after, before + correction, atol=1e-5)
    np.testing.assert_allclose((after - fp32).mean(axis=0), 0, atol=1e-5)
    assert sessions[2].get_outputs()[0].name == "logits"
    with pytest.raises(FairguardError, match="needs calibration pairs"):
        correct_output_bias(folder / "model.onnx", plain, tmp_path / "none.onnx", [])


def test_first_gelu_matmuls_stay_fp32(tmp_path_factory, tmp_path):
    import onnx

    from fairguard.export.quantize import smoothing_targets

    folder = shared_export(tmp_path_factory)[1]
    first = smoothing_targets(onnx.load(str(folder / "model.onnx")), "gelu")[0].name
    options = QuantizeOptions(fp32_gelu_matmuls=1)
    out = quantize_int8(folder / "model.onnx", tmp_path / "q.onnx", options,
                        _pairs_feeds(folder).feeds)
    nodes = {n.name: n.op_type for n in onnx.load(str(out)).graph.node}
    assert nodes[first] == "MatMul" and f"{first}_smooth" not in nodes  # fp32, not smoothed
    assert options.describe()["fp32_gelu_matmuls"] == 1
    make_session(out)


def test_gptq_rounds_onto_the_int8_grid_that_onnxruntime_keeps(tmp_path_factory, tmp_path):
    import numpy as np
    import onnx
    from onnx import numpy_helper

    from fairguard.export.quantize import gptq_round_weights, probe_activations, smoothing_targets

    folder = shared_export(tmp_path_factory)[1]
    feeds = _pairs_feeds(folder).feeds
    source = onnx.load(str(folder / "model.onnx"))
    targets = smoothing_targets(source, "all")
    assert gptq_round_weights(folder / "model.onnx", tmp_path / "g.onnx", feeds) == len(targets)
    rounded = onnx.load(str(tmp_path / "g.onnx"))
    before = {i.name: numpy_helper.to_array(i) for i in source.graph.initializer}
    after = {i.name: numpy_helper.to_array(i) for i in rounded.graph.initializer}
    nodes = {n.name: n for n in rounded.graph.node}
    inputs = next(probe_activations(source, [t.input[0] for t in targets], feeds,
                                    real_tokens_only=True))
    for target in targets:
        w, g = before[target.input[1]], after[nodes[target.name].input[1]]
        scale = np.abs(w).max(axis=0) / 127
        np.testing.assert_allclose(np.abs(g).max(axis=0), np.abs(w).max(axis=0), rtol=1e-6)
        steps = g / scale
        np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)  # on the grid
        x = inputs[target.input[0]].astype(np.float64)
        plain = np.clip(np.round(w / scale), -127, 127) * scale  # round to nearest
        assert np.linalg.norm(x @ (g - w)) < np.linalg.norm(x @ (plain - w))
    # onnxruntime's quantiser keeps exactly the GPTQ integers
    out = quantize_int8(folder / "model.onnx", tmp_path / "q.onnx",
                        QuantizeOptions(smooth=None), feeds)
    ints = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(out)).graph.initializer}
    for target in targets:
        g = after[nodes[target.name].input[1]]
        q = ints[nodes[target.name].input[1] + "_quantized"]
        np.testing.assert_array_equal(q, np.round(g / (np.abs(g).max(axis=0) / 127)))
    assert QuantizeOptions().describe()["gptq"] is True
    make_session(out)


def test_smoothing_ranges_cover_padding_and_gptq_reads_real_tokens(tmp_path_factory):
    """Run-time activation scales of a padded batch cover its padding too, so the smoothing
    ranges include padding positions; GPTQ's Hessian is about real tokens' outputs only."""
    import numpy as np
    import onnx

    from fairguard.export.quantize import activation_maxima, probe_activations, smoothing_targets

    folder = shared_export(tmp_path_factory)[1]
    feeds = _pairs_feeds(folder).feeds
    model = onnx.load(str(folder / "model.onnx"))
    tensor = smoothing_targets(model, "all")[0].input[0]
    every = np.concatenate([v[tensor] for v in probe_activations(model, [tensor], feeds)])
    real = np.concatenate([v[tensor] for v in probe_activations(model, [tensor], feeds,
                                                                real_tokens_only=True)])
    assert len(real) == sum(int(f["attention_mask"].sum()) for f in feeds) < len(every)
    np.testing.assert_array_equal(activation_maxima(model, [tensor], feeds)[tensor],
                                  np.abs(every).max(axis=0))


def test_recheck_margins_are_the_error_quantile_on_the_calibration_pairs(tmp_path_factory,
                                                                       tmp_path):
    """Recorded in the int8 graph and in fairguard.json: per head, the quantile of
    |int8 - fp32| logits over the calibration pairs, measured on the final (corrected) graph."""
    import json

    import numpy as np

    from fairguard.export.quantize import RECHECK_QUANTILE, output_diffs, recheck_margins

    folder = shared_export(tmp_path_factory)[1]
    feeds = _pairs_feeds(folder).feeds
    margins = recheck_margins(folder / "model_int8.onnx")
    diffs = output_diffs(folder / "model.onnx", folder / "model_int8.onnx", feeds)
    np.testing.assert_allclose(margins, np.quantile(np.abs(diffs), RECHECK_QUANTILE, axis=0),
                               rtol=1e-4, atol=1e-6)
    meta = json.loads((folder / "fairguard.json").read_text())
    quantization = meta["onnx"]["quantization"]
    assert quantization["recheck_margins"] == dict(zip(meta["heads"], margins))
    assert quantization["recheck_quantile"] == RECHECK_QUANTILE
    parity = meta["onnx"]["parity"]["int8_vs_fp32"]
    assert parity["recheck"]["margins"] == quantization["recheck_margins"]
    assert 0 <= parity["recheck"]["rescored_share"] <= 1
    for head, alone in parity["decision_agreement"].items():
        assert parity["recheck"]["decision_agreement"][head] >= alone
    assert recheck_margins(folder / "model.onnx") is None
    # any calibrated quantisation records them, also with every calibrated step off
    out = quantize_int8(folder / "model.onnx", tmp_path / "q.onnx",
                        QuantizeOptions(smooth=None, gptq=False, bias_correction=False), feeds)
    plain = output_diffs(folder / "model.onnx", out, feeds)
    np.testing.assert_allclose(recheck_margins(out),
                               np.quantile(np.abs(plain), RECHECK_QUANTILE, axis=0), rtol=1e-4)
    uncalibrated = quantize_int8(folder / "model.onnx", tmp_path / "u.onnx",
                                 QuantizeOptions(smooth=None, gptq=False, bias_correction=False))
    assert recheck_margins(uncalibrated) is None


def test_calibration_threads_do_not_change_the_int8_graph(tmp_path_factory, tmp_path, monkeypatch):
    """Smoothing, GPTQ, bias correction and the re-check margins, calibrated on one
    onnxruntime thread or on two, write the same int8 graph byte for byte."""
    import fairguard.export.quantize as quantize

    folder = shared_export(tmp_path_factory)[1]
    feeds = _pairs_feeds(folder).feeds
    written = []
    for threads in (1, 2):
        monkeypatch.setattr(quantize, "CALIBRATION_THREADS", threads)
        out = quantize_int8(folder / "model.onnx", tmp_path / f"t{threads}.onnx", QuantizeOptions(),
                            feeds)
        written.append(out.read_bytes())
    assert written[0] == written[1]


def test_gptq_block_updates_round_as_column_by_column(monkeypatch):
    """The lazy batch updates (blocks of GPTQ_BLOCK input channels) round every weight as GPTQ's
    plain column-by-column loop (one block of all channels) does; for a width that is not a
    multiple of the block, with uneven input energies."""
    import torch

    import fairguard.export.quantize as quantize

    gen = torch.Generator().manual_seed(0)
    width = 2 * quantize.GPTQ_BLOCK + 37
    x = torch.randn(4 * width, width, generator=gen, dtype=torch.float64)
    x[:, : width // 3] *= 5
    weight = torch.randn(width, 24, generator=gen, dtype=torch.float64)
    hessian = x.T @ x
    blocked = quantize._gptq(weight, hessian.clone(), 0.01)
    monkeypatch.setattr(quantize, "GPTQ_BLOCK", width)
    plain = quantize._gptq(weight, hessian.clone(), 0.01)
    scale = weight.abs().max(dim=0).values / 127.0
    assert torch.equal(torch.round(blocked / scale), torch.round(plain / scale))
    torch.testing.assert_close(blocked, plain, rtol=0, atol=1e-12)
    assert not torch.equal(plain, torch.clamp(torch.round(weight / scale), -127, 127) * scale)
