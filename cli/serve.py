"""`ledger serve`, `ledger token create|revoke`: the HTTP API and its bearer tokens.

The app and the token store come from the composition root (``bootstrap``): the command line
never imports ``api``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

import typer

from bootstrap import DatabaseUnavailable, api_settings, configure_logging, create_app, issue_token, revoke_token
from cli.options import (
    DEFAULT_DATABASE,
    CreateOption,
    DbOption,
    LogLevel,
    RoleName,
    checked,
    listening_socket,
    opened_ledger,
    ready,
)


def serve(db: DbOption = DEFAULT_DATABASE, host: str = "127.0.0.1",
          port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
          projector: Annotated[bool, typer.Option(help="Follow the log with the projection runner in this "
                                                       "process (--no-projector when `ledger project` runs)")] = True,
          log_level: LogLevel = LogLevel.info, create: CreateOption = False,
          log_format: Annotated[str | None, typer.Option(
              "--log-format", help="text, json or auto (text on a terminal, else json); "
                                   "default LEDGER_LOG_FORMAT, else auto")] = None) -> None:
    """Serve the HTTP API (uvicorn) on the configured store.

    Logs go to stderr, one line per record (one access line per request: request id, method,
    route, status, latency, role); uvicorn's own access log is off."""
    import logging

    import uvicorn

    ready(db, create=create)
    settings = api_settings(database_url=db, run_projector=projector)
    try:
        configure_logging(log_format or settings.log_format, log_level.value)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--log-format") from None
    sock = listening_socket(host, port)  # a port in use is one line, before the app starts
    # log_config=None: uvicorn keeps the logging set up above; access_log=False: ours logs each request.
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level=log_level.value, proxy_headers=False,
                                          log_config=None, access_log=False))
    logging.getLogger("uvicorn.error").info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", host, port)
    try:
        server.run(sockets=[sock])
    except SystemExit:  # uvicorn gives up when the app cannot start, having logged why
        raise DatabaseUnavailable("the API could not start; its log above says why", field="db") from None
    finally:
        sock.close()


def create_token(role: Annotated[RoleName, typer.Option(help="Who the token is for")],
                 tenant: Annotated[str | None, typer.Option(help="The tenant id (tenant tokens only)")] = None,
                 expires_in: Annotated[float | None, typer.Option(
                     "--expires-in", help="Hours until the token is refused (default: never)")] = None,
                 db: DbOption = DEFAULT_DATABASE) -> None:
    """Print a new bearer token once; the store keeps only its SHA-256 hash (its id goes to stderr)."""
    from domain.errors import LedgerError

    checked(db)
    tenant_id = None
    if tenant is not None:
        with opened_ledger(db) as ledger:
            try:
                tenant_id = UUID(str(ledger.get_tenant(tenant).id))
            except LedgerError as error:
                raise typer.BadParameter(error.message, param_hint="--tenant") from None
    try:
        token, ident = issue_token(db, role.value, tenant_id,
                                   expires_in=timedelta(hours=expires_in) if expires_in is not None else None)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    typer.echo(token)
    expiry = f", expires in {expires_in:g} h" if expires_in is not None else ""
    typer.echo(f"token id {ident} ({role.value}{expiry}); revoke with `ledger token revoke {ident}`", err=True)


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


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `ledger` app."""
    app.command("serve")(serve)
    token = typer.Typer(no_args_is_help=True, help="Bearer tokens for the HTTP API.")
    token.command("create")(create_token)
    token.command("revoke")(revoke)
    app.add_typer(token, name="token")
