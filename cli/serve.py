"""`ledger serve`: the HTTP API (its bearer tokens: ``cli.commands.token``).

The app and the token store come from the composition root (``bootstrap``): the command line
never imports ``api``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bootstrap import run_api
from cli.interrupts import warn_if_partial_demo
from cli.options import (
    DEFAULT_DATABASE,
    CreateOption,
    DbOption,
    LogLevel,
    listening_socket,
    opened_ledger,
    ready,
)
from storage.errors import DatabaseUnavailable


def serve(db: DbOption = DEFAULT_DATABASE, host: str = "127.0.0.1",
          port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
          projector: Annotated[bool, typer.Option(help="Follow the log with the projection runner in this "
                                                       "process (--no-projector when `ledger project` runs)")] = True,
          workers: Annotated[int, typer.Option(min=1, max=64, help=(
              "Worker processes accepting on the one socket (PostgreSQL only): each takes a core; "
              "the parent runs the one projection follower and restarts a worker that dies"))] = 1,
          log_level: LogLevel = LogLevel.info, create: CreateOption = False,
          log_format: Annotated[str | None, typer.Option(
              "--log-format", help="text, json or auto (text on a terminal, else json); "
                                   "default LEDGER_LOG_FORMAT, else auto")] = None) -> None:
    """Serve the HTTP API (uvicorn) on the configured store.

    Logs go to stderr, one line per record (one access line per request: request id, method,
    route, status, latency, role); uvicorn's own access log is off."""
    import logging

    from storage.urls import parse_database_url

    postgres = parse_database_url(db).is_postgres
    if workers > 1 and not postgres:
        raise typer.BadParameter(f"{workers} workers need PostgreSQL: a SQLite ledger has one writer "
                                 "(serve it with --workers 1)", param_hint="--workers")
    ready(db, create=create)
    with opened_ledger(db) as ledger:
        warn_if_partial_demo(ledger)
    from config.settings import Settings

    settings = Settings(database_url=db, run_projector=projector)
    if settings.run_projector and postgres and "projector_process" not in settings.model_fields_set:
        # Not set by the environment or .env: the follower in a process of its own, so that it
        # does not take the request threads' GIL (BENCHMARKS.md, *Write path*). SQLite keeps it
        # in a thread (one writer at a time anyway). With several workers the parent runs it.
        settings = settings.model_copy(update={"projector_process": True})
    from server.logs import configure_logging

    try:
        chosen_format = configure_logging(log_format or settings.log_format, log_level.value)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--log-format") from None
    sock = listening_socket(host, port)  # a port in use is one line, before the app starts
    logging.getLogger("uvicorn.error").info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", host, port)
    try:
        started = run_api(settings, sock, workers=workers, log_level=log_level.value, log_format=chosen_format)
    finally:
        sock.close()
    if not started:
        raise DatabaseUnavailable("the API could not start; its log above says why", field="db")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `ledger` app."""
    app.command("serve")(serve)
