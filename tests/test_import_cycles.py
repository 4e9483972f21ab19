"""No import loops in studio/ or ui/, between modules or between packages, counting imports
hidden inside functions.

import-linter's contracts check directions between packages; this walks every ``import`` statement
(module level or not) with ``ast``, so a loop cannot hide inside a function body. At package
level (``studio.training``, ``ui.widgets``, ...) a loop means two folders each need the other:
neither can be read, tested or moved alone, even when no two files import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("studio", "ui")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The studio modules that ``path`` imports anywhere in its body."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from pkg import mod" imports the submodule when one exists by that name
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found.update(name for name in names if name in modules)
    return found


def import_graph(package: str = "studio") -> dict[str, set[str]]:
    files = {_module_name(p): p for p in (ROOT / package).rglob("*.py")}
    modules = set(files)
    return {name: _imports(path, modules) - {name} for name, path in files.items()}


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same imports between sub-packages (``studio.data``, ``ui.widgets``); a top-level
    module such as ``studio.paths`` is a node of its own."""
    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    folded: dict[str, set[str]] = {}
    for module, targets in graph.items():
        folded.setdefault(package(module), set()).update(
            package(t) for t in targets if package(t) != package(module))
    return folded


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop as a list of modules, or None (iterative DFS, three colours)."""
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        path = [start]
        state[start] = 1
        while stack:
            node, pending = stack[-1]
            if not pending:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            nxt = pending.pop()
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(graph.get(nxt, ()))))
    return None


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles_between_modules(package: str) -> None:
    graph = import_graph(package)
    assert len(graph) > 20  # the walk found the package
    cycle = find_cycle(graph)
    assert cycle is None, "import loop: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles_between_packages(package: str) -> None:
    graph = package_graph(import_graph(package))
    assert len(graph) > 5
    cycle = find_cycle(graph)
    assert cycle is None, "import loop between packages: " + " -> ".join(cycle or [])


def test_the_cycle_finder_sees_a_loop() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_packages_fold_their_modules() -> None:
    graph = {"s.a.x": {"s.b.y", "s.a.z"}, "s.a.z": set(), "s.b.y": {"s.a.z"}, "s.top": set()}
    assert package_graph(graph) == {"s.a": {"s.b"}, "s.b": {"s.a"}, "s.top": set()}
