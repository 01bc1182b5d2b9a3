"""The composition root: one setting (a SQLite path or a ``postgresql://`` URL) -> open stores
-> services -> the HTTP app. The ONE way to open the ledger, its projections and the API's own
tables; nothing here but putting the parts together.

Entry points use it: the `ledger` command line (``cli/``), bench and tests. Only entry points
import it (``tests/unit/test_layout.py``).

- :func:`open_ledger`, :func:`open_projections`, :func:`open_api_store`: one store each;
- :func:`open_services`: everything an HTTP request handler may use; :func:`create_app`: the
  FastAPI app on those services, with the dashboard (``web``) and the projection follower
  (``server.follower``); :func:`run_api`: ``ledger serve``'s processes (``server.supervisor``);
- :func:`init_store`: create an empty ledger's tables explicitly (``ledger init``).

The checks of a ``--db`` are ``storage.checks``; the settings, ``config``; tokens, ``access``.
Heavier layers (the FastAPI app, the projections) are imported when first used, so that a
command that needs only the ledger starts quickly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain import Ledger
from domain.storage import StoreConfig
from storage.checks import check_reachable, check_sqlite_is_a_ledger, ensure_schema
from storage.event_store import open_event_store
from storage.locks import AdvisoryCommandLock

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.services import Services
    from config.settings import Settings
    from projections import Projections
    from storage.api_store import ApiStore


def open_ledger(url: str | None = None, *, clock: Callable[[], datetime] | None = None,
                extra_env: Mapping[str, str] | None = None) -> Ledger:
    """The ledger (the event store and its application service), creating its tables if missing.

    On PostgreSQL, commands on one GPU pool are serialised across processes by an advisory lock
    per pool (``storage.locks.AdvisoryCommandLock``: up to ``POOL_LOCK_CONNECTIONS`` more
    connections per process, opened on first use, waited for as long as the event store's
    ``POSTGRES_CONNECT_TIMEOUT``); within one process they queue on in-process locks first.
    Document numbers follow ``config.settings.NumberingSettings`` (``extra_env`` may override)."""
    from config.settings import NumberingSettings

    env = {**NumberingSettings().ledger_env(), **(extra_env or {})}
    ledger: Ledger = open_event_store(url, clock=clock, extra_env=env)
    if ledger.store_config.is_postgres:
        timeout = float((extra_env or {}).get("POSTGRES_CONNECT_TIMEOUT", "5"))
        ledger.use_command_lock(AdvisoryCommandLock(ledger.store_config, timeout=timeout))
    return ledger


def open_projections(url: str | None) -> Projections:
    """The read side (projection tables, the runner), creating its tables if missing."""
    from projections import Projections

    return Projections.open(url)


def open_api_store(url: str | None, *, timeout: float = 5.0, statement_timeout: float = 0.0) -> ApiStore:
    """The API's own tables (tokens, idempotency keys), created if missing; on PostgreSQL its
    queries get ``statement_timeout`` seconds each (0: no limit)."""
    from storage.api_store import ApiStore

    return ApiStore.open(url, timeout=timeout, statement_timeout=statement_timeout)


def open_services(settings: Settings) -> Services:
    """Everything an HTTP request handler may use, opened once per process."""
    from access.tokens import TokenBook
    from api.readside import ReadSide
    from api.services import Services
    from storage.timeouts import limit_library_pool

    timeout = str(max(1, round(settings.db_timeout_seconds)))  # the library wants whole seconds
    # No pre-ping: the library's pool would check every connection with a round trip before
    # each use (three of them inside a reservation's per-pool critical section); its
    # recorder methods already retry OperationalError/InterfaceError on a fresh connection,
    # and the pool discards broken ones (bench/api_load.py, BENCHMARKS.md).
    ledger = open_ledger(settings.database_url, extra_env={"POSTGRES_CONNECT_TIMEOUT": timeout,
                                                           "POSTGRES_PRE_PING": "n"})
    ledger.group_commit = settings.group_commit
    # eventsourcing retries each PostgreSQL recorder call up to 10 times (0.2 s apart) on a
    # connection error, each attempt waiting the pool's timeout: a tenth of the budget per
    # attempt keeps a request within about db_timeout_seconds + 2 s during an outage.
    pool = getattr(getattr(ledger.recorder, "datastore", None), "pool", None)
    if pool is not None:
        pool.timeout = max(0.1, settings.db_timeout_seconds / 10)
        # From here on (its tables exist): a runaway statement is cancelled, answered 503.
        limit_library_pool(pool, settings.statement_timeout_seconds)
    store = open_api_store(settings.database_url, timeout=settings.db_timeout_seconds,
                           statement_timeout=settings.statement_timeout_seconds)
    # Per process on PostgreSQL: the ledger's pool (2, up to 10), the API store's (1, up to
    # storage.api_store.MAX_CONNECTIONS), read_connections for reports and the follower's 2 (README).
    readside = ReadSide(settings.database_url, settings.read_wait_seconds, ledger,
                        read_url=settings.read_database_url,
                        connections=settings.read_connections, connection_wait_seconds=settings.db_timeout_seconds,
                        statement_timeout=settings.statement_timeout_seconds)
    return Services(settings, ledger, store, TokenBook(store), readside)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The HTTP app. Its services open at startup (:func:`open_services`) and close at shutdown;
    pass ``services`` to share open ones (the caller closes them)."""
    import web
    from api.app import create_app as build
    from config.settings import Settings
    from server.follower import start_follower

    chosen = settings or Settings()

    def background(opened: Services) -> Any:
        if not chosen.run_projector:
            return None
        return start_follower(opened.readside.url, opened.ledger, chosen.projector_poll_seconds,
                              child_process=chosen.projector_process)

    app = build(chosen, open_services=open_services, services=services, background=background)
    web.install(app, chosen)
    return app


def run_api(settings: Settings, sock: object, *, workers: int, log_level: str, log_format: str) -> bool:
    """Serve the HTTP API on the bound socket ``sock`` until SIGTERM/SIGINT, in this process or
    in ``workers`` worker processes (``server.supervisor``); False when the app could not start."""
    from functools import partial

    from server.logs import configure_logging
    from server.supervisor import run

    return run(settings, sock, workers=workers, log_level=log_level, build=create_app,
               configure_logging=partial(configure_logging, log_format, log_level))


def init_store(url: str) -> tuple[StoreConfig, int]:
    """Create every table of a ledger at ``url`` (events, projections, audit chain, API tables);
    returns the store and how many events it already holds (0 for a new one). Safe to repeat."""
    config = check_reachable(url)
    if config.kind == "sqlite":
        check_sqlite_is_a_ledger(config.sqlite_path, "create a ledger in")
    ensure_schema(config)
    from projections.audit.chain import AuditChain

    ledger = open_ledger(url)
    try:
        AuditChain(ledger)
        open_projections(url).close()
        open_api_store(url).close()
        return config, ledger.max_position() or 0
    finally:
        ledger.close()
