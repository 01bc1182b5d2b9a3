"""The `ledger` commands that record facts, grouped by noun: one typer sub-app per module
(``site``, ``pool``, ``tenant``, ``order``, ``funding``, ``invoice``, ``reservation``, ``token``).

Each write command calls the same ``Ledger`` method (or ``operations`` function) as its HTTP
route and prints what it wrote as ``key=value`` words: the id and the log position
(``common.written``). Each ``list`` prints a table, or ``--format csv|json`` like the reports.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import typer


def groups() -> list[ModuleType]:
    """Every group: each module of this package with ``NAME``, ``HELP`` and a typer ``app``."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda module: module.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if isinstance(getattr(module, "app", None), typer.Typer) and hasattr(module, "NAME"):
            found.append(module)
    return found


def register(app: typer.Typer) -> None:
    """Add every group to the `ledger` app."""
    for module in groups():
        app.add_typer(module.app, name=module.NAME, help=module.HELP)
