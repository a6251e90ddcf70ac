"""The distribution installs only the `fairguard` namespace and lists every subpackage."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _declared() -> tuple[list[str], dict[str, str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return data["packages"], data["package-dir"]


def test_every_package_folder_is_declared():
    packages, package_dir = _declared()
    for top, folder in package_dir.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            dotted = ".".join([top, *rel.parts]) if rel.parts else top
            assert dotted in packages, f"{dotted} is not in pyproject's [tool.setuptools] packages"


def test_wheel_holds_only_the_fairguard_namespace(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    wheel = next(tmp_path.glob("fairguard-*.whl"))
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"fairguard", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    names = zipfile.ZipFile(wheel).namelist()
    assert "fairguard/plugins/gender_bias.py" in names
    assert "fairguard/export/__init__.py" in names
    # package data: the sentence pools and question sets the code reads with importlib.resources
    data_files = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "fairguard").rglob("*.yaml"))
    assert {"fairguard/data/groups.yaml", "fairguard/data/scenarios.yaml",
            "fairguard/data/responses.yaml", "fairguard/data/unqover.yaml",
            "fairguard/data/broad.yaml"} <= set(data_files)
    missing = [f for f in data_files if f not in names]
    assert not missing, f"package data missing from the wheel (pyproject package-data): {missing}"
