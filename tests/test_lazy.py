"""fairguard.lazy: package attributes imported on first use."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import fairguard.export
from fairguard.lazy import lazy_attributes


def test_attribute_is_imported_from_its_home_on_first_use(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "h8_lazy_home.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    getattr_ = lazy_attributes("pkg", {"VALUE": "h8_lazy_home"})
    assert "h8_lazy_home" not in sys.modules
    assert getattr_("VALUE") == 42
    assert "h8_lazy_home" in sys.modules
    monkeypatch.delitem(sys.modules, "h8_lazy_home")


def test_unknown_name_is_an_attribute_error_naming_the_package() -> None:
    getattr_ = lazy_attributes("fairguard.something", {"VALUE": "json"})
    with pytest.raises(AttributeError, match="module 'fairguard.something' has no attribute 'nope'"):
        getattr_("nope")


def test_packages_resolve_their_lazy_names() -> None:
    from fairguard.export.config import OnnxExportConfig

    assert fairguard.export.OnnxExportConfig is OnnxExportConfig
    assert not hasattr(fairguard.export, "no_such_name")
