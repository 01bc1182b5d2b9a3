"""`ledger project`, `ledger rebuild`, `ledger verify` (owned by the projections work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `ledger` app."""
