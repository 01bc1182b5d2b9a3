"""`ledger serve`, `ledger token create` (owned by the HTTP API work)."""

from __future__ import annotations

import os
from typing import Annotated, Optional
from uuid import UUID

import typer

DbOption = Annotated[Optional[str], typer.Option("--db", help="SQLite path or postgresql:// URL "
                                                "(default: LEDGER_DATABASE_URL, else ./ledger.db)")]


def serve(db: DbOption = None, host: str = "127.0.0.1", port: int = 8000,
          projector: Annotated[bool, typer.Option(help="Follow the log with the projection runner in this "
                                                       "process (--no-projector when `ledger project` runs)")] = True,
          log_level: str = "info") -> None:
    """Serve the HTTP API (uvicorn) on the configured store."""
    import uvicorn

    from api.app import create_app
    from api.settings import Settings

    overrides: dict[str, object] = {"run_projector": projector}
    if db:
        overrides["database_url"] = db
    settings = Settings(**overrides)  # type: ignore[arg-type]
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, proxy_headers=False)


def create_token(role: Annotated[str, typer.Option(help="operator, finance, tenant, auditor or meter")],
                 tenant: Annotated[Optional[str], typer.Option(help="The tenant id (tenant tokens only)")] = None,
                 expires_in: Annotated[Optional[float], typer.Option(
                     "--expires-in", help="Hours until the token is refused (default: never)")] = None,
                 db: DbOption = None) -> None:
    """Print a new bearer token once; the store keeps only its SHA-256 hash (its id goes to stderr)."""
    from api.store import ApiStore
    from datetime import timedelta

    from api.tokens import Role, create_token as issue, token_id
    from domain import Ledger
    from domain.errors import LedgerError

    try:
        chosen = Role(role)
    except ValueError:
        raise typer.BadParameter(f"unknown role {role!r}; use one of {', '.join(r.value for r in Role)}") from None
    url = db or os.environ.get("LEDGER_DATABASE_URL")
    tenant_id = None
    if tenant is not None:
        ledger = Ledger.open(url)
        try:
            tenant_id = UUID(str(ledger.get_tenant(tenant).id))
        except LedgerError as error:
            raise typer.BadParameter(error.message, param_hint="--tenant") from None
        finally:
            ledger.close()
    store = ApiStore.open(url)
    try:
        token = issue(store, chosen, tenant_id,
                      expires_in=timedelta(hours=expires_in) if expires_in is not None else None)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    finally:
        store.close()
    typer.echo(token)
    expiry = f", expires in {expires_in:g} h" if expires_in is not None else ""
    typer.echo(f"token id {token_id(token)} ({chosen.value}{expiry}); revoke with `ledger token revoke "
               f"{token_id(token)}`", err=True)


def revoke_token(reference: Annotated[str, typer.Argument(
                     help="The token, its id (8+ hex digits) or its first characters (lgr_ and 8+)")],
                 db: DbOption = None) -> None:
    """Revoke a token: API processes refuse it (401) within 10 seconds."""
    from api.store import ApiStore
    from api.tokens import revoke_token as revoke

    store = ApiStore.open(db or os.environ.get("LEDGER_DATABASE_URL"))
    try:
        revoked = revoke(store, reference)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="TOKEN") from None
    finally:
        store.close()
    typer.echo(f"revoked token {revoked}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `ledger` app."""
    app.command("serve")(serve)
    token = typer.Typer(no_args_is_help=True, help="Bearer tokens for the HTTP API.")
    token.command("create")(create_token)
    token.command("revoke")(revoke_token)
    app.add_typer(token, name="token")
