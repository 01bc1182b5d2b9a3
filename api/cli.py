"""The `ledger` command line (typer). Sub-commands live in modules next to this one and
register themselves here, so that each concern keeps its own file."""

from __future__ import annotations

import typer

from api import cli_projections, cli_server

app = typer.Typer(no_args_is_help=True, add_completion=False, help="GPU capacity and billing ledger.")

cli_projections.register(app)
cli_server.register(app)


def main() -> None:
    app()
