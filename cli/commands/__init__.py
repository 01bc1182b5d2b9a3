"""The `ledger` commands that record facts, grouped by noun: one typer sub-app per module
(``site``, ``pool``, ``tenant``, ``order``, ``funding``, ``invoice``, ``reservation``, ``token``).

Each write command calls the same ``Ledger`` method (or ``operations`` function) as its HTTP
route and prints what it wrote as ``key=value`` words: the id and the log position
(``common.written``). Each ``list`` prints a table, or ``--format csv|json`` like the reports.
"""

from __future__ import annotations

import typer

from cli.commands import funding, invoice, order, pool, reservation, site, tenant, token

GROUPS = (site, pool, tenant, order, funding, reservation, invoice, token)


def register(app: typer.Typer) -> None:
    """Add every group to the `ledger` app."""
    for module in GROUPS:
        app.add_typer(module.app, name=module.NAME, help=module.HELP)
