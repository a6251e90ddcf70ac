import json

import numpy as np
import pytest
from onnx_export_data import HEADS, shared_export, tiny_bert_reward_dir, tiny_mpnet_reward_dir

from fairguard.export.fuse import first_token_tail, fuse_transformer_graph
from fairguard.export.parity_inputs import builtin_pairs


def _ops(path):
    import onnx

    return {node.op_type for node in onnx.load(str(path), load_external_data=False).graph.node}


def _logits(path, folder, pairs):
    from transformers import AutoTokenizer

    from fairguard.export.parity import onnx_logits
    from fairguard.export.session import make_session

    return onnx_logits(make_session(path, threads=1), AutoTokenizer.from_pretrained(folder),
                       pairs.prompts, pairs.responses, 64, batch_size=7)


@pytest.fixture(scope="module")
def bert_exports(tmp_path_factory):
    """A tiny BERT reward model exported fused (the default) and unfused."""
    from fairguard.export.onnx_export import export_onnx

    source = tiny_bert_reward_dir(tmp_path_factory.mktemp("tiny-bert"))
    parent = tmp_path_factory.mktemp("bert-exports")
    fused = export_onnx(source, parent / "fused", progress=False)
    plain = export_onnx(source, parent / "plain", optimize=False, progress=False)
    return fused, plain


def test_bert_graph_fully_fused_and_recorded(bert_exports):
    fused, _ = bert_exports
    assert fused.fusion["fused"] is True and fused.fusion["reason"] is None
    ops = fused.fusion["fused_ops"]
    for op in ("EmbedLayerNormalization", "Attention", "LayerNormalization", "BiasGelu"):
        assert ops.get(op, 0) >= 1, ops
    assert ops["Attention"] == 2 and ops["LayerNormalization"] == 4  # 2 layers
    assert "SkipLayerNormalization" not in ops  # residual adds stay Add nodes (faster on the CPU)
    assert fused.fusion["nodes_after"] < fused.fusion["nodes_before"]
    meta = json.loads((fused.out / "fairguard.json").read_text())
    assert meta["onnx"]["fusion"] == fused.fusion
    graph_ops = _ops(fused.out / "model.onnx")
    assert {"Attention", "LayerNormalization", "EmbedLayerNormalization"} <= graph_ops
    assert "SkipLayerNormalization" not in graph_ops
    # quantised after fusion: attention and embeddings run as int8 kernels
    assert {"QAttention", "QEmbedLayerNormalization"} <= _ops(fused.out / "model_int8.onnx")
    assert not (fused.out / "model_fused.onnx").exists()
    # the last layer after its attention (output projection and its bias, 2 residual adds and
    # LayerNorms, feed-forward: 10 nodes) runs on the first token only, in both files
    assert fused.fusion["first_token_nodes"] == 10 and fused.fusion["first_token_reason"] is None
    for name in ("model.onnx", "model_int8.onnx"):
        import onnx

        graph = onnx.load(str(fused.out / name), load_external_data=False).graph
        assert sum(node.name.startswith("FirstToken_") for node in graph.node) == 2


def test_first_token_tail_refuses_what_it_cannot_cut(bert_exports):
    import onnx

    fused, plain = bert_exports
    unfused = onnx.load(str(plain.out / "model.onnx"))
    assert first_token_tail(unfused) == "no fused attention node"
    done = onnx.load(str(fused.out / "model.onnx"))
    before = [node.name for node in done.graph.node]
    assert "first-token Gather" in first_token_tail(done)  # already cut: left as it is
    assert [node.name for node in done.graph.node] == before


def test_fused_graph_equals_unfused(bert_exports):
    fused, plain = bert_exports
    assert plain.fusion["fused"] is False and "turned off" in plain.fusion["reason"]
    assert "Attention" not in _ops(plain.out / "model.onnx")
    pairs = builtin_pairs()
    a = _logits(fused.out / "model.onnx", fused.out, pairs)
    b = _logits(plain.out / "model.onnx", plain.out, pairs)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert fused.parity["fp32_vs_torch"]["max_abs_logit_diff"] <= 1e-4
    agree = fused.parity["int8_vs_fp32"]["decision_agreement"]
    assert set(agree) == set(HEADS)


def test_smoothing_folds_into_the_fused_attention(bert_exports, tmp_path):
    import onnx
    from transformers import AutoTokenizer

    from fairguard.export.quantize import calibration_pairs, smooth_activations, smoothing_targets

    fused, _ = bert_exports
    src = fused.out / "model.onnx"
    model = onnx.load(str(src))
    targets = smoothing_targets(model, "all")
    producers = {out: node.op_type for node in model.graph.node for out in node.output}
    attention_outputs = [t for t in targets if producers[t.input[0]] in ("Attention", "Gather")]
    layers = sum(node.op_type == "Attention" for node in model.graph.node)
    assert len(attention_outputs) == layers >= 2  # the last one reads the first-token Gather
    calibration = calibration_pairs(AutoTokenizer.from_pretrained(fused.out), 64)
    assert smooth_activations(src, tmp_path / "s.onnx", "all", 0.8,
                              calibration.feeds) == len(targets)
    smoothed = onnx.load(str(tmp_path / "s.onnx"))
    muls = [node for node in smoothed.graph.node if node.name.endswith("_smooth")]
    assert len(muls) == len(targets) - layers  # V's weights and bias carry the other scales
    pairs = builtin_pairs()
    np.testing.assert_allclose(_logits(tmp_path / "s.onnx", fused.out, pairs),
                               _logits(src, fused.out, pairs), atol=1e-4, rtol=1e-4)


def test_an_excluded_gemm_stays_fp32(bert_exports, tmp_path):
    """onnxruntime's dynamic quantiser renames a Gemm to "<name>_MatMul" (plus an Add) before it
    reads nodes_to_exclude; the pooler named as it is in the fp32 graph must still be kept."""
    import onnx
    from transformers import AutoTokenizer

    from fairguard.export.quantize import QuantizeOptions, calibration_pairs, quantize_int8

    fused, _ = bert_exports
    src = fused.out / "model.onnx"
    gemms = [n.name for n in onnx.load(str(src)).graph.node if n.op_type == "Gemm"]
    assert gemms  # the pooler and the classifier
    feeds = calibration_pairs(AutoTokenizer.from_pretrained(fused.out), 64).feeds
    out = quantize_int8(src, tmp_path / "q.onnx", QuantizeOptions(exclude=tuple(gemms)), feeds)
    ops = {n.name: n.op_type for n in onnx.load(str(out)).graph.node}
    assert all(ops.get(name) == "Gemm" or ops.get(f"{name}_MatMul") == "MatMul" for name in gemms)
    assert not any(name.startswith(tuple(gemms)) and op == "MatMulInteger" for name, op in ops.items())
    assert "DynamicQuantizeMatMul" in ops.values() or "MatMulInteger" in ops.values()


def test_deberta_fuses_layernorm_and_gelu_not_attention(tmp_path_factory):
    _, export = shared_export(tmp_path_factory)
    meta = json.loads((export / "fairguard.json").read_text())
    fusion = meta["onnx"]["fusion"]
    assert fusion["fused"] is True and fusion["source_model_type"] == "deberta-v2"
    assert fusion["fused_ops"].get("LayerNormalization", 0) >= 1
    assert "Attention" not in fusion["fused_ops"]  # disentangled attention has no fused kernel
    assert fusion["first_token_nodes"] == 0 and fusion["first_token_reason"]
    assert "LayerNormalization" in _ops(export / "model.onnx")


def test_deberta_fused_equals_unfused(tmp_path_factory, tmp_path):
    source, export = shared_export(tmp_path_factory)
    from fairguard.export.onnx_export import export_onnx

    plain = export_onnx(source, tmp_path / "plain", quantize="none", optimize=False,
                        progress=False)
    refused = tmp_path / "refused.onnx"
    report = fuse_transformer_graph(plain.out / "model.onnx", refused)
    assert report.fused and report.num_heads == 0  # no config: the optimizer infers them
    pairs = builtin_pairs()
    a = _logits(export / "model.onnx", export, pairs)
    b = _logits(plain.out / "model.onnx", plain.out, pairs)
    c = _logits(refused, plain.out, pairs)
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(c, b, atol=1e-5)


@pytest.fixture(scope="module")
def mpnet_exports(tmp_path_factory):
    """A tiny MPNet reward model (the `mpnet-base` backbone's architecture) exported fused (the
    default) and unfused."""
    from fairguard.export.onnx_export import export_onnx

    source = tiny_mpnet_reward_dir(tmp_path_factory.mktemp("tiny-mpnet"))
    parent = tmp_path_factory.mktemp("mpnet-exports")
    fused = export_onnx(source, parent / "fused", progress=False)
    plain = export_onnx(source, parent / "plain", optimize=False, quantize="none", progress=False)
    return source, fused, plain


def test_mpnet_attention_fuses_with_its_position_bias(mpnet_exports):
    """MPNet's relative-position bias: each layer's attention becomes one MultiHeadAttention
    fed by one packed Q/K/V projection, and the export scores like torch."""
    import onnx

    from fairguard.export.onnx_scorer import OnnxRewardScorer
    from fairguard.reward_model.inference import TorchRewardScorer

    source, fused, _ = mpnet_exports
    fusion = json.loads((fused.out / "fairguard.json").read_text())["onnx"]["fusion"]
    assert fusion["fused"] is True and fusion["source_model_type"] == "mpnet"
    assert fusion["fused_ops"]["MultiHeadAttention"] == 2  # 2 layers
    assert fusion["fused_ops"].get("LayerNormalization", 0) >= 1
    assert fusion["first_token_nodes"] == 10 and fusion["first_token_reason"] is None
    graph = onnx.load(str(fused.out / "model.onnx")).graph
    ops = [node.op_type for node in graph.node]
    assert ops.count("MultiHeadAttention") == 2 and ops.count("Split") == 2
    assert "Softmax" not in ops and ops.count("Transpose") == 1  # the position bias's own
    mha = [node for node in graph.node if node.op_type == "MultiHeadAttention"]
    assert len({node.input[5] for node in mha}) == 1  # one bias + mask sum for every layer
    int8_ops = _ops(fused.out / "model_int8.onnx")
    assert "MultiHeadAttention" in int8_ops and {"MatMulInteger", "DynamicQuantizeMatMul"} & int8_ops
    assert fused.parity["fp32_vs_torch"]["passed"]
    pairs = builtin_pairs()
    prompts, responses = pairs.prompts[:9], pairs.responses[:9]  # padded batches
    torch_scores = TorchRewardScorer(source).score(prompts, responses)
    onnx_scores = OnnxRewardScorer(fused.out, quantized=False).score(prompts, responses)
    for head in HEADS:
        np.testing.assert_allclose(onnx_scores[head], torch_scores[head], atol=1e-5)


def test_mpnet_fused_equals_unfused(mpnet_exports):
    _, fused, plain = mpnet_exports
    assert plain.fusion["fused"] is False
    assert "MultiHeadAttention" not in _ops(plain.out / "model.onnx")
    pairs = builtin_pairs()
    np.testing.assert_allclose(_logits(fused.out / "model.onnx", fused.out, pairs),
                               _logits(plain.out / "model.onnx", plain.out, pairs), atol=1e-5)


def test_biased_attention_left_alone_when_heads_disagree(mpnet_exports):
    import onnx

    from fairguard.export.attention_fusion import fuse_biased_attention

    _, _, plain = mpnet_exports
    model = onnx.load(str(plain.out / "model.onnx"))
    before = [node.op_type for node in model.graph.node]
    assert fuse_biased_attention(model, num_heads=3) == 0  # the graph splits 4 heads
    assert [node.op_type for node in model.graph.node] == before
    assert fuse_biased_attention(model) == 2  # heads read from the graph


def test_smoothing_folds_into_the_packed_value_projection(mpnet_exports, tmp_path):
    import onnx
    from transformers import AutoTokenizer

    from fairguard.export.quantize import calibration_pairs, smooth_activations, smoothing_targets

    _, fused, _ = mpnet_exports
    src = fused.out / "model.onnx"
    targets = smoothing_targets(onnx.load(str(src)), "all")
    feeds = calibration_pairs(AutoTokenizer.from_pretrained(fused.out), 64).feeds
    assert smooth_activations(src, tmp_path / "s.onnx", "all", 0.8, feeds) == len(targets)
    smoothed = onnx.load(str(tmp_path / "s.onnx"))
    muls = [node for node in smoothed.graph.node if node.name.endswith("_smooth")]
    assert len(muls) == len(targets) - 2  # each layer's output projection folds into V
    pairs = builtin_pairs()
    np.testing.assert_allclose(_logits(tmp_path / "s.onnx", fused.out, pairs),
                               _logits(src, fused.out, pairs), atol=1e-4, rtol=1e-4)


def test_graph_without_encoder_patterns_is_kept(tmp_path, caplog):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((4, 3), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [weight])
    src = tmp_path / "linear.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(src))
    with caplog.at_level("WARNING", logger="fairguard.export"):
        report = fuse_transformer_graph(src, tmp_path / "out.onnx")
    assert report.fused is False and "no encoder pattern" in report.reason
    assert report.fused_ops == {} and not (tmp_path / "out.onnx").exists()
    assert "not fused" in caplog.text


def test_unreadable_graph_is_reported_not_raised(tmp_path):
    src = tmp_path / "broken.onnx"
    src.write_bytes(b"not a graph")
    report = fuse_transformer_graph(src, tmp_path / "out.onnx")
    assert report.fused is False and "failed" in report.reason
    assert report.as_dict()["fused"] is False



def _mask_only_attention(hidden: int = 16, heads: int = 4):
    """A one-layer self-attention graph in the eager (unfused) form, whose scores get a padding
    mask alone: ``softmax(Q K^T / sqrt(d) + mask) V`` with ``mask`` ``[batch, 1, 1, tokens]``."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    d = hidden // heads
    inits = [numpy_helper.from_array(rng.standard_normal((hidden, hidden)).astype(np.float32) / 4,
                                     f"W{p}") for p in "qkv"]
    inits += [numpy_helper.from_array(rng.standard_normal(hidden).astype(np.float32), f"b{p}")
              for p in "qkv"]
    inits += [numpy_helper.from_array(np.array([0, -1, heads, d], np.int64), "split_heads"),
              numpy_helper.from_array(np.array([0, -1, hidden], np.int64), "merge_heads"),
              numpy_helper.from_array(np.array(np.sqrt(d), np.float32), "root_d")]
    nodes = []
    for p, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
        nodes += [helper.make_node("MatMul", ["x", f"W{p}"], [f"{p}_mm"]),
                  helper.make_node("Add", [f"b{p}", f"{p}_mm"], [f"{p}_proj"]),
                  helper.make_node("Reshape", [f"{p}_proj", "split_heads"], [f"{p}_heads"]),
                  helper.make_node("Transpose", [f"{p}_heads"], [f"{p}_t"], perm=perm)]
    nodes += [helper.make_node("MatMul", ["q_t", "k_t"], ["scores"]),
              helper.make_node("Div", ["scores", "root_d"], ["scaled"]),
              helper.make_node("Add", ["scaled", "mask"], ["masked"]),
              helper.make_node("Softmax", ["masked"], ["probs"], axis=-1),
              helper.make_node("MatMul", ["probs", "v_t"], ["context"]),
              helper.make_node("Transpose", ["context"], ["context_t"], perm=[0, 2, 1, 3]),
              helper.make_node("Reshape", ["context_t", "merge_heads"], ["out"])]
    graph = helper.make_graph(
        nodes, "attention",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", hidden]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", 1, 1, "tokens"])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", "tokens", hidden])],
        inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)


def test_attention_with_the_mask_alone_fuses_and_keeps_its_outputs():
    """The mask alone is ``[batch, 1, 1, tokens]``; MultiHeadAttention wants a square bias, so
    the sum is broadcast to it; padded positions stay masked."""
    import onnxruntime as ort

    from fairguard.export.attention_fusion import fuse_biased_attention

    model = _mask_only_attention()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 16)).astype(np.float32)
    mask = np.zeros((2, 1, 1, 5), np.float32)
    mask[1, ..., 3:] = -1e4  # the second row has two padding tokens
    feed = {"x": x, "mask": mask}

    def run(m):
        session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        return session.run(None, feed)[0]

    before = run(model)
    assert fuse_biased_attention(model) == 1  # heads read from the Reshape
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("MultiHeadAttention") == 1 and "Softmax" not in ops and "Expand" in ops
    assert ops.count("MatMul") == 1 and "Split" in ops  # Q, K, V packed into one projection
    np.testing.assert_allclose(run(model), before, atol=1e-5)
