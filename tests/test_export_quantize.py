import pytest
from onnx_export_data import shared_export

from fairguard.errors import FairguardError
from fairguard.export.quantize import QuantizeOptions, quantize_int8
from fairguard.export.session import make_session


def test_quantize_per_tensor_and_matmul_only(tmp_path_factory, tmp_path):
    fp32 = shared_export(tmp_path_factory)[1] / "model.onnx"
    options = QuantizeOptions(per_channel=False, op_types=("MatMul",))
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
        quantize_int8(tmp_path / "bad.onnx", tmp_path / "q.onnx")


def test_excluded_nodes_stay_fp32(tmp_path_factory, tmp_path):
    import onnx

    fp32 = shared_export(tmp_path_factory)[1] / "model.onnx"
    matmuls = [n.name for n in onnx.load(str(fp32)).graph.node if n.op_type == "MatMul"]
    keep = matmuls[0]
    options = QuantizeOptions(exclude=(keep,))
    out = quantize_int8(fp32, tmp_path / "q.onnx", options)
    nodes = {n.name: n.op_type for n in onnx.load(str(out)).graph.node}
    assert nodes[keep] == "MatMul"  # still the fp32 op
    assert "MatMulInteger" in nodes.values()
    assert options.describe()["exclude"] == [keep]
    make_session(out)
