"""`ledger serve`: the HTTP API (its bearer tokens: ``cli.commands.token``).

The app and the token store come from the composition root (``bootstrap``): the command line
never imports ``api``.
"""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from bootstrap import DatabaseUnavailable, api_settings, configure_logging, create_app
from cli.options import (
    DEFAULT_DATABASE,
    CreateOption,
    DbOption,
    LogLevel,
    listening_socket,
    ready,
)


def _frozen_after_startup_server() -> type:
    """uvicorn's Server, freezing the heap once the app has started (services open, sockets
    bound): what exists then lives as long as the process, and ``gc.freeze`` takes it out of
    every later collection. Without it a full collection walks the whole app (its routes,
    schemas, pools): ~100 ms during which no request moves (BENCHMARKS.md, *Write path*)."""
    import gc

    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            gc.collect()
            gc.freeze()

    return Server


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

    from projections.store import parse_database_url

    ready(db, create=create)
    settings = api_settings(database_url=db, run_projector=projector)
    if settings.run_projector and parse_database_url(settings.database_url).is_postgres \
            and "projector_process" not in settings.model_fields_set:  # not set by the environment or .env
        # The follower in a process of its own: it does not take the request threads' GIL
        # (BENCHMARKS.md, *Write path*). SQLite keeps it in a thread (one writer at a time anyway).
        settings = settings.model_copy(update={"projector_process": True})
    try:
        configure_logging(log_format or settings.log_format, log_level.value)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--log-format") from None
    sock = listening_socket(host, port)  # a port in use is one line, before the app starts
    # log_config=None: uvicorn keeps the logging set up above; access_log=False: ours logs each request.
    server = _frozen_after_startup_server()(uvicorn.Config(create_app(settings), log_level=log_level.value,
                                                           proxy_headers=False, log_config=None, access_log=False))
    logging.getLogger("uvicorn.error").info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", host, port)
    try:
        server.run(sockets=[sock])
    except SystemExit:  # uvicorn gives up when the app cannot start, having logged why
        raise DatabaseUnavailable("the API could not start; its log above says why", field="db") from None
    finally:
        sock.close()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `ledger` app."""
    app.command("serve")(serve)
