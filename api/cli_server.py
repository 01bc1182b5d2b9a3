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
                 db: DbOption = None) -> None:
    """Print a new bearer token once; the store keeps only its SHA-256 hash."""
    from api.store import ApiStore
    from api.tokens import Role, create_token as issue
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
        token = issue(store, chosen, tenant_id)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    finally:
        store.close()
    typer.echo(token)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `ledger` app."""
    app.command("serve")(serve)
    token = typer.Typer(no_args_is_help=True, help="Bearer tokens for the HTTP API.")
    token.command("create")(create_token)
    app.add_typer(token, name="token")
