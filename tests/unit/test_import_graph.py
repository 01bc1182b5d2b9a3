"""No import cycles among the project's own modules.

The graph is built from the code: every ``import`` and ``from ... import`` in every module of the
project's packages (top level, inside functions, under ``TYPE_CHECKING``: a cycle hidden in a
function is still a cycle of responsibilities). ``from a.b import c`` is an edge to the module
``a.b.c`` when that module exists, else to ``a.b``. A package's ``__init__`` is the module ``a.b``.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from tests.unit.test_layout import ROOT, imported_modules


def installed_packages(root: Path = ROOT) -> list[str]:
    """The top-level packages the project installs (pyproject's ``packages.find`` include)."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted(p.removesuffix("*") for p in patterns)


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Module name -> file, for every module of the installed packages and bootstrap.py."""
    found = {"bootstrap": root / "bootstrap.py"}
    for package in installed_packages(root):
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def import_graph(sources: Mapping[str, str]) -> dict[str, set[str]]:
    """Module -> the project modules it imports, from each module's source text."""
    graph: dict[str, set[str]] = {}
    for module, source in sources.items():
        targets = {name for _, name in imported_modules(source, module)}
        graph[module] = {t for t in targets if t in sources and t != module}
    return graph


def edges_with_submodules(sources: Mapping[str, str]) -> dict[str, set[str]]:
    """As :func:`import_graph`, and ``from a.b import c`` also counts as importing ``a.b.c`` when
    that is a module."""
    graph = import_graph(sources)
    for module, source in sources.items():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    if candidate in sources and candidate != module:
                        graph[module].add(candidate)
    return graph


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def test_the_project_has_no_import_cycles() -> None:
    assert {"domain", "storage", "projections", "api", "cli"} <= set(installed_packages())
    modules = project_modules()
    assert len(modules) > 150, "far fewer modules than the project has: has the layout moved?"
    sources = {name: path.read_text(encoding="utf-8") for name, path in modules.items()}
    found = cycles(edges_with_submodules(sources))
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_finder_sees_a_cycle_through_a_function_level_import() -> None:
    sources = {"a.one": "from a.two import f\n", "a.two": "def f():\n    from a.three import g\n",
               "a.three": "import a.one\n", "a.four": "from a import one\n", "a": ""}
    assert cycles(edges_with_submodules(sources)) == [["a.one", "a.three", "a.two"]]


def test_the_finder_sees_a_cycle_under_type_checking() -> None:
    sources = {"p.db": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from p.rows import Table\n",
               "p.rows": "from p.db import Database\n", "p": ""}
    assert cycles(edges_with_submodules(sources)) == [["p.db", "p.rows"]]


def test_the_finder_lets_a_chain_through() -> None:
    sources = {"a.one": "import a.two\n", "a.two": "from a import three\n", "a.three": "", "a": ""}
    assert cycles(edges_with_submodules(sources)) == []
