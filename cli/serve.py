"""`ledger serve`: the HTTP API (its bearer tokens: ``cli.commands.token``).

The app and the token store come from the composition root (``bootstrap``): the command line
never imports ``api``. Once the API answers its health check, stdout says where it is, one line
per URL (the host and port it binds; logs go to stderr)::

    dashboard: http://127.0.0.1:8000/ui/
    API docs: http://127.0.0.1:8000/docs
    health: http://127.0.0.1:8000/health
"""

from __future__ import annotations

import sys
import threading
import time
import urllib.request
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

URLS = (("dashboard", "/ui/"), ("API docs", "/docs"), ("health", "/health"))
READY_WITHIN = 120.0  # seconds: the health check is tried until then (a cold PostgreSQL start is slow)


def base_url(host: str, port: int) -> str:
    """``http://HOST:PORT`` as a browser takes it (an IPv6 address in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def urls(host: str, port: int) -> list[str]:
    """The lines ``serve`` prints when ready: ``dashboard: http://127.0.0.1:8000/ui/``, ..."""
    return [f"{what}: {base_url(host, port)}{path}" for what, path in URLS]


def announce_when_ready(host: str, port: int, *, within: float = READY_WITHIN) -> threading.Thread:
    """A daemon thread that prints :func:`urls` on stdout once ``GET /health`` answers 200 (on a
    wildcard host, asked on loopback); nothing if it never does (the log says why)."""
    probe = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    health = f"{base_url(probe, port)}/health"

    def wait() -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(health, timeout=2) as answer:
                    if answer.status == 200:
                        sys.stdout.write("".join(f"{line}\n" for line in urls(host, port)))
                        sys.stdout.flush()
                        return
            except OSError:
                pass
            time.sleep(0.1)

    thread = threading.Thread(target=wait, name="ledger-serve-ready", daemon=True)
    thread.start()
    return thread


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
    announce_when_ready(host, port)
    try:
        started = run_api(settings, sock, workers=workers, log_level=log_level.value, log_format=chosen_format)
    finally:
        sock.close()
    if not started:
        raise DatabaseUnavailable("the API could not start; its log above says why", field="db")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `ledger` app."""
    app.command("serve")(serve)
