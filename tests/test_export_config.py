import dataclasses

import pytest

from fairguard.errors import ConfigError
from fairguard.export.config import OnnxExportConfig


def test_config_validation(tmp_path):
    with pytest.raises(ConfigError, match="quantize"):
        OnnxExportConfig(model="m", out="o", quantize="int4")
    with pytest.raises(ConfigError, match="opset"):
        OnnxExportConfig(model="m", out="o", opset=5)
    with pytest.raises(ConfigError, match="min_int8_agreement"):
        OnnxExportConfig(model="m", out="o", min_int8_agreement=1.5)
    with pytest.raises(ConfigError, match="replace the source"):
        OnnxExportConfig(model=str(tmp_path / "m"), out=str(tmp_path / "m"))
    with pytest.raises(ConfigError, match="replace the source"):
        OnnxExportConfig(model=str(tmp_path / "m" / "sub"), out=str(tmp_path / "m"))
    with pytest.raises(ConfigError, match="fp32_ffn_outputs"):
        OnnxExportConfig(model="m", out="o", fp32_ffn_outputs=-1)
    assert OnnxExportConfig(model="m", out="o", quantize="none").quantize is None


def test_every_option_has_help():
    for f in dataclasses.fields(OnnxExportConfig):
        assert f.metadata.get("help"), f.name
