"""`ledger token create|revoke`: bearer tokens for the HTTP API.

Tokens are ``access`` (shared with the HTTP API, which checks them); the command line never
imports ``api``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

import typer

from access.issuing import issue_token, revoke_token
from cli.commands.common import tenant_id as tenant_of
from cli.options import DEFAULT_DATABASE, DbOption, RoleName, checked, opened_ledger

NAME = "token"
HELP = "Bearer tokens for the HTTP API."
app = typer.Typer(no_args_is_help=True, help=HELP)


@app.command("create")
def create_token(role: Annotated[RoleName, typer.Option(help="Who the token is for")],
                 tenant: Annotated[str | None, typer.Option(
                     help="The tenant: name, id or id prefix (tenant tokens only)")] = None,
                 expires_in: Annotated[float | None, typer.Option(
                     "--expires-in", help="Hours until the token is refused (default: never)")] = None,
                 db: DbOption = DEFAULT_DATABASE) -> None:
    """Print a new bearer token once; the store keeps only its SHA-256 hash (its id goes to stderr)."""
    checked(db)
    tenant_id = None
    if tenant is not None:
        with opened_ledger(db) as ledger:
            tenant_id = UUID(str(ledger.get_tenant(tenant_of(ledger, tenant, "--tenant")).id))
    try:
        token, ident = issue_token(db, role.value, tenant_id,
                                   expires_in=timedelta(hours=expires_in) if expires_in is not None else None)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(token)
    expiry = f", expires in {expires_in:g} h" if expires_in is not None else ""
    typer.echo(f"token id {ident} ({role.value}{expiry}); revoke with `ledger token revoke {ident}`", err=True)


@app.command("revoke")
def revoke(reference: Annotated[str, typer.Argument(
               help="The token, its id (8+ hex digits) or its first characters (lgr_ and 8+)")],
           db: DbOption = DEFAULT_DATABASE) -> None:
    """Revoke a token: API processes refuse it (401) within 10 seconds."""
    checked(db)
    try:
        revoked = revoke_token(db, reference)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="TOKEN") from None
    typer.echo(f"revoked token {revoked}")
