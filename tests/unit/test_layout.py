"""The import directions of the layers: domain <- storage <- projections <- api <- {server, web};
the command line (cli) never imports api, server or web; storage imports nothing above it; only
entry points (cli, bench, tests) import the composition root (``bootstrap``). Every import
counts: top level, inside functions, under ``TYPE_CHECKING``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What each layer must never import (top-level module names).
FORBIDDEN: dict[str, frozenset[str]] = {
    "domain": frozenset({"projections", "api", "cli", "bootstrap", "fastapi", "starlette", "pydantic",
                         "pydantic_settings", "psycopg", "psycopg_pool", "uvicorn", "typer", "rich"}),
    "storage": frozenset({"projections", "operations", "documents", "api", "server", "web", "cli", "bootstrap",
                          "fastapi", "starlette", "pydantic", "pydantic_settings", "uvicorn", "typer", "rich"}),
    "projections": frozenset({"api", "server", "web", "cli", "bootstrap", "fastapi", "starlette", "uvicorn", "typer"}),
    "api": frozenset({"server", "web", "cli", "bootstrap", "typer"}),
    "server": frozenset({"web", "cli", "bootstrap", "typer"}),
    "web": frozenset({"server", "cli", "bootstrap", "typer"}),
    "cli": frozenset({"api", "web"}),
    "access": frozenset({"projections", "api", "server", "web", "cli", "bootstrap", "fastapi", "starlette", "typer"}),
    "config": frozenset({"projections", "api", "server", "web", "cli", "bootstrap", "fastapi", "starlette", "typer"}),
    # Shared by both edges (api and cli call the same functions), so below both of them.
    "operations": frozenset({"api", "cli", "bootstrap", "fastapi", "starlette", "uvicorn", "typer", "rich"}),
}
MIN_MODULES = {"operations": 2, "server": 3, "access": 2, "config": 2}  # young layers; the others have many


def imported_modules(source: str, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, the text of ``module``
    (e.g. ``cli.demo.runner``; used to resolve relative imports, which stay in their package)."""
    found = []
    package = module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def violations(layer: str, source: str, module: str) -> list[str]:
    """Each import in ``source`` (a module of ``layer``) that goes the wrong way."""
    return [f"{module}:{line} imports {name}" for line, name in imported_modules(source, module)
            if name.split(".")[0] in FORBIDDEN[layer]]


def modules_of(layer: str) -> list[tuple[str, Path]]:
    files = sorted((ROOT / layer).rglob("*.py"))
    return [(".".join(path.relative_to(ROOT).with_suffix("").parts), path) for path in files]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_it_may(layer: str) -> None:
    modules = modules_of(layer)
    assert len(modules) >= MIN_MODULES.get(layer, 5), f"{layer}/ has almost no modules: has the layout moved?"
    found = [v for module, path in modules for v in violations(layer, path.read_text(encoding="utf-8"), module)]
    assert not found, "imports against the layering:\n" + "\n".join(found)


def test_the_composition_root_is_where_services_are_opened() -> None:
    """bootstrap.py exists at the top level and the HTTP app is built there, not in the CLI."""
    source = (ROOT / "bootstrap.py").read_text(encoding="utf-8")
    names = {name for _, name in imported_modules(source, "bootstrap")}
    assert "cli" not in {name.split(".")[0] for name in names}, "bootstrap must not depend on the command line"
    tree = ast.parse(source)
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert {"open_services", "open_ledger", "open_projections", "open_api_store", "create_app"} <= functions


@pytest.mark.parametrize("layer, source, module", [
    ("cli", "from api.app import create_app\n", "cli.serve"),
    ("cli", "def serve():\n    import api.app\n", "cli.serve"),
    ("cli", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from api.readside import ReadSide\n",
     "cli.options"),
    ("api", "from cli.render import Format\n", "api.routes.reports"),
    ("api", "import bootstrap\n", "api.app"),
    ("api", "from fastapi import FastAPI\nfrom cli import main\n", "api.routes.reports"),
    ("projections", "from api.problems import DatabaseUnavailable\n", "projections.audit.chain"),
    ("projections", "from bootstrap import open_ledger\n", "projections.runner"),
    ("domain", "import psycopg\n", "domain.storage"),
    ("domain", "from pydantic import BaseModel\n", "domain.money"),
    ("domain", "import projections.runner\n", "domain.aggregates.pool"),
])
def test_the_checker_catches_a_wrong_way_import(layer: str, source: str, module: str) -> None:
    assert violations(layer, source, module), f"missed: {source!r} in {module}"


@pytest.mark.parametrize("layer, source, module", [
    ("cli", "from bootstrap import open_ledger\nfrom projections import Projections\n", "cli.options"),
    ("cli", "from .render import Format\n", "cli.report"),
    ("api", "from domain.errors import LedgerError\nfrom projections import Projections\n", "api.readside"),
    ("storage", "from domain import Ledger\nimport psycopg\n", "storage.event_store"),
    ("domain", "from eventsourcing.application import Application\nfrom .errors import InvalidInput\n",
     "domain.service"),
])
def test_the_checker_lets_the_right_way_through(layer: str, source: str, module: str) -> None:
    assert not violations(layer, source, module)
