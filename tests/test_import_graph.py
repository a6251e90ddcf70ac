"""No import circles in fairguard (with fairguard.plugins and fairguard.export), read from the
source with ``ast``: module-level imports must form no cycle, and neither may module-level and
in-function imports together (an import inside a function still ties the two modules)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# package -> source folder, as pyproject.toml's [tool.setuptools.package-dir] maps them
ROOTS = {"fairguard": REPO / "fairguard", "fairguard.plugins": REPO / "plugins",
         "fairguard.export": REPO / "export"}


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in ROOTS.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> dict[str, set[str]]:
    """The fairguard modules ``name`` imports: ``{"module": ..., "function": ...}`` (imports
    under ``if TYPE_CHECKING:`` do not run and are left out)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, set[str]] = {"module": set(), "function": set()}

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = "function" if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                     ast.Lambda)) else where
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found[inner].update(a.name for a in child.names if a.name in MODULES)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package
                    for _ in range(child.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                for alias in child.names:
                    target = f"{base}.{alias.name}"
                    if target in MODULES:
                        found[inner].add(target)
                    elif base in MODULES:
                        found[inner].add(base)
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), "module")
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def cycles(kinds: tuple[str, ...]) -> list[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan), over the given edges."""
    edges = {n: set().union(*(GRAPH[n][k] for k in kinds)) - {n} for n in GRAPH}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[frozenset[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(frozenset(group))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return groups


def test_the_graph_sees_the_packages_and_their_imports() -> None:
    assert {"fairguard.cli", "fairguard.plugins.lora", "fairguard.export.config"} <= set(MODULES)
    assert "fairguard.config" in GRAPH["fairguard.training.config"]["module"]
    assert "fairguard.demo.config" in GRAPH["fairguard.cli.demo"]["module"]


def test_module_level_imports_have_no_cycle() -> None:
    assert cycles(("module",)) == []


def test_no_cycle_through_function_level_imports() -> None:
    assert [sorted(group) for group in cycles(("module", "function"))] == []


@pytest.mark.parametrize("package", ["fairguard.data", "fairguard.demo", "fairguard.training",
                                     "fairguard.refine", "fairguard.reward_model",
                                     "fairguard.export", "fairguard.serve"])
def test_library_packages_never_import_the_cli(package: str) -> None:
    offenders = sorted(name for name, edges in GRAPH.items()
                       if (name == package or name.startswith(package + "."))
                       and any(t == "fairguard.cli" or t.startswith("fairguard.cli.")
                               for t in edges["module"] | edges["function"]))
    assert offenders == []
