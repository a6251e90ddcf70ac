from dataclasses import dataclass, field
from typing import Literal

import pytest

from fairguard.config import build_config, config_dict, config_options
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


@dataclass
class _Sub:
    depth: int = 1
    style: Literal["plain", "fancy"] = "plain"


@dataclass
class _Outer:
    learning_rate: float = field(default=0.1, metadata={"aliases": ("lr",)})
    sub: _Sub = field(default_factory=_Sub)


def test_sub_config_options_are_flat_or_nested_in_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("sub:\n  depth: 3\nlr: 0.5\n")
    cfg = build_config(_Outer, path, style="fancy")
    assert cfg == _Outer(learning_rate=0.5, sub=_Sub(depth=3, style="fancy"))
    assert config_dict(cfg) == {"learning_rate": 0.5, "depth": 3, "style": "fancy"}
    assert build_config(_Outer, **config_dict(cfg)) == cfg
    assert [o.name for o in config_options(_Outer)] == ["learning_rate", "depth", "style"]


def test_choices_and_missing_options_are_clear_errors():
    with pytest.raises(ConfigError, match="style must be one of plain, fancy"):
        build_config(_Outer, style="odd")
    with pytest.raises(ConfigError, match="give --out"):
        build_config(_Cfg, epochs=2)


@dataclass
class _Switch:
    precision: Literal["auto", "no", "bf16"] = "auto"
    logging: Literal["off", "on"] = "off"


def test_yaml_booleans_read_as_the_choice_they_spell(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("precision: no\nlogging: on\n")  # YAML 1.1 reads both as booleans
    assert build_config(_Switch, path) == _Switch(precision="no", logging="on")
    path.write_text("precision: yes\n")  # no choice spelt yes: still a clear error
    with pytest.raises(ConfigError, match="precision must be one of auto, no, bf16; got True"):
        build_config(_Switch, path)
