"""`ledger serve`, `ledger token create` (owned by the HTTP API work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `ledger` app."""
