import json

from click.testing import CliRunner
from onnx_export_data import tiny_reward_dir

from fairguard.cli import cli


def test_export_group_lists_onnx():
    result = CliRunner().invoke(cli, ["export", "--help"])
    assert result.exit_code == 0
    assert "onnx" in result.output


def test_export_onnx_writes_folder_and_prints_parity(tmp_path_factory, tmp_path):
    source = tiny_reward_dir(tmp_path_factory.mktemp("cli-reward"))
    out = tmp_path / "onnx"
    result = CliRunner().invoke(cli, ["export", "onnx", "--model", str(source), "--out", str(out),
                                      "--quantize", "int8", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "fp32 vs torch: max |logit diff|" in result.output
    assert "int8 vs fp32" in result.output and "decision agreement" in result.output
    meta = json.loads((out / "fairguard.json").read_text())
    assert meta["onnx"]["files"] == {"fp32": "model.onnx", "int8": "model_int8.onnx"}
    assert meta["onnx"]["parity"]["fp32_vs_torch"]["passed"]
    again = CliRunner().invoke(cli, ["export", "onnx", "--model", str(source), "--out", str(out)])
    assert again.exit_code == 1
    assert "already exists" in again.output and "--overwrite" in again.output


def test_export_onnx_clear_errors(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(cli, ["export", "onnx", "--model", str(tmp_path / "nope"),
                                  "--out", str(tmp_path / "out")])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert "Traceback" not in missing.output
    bad = runner.invoke(cli, ["export", "onnx", "--model", "m", "--out", "o", "--quantize", "int4"])
    assert bad.exit_code == 2 and "int4" in bad.output
    same = runner.invoke(cli, ["export", "onnx", "--model", str(tmp_path), "--out", str(tmp_path)])
    assert same.exit_code == 1 and "replace the source" in same.output
    opset = runner.invoke(cli, ["export", "onnx", "--model", "m", "--out", "o", "--opset", "3"])
    assert opset.exit_code == 1 and "opset" in opset.output
    assert not (tmp_path / "out").exists()


def test_export_onnx_keeps_ffn_outputs_in_fp32_on_request(tmp_path_factory, tmp_path):
    import onnx

    source = tiny_reward_dir(tmp_path_factory.mktemp("cli-reward-ffn"))
    float_matmuls = {}
    for keep in (0, 1):
        out = tmp_path / f"onnx{keep}"
        result = CliRunner().invoke(cli, ["export", "onnx", "--model", str(source), "--out",
                                          str(out), "--fp32-ffn-outputs", str(keep), "--quiet"])
        assert result.exit_code == 0, result.output
        meta = json.loads((out / "fairguard.json").read_text())
        assert meta["onnx"]["quantization"]["fp32_gelu_matmuls"] == keep
        nodes = onnx.load(str(out / "model_int8.onnx")).graph.node
        float_matmuls[keep] = sum(n.op_type == "MatMul" for n in nodes)
    assert float_matmuls[1] == float_matmuls[0] + 1  # one FFN output projection left in fp32
