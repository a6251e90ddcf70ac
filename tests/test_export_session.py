import numpy as np
import pytest
from onnx_export_data import shared_export

from fairguard.errors import ArtifactError
from fairguard.export.session import make_session, opset_of, session_feed


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return shared_export(tmp_path_factory)[1]


def test_session_inputs_and_feed(exported):
    session = make_session(exported / "model.onnx", threads=1)
    names = [i.name for i in session.get_inputs()]
    assert names[:2] == ["input_ids", "attention_mask"]
    enc = {"input_ids": np.array([[2, 5, 3]]), "attention_mask": np.array([[1, 1, 1]]),
           "token_type_ids": np.array([[0, 0, 0]])}
    feed = session_feed(session, enc)
    assert set(feed) == set(names)  # DeBERTa (type_vocab_size 0) takes no token_type_ids
    assert all(v.dtype == np.int64 for v in feed.values())
    assert session.run(None, feed)[0].shape == (1, 3)
    assert opset_of(exported / "model.onnx") >= 11
    quiet = make_session(exported / "model.onnx", threads=1, spin=False)
    assert quiet.get_session_options().get_session_config_entry(
        "session.intra_op.allow_spinning") == "0"
    np.testing.assert_allclose(quiet.run(None, feed)[0], session.run(None, feed)[0], atol=1e-6)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist.*fairguard export onnx"):
        make_session(tmp_path / "model.onnx")
    (tmp_path / "model.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(ArtifactError, match="not a loadable ONNX model"):
        make_session(tmp_path / "model.onnx")


def _residual_layernorm_graph(path):
    """A graph of a residual add and a LayerNorm, which onnxruntime can fuse at load."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    hidden = 16
    tensors = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 4, hidden])
               for name in ("x", "skip", "y")]
    weights = [numpy_helper.from_array(np.full(hidden, value, np.float32), name)
               for name, value in (("gamma", 1.0), ("beta", 0.0))]
    nodes = [helper.make_node("Add", ["x", "skip"], ["sum"]),
             helper.make_node("LayerNormalization", ["sum", "gamma", "beta"], ["y"], axis=-1)]
    graph = helper.make_graph(nodes, "residual", tensors[:2], tensors[2:], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_session_keeps_residual_layernorm_apart(tmp_path):
    import onnx
    import onnxruntime as ort

    from fairguard.export.session import DISABLED_OPTIMIZERS

    _residual_layernorm_graph(tmp_path / "m.onnx")

    def loaded_ops(disabled):
        options = ort.SessionOptions()
        options.optimized_model_filepath = str(tmp_path / "loaded.onnx")
        ort.InferenceSession(str(tmp_path / "m.onnx"), options, providers=["CPUExecutionProvider"],
                             disabled_optimizers=disabled)
        return {node.op_type for node in onnx.load(str(tmp_path / "loaded.onnx")).graph.node}

    assert "SkipLayerNormalization" in loaded_ops([])  # what onnxruntime does by default
    assert loaded_ops(list(DISABLED_OPTIMIZERS)) == {"Add", "LayerNormalization"}
    session = make_session(tmp_path / "m.onnx", threads=1)
    x, skip = np.random.default_rng(0).normal(size=(2, 1, 4, 16)).astype(np.float32)
    total = x + skip
    expected = (total - total.mean(-1, keepdims=True)) / np.sqrt(total.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(session.run(None, {"x": x, "skip": skip})[0], expected, atol=1e-5)
