"""The example plugin under examples/ installed with real pip, discovered through its entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fairguard-plugin-example"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("plugin-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(EXAMPLE)],
        check=True, capture_output=True, text=True,
    )
    return target


def _run(site: Path, *args: str, load: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FAIRGUARD_LOAD_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if load is not None:
        env["FAIRGUARD_LOAD_PLUGINS"] = load
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env)


def test_installed_plugin_is_discovered(plugin_site):
    result = _run(plugin_site, "-m", "fairguard", "plugins")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows == [{"name": "generalization",
                     "hooks": ["register_commands", "register_rewards"], "version": "0.1.0"}]


def test_installed_plugin_reward_usable_by_name(plugin_site):
    code = ("import fairguard\n"
            "r = fairguard.get_reward('generalization')\n"
            "print(r.score(['q', 'q'], ['All of those people are lazy.', 'It depends on the person.'])"
            "['generalization'].tolist())\n")
    result = _run(plugin_site, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[0.0, 1.0]"


def test_installed_plugin_command(plugin_site):
    result = _run(plugin_site, "-m", "fairguard", "generalizations", "Those people are always late.")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"


def test_load_plugins_env_excludes_it(plugin_site):
    result = _run(plugin_site, "-m", "fairguard", "plugins", load="")
    assert json.loads(result.stdout) == []
    result = _run(plugin_site, "-m", "fairguard", "rewards", load="")
    assert "generalization" not in result.stdout
    result = _run(plugin_site, "-c", "import fairguard; fairguard.get_reward('generalization')", load="")
    assert result.returncode != 0
    assert "unknown reward 'generalization'; known rewards: context-answer, fairness-pass, gender-bias" in result.stderr
    result = _run(plugin_site, "-m", "fairguard", "plugins", load="generalization")
    assert [row["name"] for row in json.loads(result.stdout)] == ["generalization"]
