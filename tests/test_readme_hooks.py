"""Meta-test: every hook has a test and is documented in the README's plugin-hooks section."""

import inspect
import re
from pathlib import Path

from fairguard import hookspecs

ROOT = Path(__file__).resolve().parents[1]


def _hooks() -> list[str]:
    return sorted(n for n, f in vars(hookspecs).items()
                  if n.startswith("register_") and inspect.isfunction(f))


def _section(readme: str) -> str:
    match = re.search(r"^## Plugin hooks\n(.*?)(?=^## )", readme, flags=re.S | re.M)
    assert match, "README.md needs a '## Plugin hooks' section"
    return match.group(1)


def test_every_hook_documented_with_signature():
    section = _section((ROOT / "README.md").read_text())
    for name in _hooks():
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"{name}({params})" in section, f"README plugin-hooks section lacks {name}({params})"


def test_every_hook_has_a_test():
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    for name in _hooks():
        assert re.search(rf"^def test_hook_{name}\b", tests, flags=re.M), f"no test_hook_{name}"
