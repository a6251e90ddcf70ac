from dataclasses import dataclass

import pytest

from fairguard.config import build_config
from fairguard.errors import ConfigError


@dataclass
class _Cfg:
    out: str
    epochs: int = 1
    lr: float = 1e-3
    name: str | None = None
    flag: bool = False

    def __post_init__(self):
        if self.epochs < 1:
            raise ConfigError("epochs must be >= 1")


def test_yaml_defaults_then_flags(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 3\nlr: 1\nout: a\n")
    cfg = build_config(_Cfg, path, out="b", lr=None)
    assert cfg == _Cfg(out="b", epochs=3, lr=1.0)


@pytest.mark.parametrize("kwargs,match", [
    ({"out": "a", "bogus": 1}, "unknown option"),
    ({"out": "a", "epochs": "3"}, "must be an integer"),
    ({"out": "a", "flag": "yes"}, "true or false"),
    ({"out": "a", "epochs": 0}, "epochs must be"),
    ({}, "incomplete configuration"),
])
def test_rejects(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        build_config(_Cfg, **kwargs)


def test_bad_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        build_config(_Cfg, path)
    with pytest.raises(ConfigError, match="does not exist"):
        build_config(_Cfg, tmp_path / "missing.yaml")
