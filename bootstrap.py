"""The composition root: one setting (a SQLite path or a ``postgresql://`` URL) -> open stores
-> services. The ONE way to open the ledger, its projections and the API's own tables.

Entry points use it: the `ledger` command line (``cli/``), the HTTP app (:func:`create_app`),
bench and tests. Only entry points import it, and ``api`` and ``cli`` never import each other
(``tests/unit/test_layout.py``). (Still opened inside their layers: ``api.readside``'s
pool of read connections and ``projections.audit``'s scratch stores.)

- :func:`open_ledger`, :func:`open_projections`, :func:`open_api_store`: one store each;
- :func:`open_services`: everything an HTTP request handler may use; :func:`create_app`: the
  FastAPI app on those services;
- :func:`check_reachable` / :func:`require_ledger`: the checks behind every ``--db``: a database
  that cannot be reached, or (for a command that must not create one) a SQLite file that does
  not exist, is refused with one :class:`DatabaseUnavailable` sentence;
- :func:`init_store`: create an empty ledger's tables explicitly (``ledger init``);
- :func:`settings_view`, :func:`settings_problem`, :func:`configured_database`: the settings
  (``LEDGER_*`` from the environment, then ``.env``) for ``ledger config show`` and for the
  command line's messages, secrets masked;
- :func:`api_settings`, :func:`configure_logging`, :func:`issue_token`, :func:`revoke_token`: what
  ``ledger serve`` and ``ledger token`` need of the HTTP side.

Heavier layers (the FastAPI app, the projections) are imported when first used, so that a
command that needs only the ledger starts quickly.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from api.errors import DatabaseUnavailable
from domain import Ledger
from domain.errors import InvalidInput
from domain.storage import DEFAULT_DATABASE, StoreConfig
from storage.dialect import create_schema
from storage.event_store import open_event_store
from storage.locks import AdvisoryCommandLock
from storage.urls import conninfo, describe_url, parse_database_url

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.services import Services
    from api.settings import Settings
    from api.store import ApiStore
    from projections import Projections

__all__ = [
    "DEFAULT_DATABASE", "DatabaseUnavailable", "SettingView", "api_settings", "check_reachable",
    "check_sqlite_is_a_ledger", "configure_logging", "configured_database", "create_app", "describe", "ensure_schema",
    "events_table", "init_store", "is_database_error", "issue_token", "mask_secrets", "one_line", "open_api_store",
    "open_ledger", "open_projections", "open_services", "require_ledger", "revoke_token", "settings_problem",
    "settings_view",
    "token_roles",
]


# ---- describing and checking a --db setting ------------------------------------------------

def describe(config: StoreConfig) -> str:
    """The store in words, for messages: ``SQLite ./ledger.db``, ``PostgreSQL host:5432/db (schema s)``."""
    if config.kind == "postgres":
        schema = f" (schema {config.schema})" if config.schema else ""
        return f"PostgreSQL {config.host}:{config.port}/{config.dbname}{schema}"
    if config.kind == "sqlite":
        return f"SQLite {config.sqlite_path}"
    return "in-memory store"


def one_line(error: BaseException) -> str:
    """An exception's message on one line (its class name when it has none)."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


def is_database_error(error: BaseException) -> bool:
    """A driver's or the event store's error about the database itself (lost, refused, locked)."""
    from api.problems import database_error_classes

    return isinstance(error, database_error_classes())


def check_reachable(url: str) -> StoreConfig:
    """Parse ``url`` and make sure the database can be opened, without creating anything.

    A command line needs a store that outlives it: ``memory:`` is refused. A SQLite file need
    not exist yet (see :func:`require_ledger`), but its directory must. A server that refuses
    the connection is one sentence: the server's reason and what to check."""
    config = parse_database_url(url)
    if config.kind == "memory":
        raise InvalidInput("db: the command line needs a SQLite path or a postgresql:// URL, not memory:",
                           field="db")
    if config.kind == "sqlite":
        path = Path(config.sqlite_path)
        if config.sqlite_path != ":memory:":
            parent = path.expanduser().resolve().parent
            if not parent.is_dir():
                raise DatabaseUnavailable(f"cannot open {describe(config)}: directory {parent} does not exist",
                                          field="db")
            if path.is_dir():
                raise DatabaseUnavailable(f"cannot open {describe(config)}: it is a directory", field="db")
        return config
    import psycopg

    try:
        with psycopg.connect(conninfo(config, connect_timeout=5)) as conn:
            conn.execute("select 1")
    except psycopg.Error as error:
        reason = one_line(error)
        raise DatabaseUnavailable(f"cannot connect to {describe(config)}: {reason}; {_connection_hint(reason)}",
                                  field="db") from None
    return config


def _connection_hint(reason: str) -> str:
    """What to do about a refused PostgreSQL connection, from the server's (or libpq's) reason."""
    text = reason.lower()
    if "password authentication failed" in text or "no password supplied" in text or "authentication" in text:
        return "check the user and password in --db (or LEDGER_DATABASE_URL)"
    if "does not exist" in text and "database" in text:
        return "create that database (createdb) or fix its name in --db"
    if "role" in text and "does not exist" in text:
        return "fix the user in --db"
    return "check that PostgreSQL is running and the host and port in --db"


def events_table(config: StoreConfig) -> str:
    """The event store's table: eventsourcing names it after the application on PostgreSQL."""
    return f"{Ledger.name.lower()}_events" if config.kind == "postgres" else "stored_events"


def _sqlite_tables(config: StoreConfig) -> set[str]:
    """The tables of an existing SQLite file, read-only (InvalidInput if it is no SQLite database)."""
    try:
        conn = sqlite3.connect(f"file:{Path(config.sqlite_path)}?mode=ro", uri=True)
        try:
            return {row[0] for row in conn.execute("select name from sqlite_master where type='table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        raise InvalidInput(f"db: {describe(config)} is not a SQLite database", field="db") from None


def _postgres_has_table(config: StoreConfig, table: str) -> bool:
    import psycopg
    from psycopg import sql

    name = sql.Identifier(config.schema, table) if config.schema else sql.Identifier(table)
    with psycopg.connect(conninfo(config, connect_timeout=5)) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name.as_string(conn),)).fetchone()
    return bool(row and row[0])


def require_ledger(url: str, *, create_flag: str = "") -> StoreConfig:
    """:func:`check_reachable`, and refuse a store that holds no ledger (a SQLite file that does
    not exist or has no event table, a PostgreSQL schema without the ledger's tables): a command
    that reads or serves a ledger must not create an empty one by accident (``ledger init`` and
    ``ledger demo`` do that on purpose; ``serve`` and ``project`` with ``--create``, named by
    ``create_flag`` in the refusal)."""
    config = check_reachable(url)
    flag = f", pass {create_flag}" if create_flag else ""
    if config.kind == "sqlite" and config.sqlite_path != ":memory:":
        if not Path(config.sqlite_path).exists():
            raise DatabaseUnavailable(f"no ledger at {describe(config)}; run `ledger init` or `ledger demo` first"
                                      f"{flag}, or pass another --db", field="db")
        found = events_table(config) in _sqlite_tables(config)
    elif config.kind == "postgres":
        found = _postgres_has_table(config, events_table(config))
    else:
        found = True
    if not found:
        raise DatabaseUnavailable(f"no ledger at {describe(config)}: it has no {events_table(config)} table; "
                                  f"run `ledger init` with this --db first{flag}, or pass another --db", field="db")
    return config


def check_sqlite_is_a_ledger(path_text: str, doing: str) -> None:
    """Refuse to write into (or delete) a file that is something else than a ledger."""
    path = Path(path_text)
    if path_text == ":memory:" or not path.exists() or not path.stat().st_size:
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in conn.execute("select name from sqlite_master where type='table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        raise InvalidInput(f"db: refusing to {doing} {path}: it is not a SQLite database", field="db") from None
    if tables and "stored_events" not in tables:
        raise InvalidInput(f"db: refusing to {doing} {path}: it holds no ledger (no stored_events table)",
                           field="db")


def ensure_schema(config: StoreConfig) -> None:
    """Create the configured PostgreSQL schema if it is missing (the event store does not)."""
    if config.kind != "postgres" or not config.schema:
        return
    import psycopg

    with psycopg.connect(conninfo(config), autocommit=True) as conn:
        create_schema(conn, config.schema)


# ---- opening stores -----------------------------------------------------------------------

def open_ledger(url: str | None = None, *, clock: Callable[[], datetime] | None = None,
                extra_env: Mapping[str, str] | None = None) -> Ledger:
    """The ledger (the event store and its application service), creating its tables if missing.

    On PostgreSQL, commands on one GPU pool are serialised across processes by an advisory lock
    per pool (``storage.locks.AdvisoryCommandLock``: up to ``POOL_LOCK_CONNECTIONS`` more
    connections per process, opened on first use, waited for as long as the event store's
    ``POSTGRES_CONNECT_TIMEOUT``); within one process they queue on in-process locks first."""
    ledger: Ledger = open_event_store(url, clock=clock, extra_env=extra_env)
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
    from api.store import ApiStore

    return ApiStore.open(url, timeout=timeout, statement_timeout=statement_timeout)


def open_services(settings: Settings) -> Services:
    """Everything an HTTP request handler may use, opened once per process."""
    from api.readside import ReadSide
    from api.services import Services
    from api.timeouts import limit_library_pool
    from api.tokens import TokenBook

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
    # api.store.MAX_CONNECTIONS), read_connections for reports and the follower's 2 (README).
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
    from api.settings import Settings
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


# ---- what the command line needs of the HTTP side (cli/ never imports api/) ----------------

def api_settings(**overrides: object) -> Settings:
    """The API's settings: ``LEDGER_*`` from the environment, then ``overrides``."""
    from api.settings import Settings

    return Settings(**overrides)  # type: ignore[arg-type]  # pydantic-settings validates the values


def configure_logging(log_format: str | None, level: str) -> str:
    """One log line per record on stderr, ``text`` or ``json`` (``auto``: text on a terminal);
    returns the format chosen. ValueError on an unknown format or level."""
    from api.observability import configure_logging as configure

    return configure(log_format, level)


def token_roles() -> list[str]:
    from api.tokens import Role

    return [role.value for role in Role]


def issue_token(url: str, role: str, tenant_id: UUID | None = None, *,
                expires_in: timedelta | None = None) -> tuple[str, str]:
    """A new bearer token (shown once; the store keeps its SHA-256) and its id. ValueError on a
    role that does not exist or a tenant given to the wrong role."""
    from api.tokens import Role, create_token, token_id

    try:
        chosen = Role(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(token_roles())}") from None
    store = open_api_store(url)
    try:
        token = create_token(store, chosen, tenant_id, expires_in=expires_in)
    finally:
        store.close()
    return token, token_id(token)


def revoke_token(url: str, reference: str) -> str:
    """Revoke the token given by itself, its id or its shown prefix; returns its id (ValueError
    when nothing or several tokens match)."""
    from api.tokens import revoke_token as revoke

    store = open_api_store(url)
    try:
        return revoke(store, reference)
    finally:
        store.close()


# ---- settings: what `ledger config show` prints and how a bad one is reported ----------------

@dataclass(frozen=True)
class SettingView:
    """One setting for people: its variable, its default and current value (secrets masked) and
    where the value came from (``default``, ``environment``, ``.env`` or ``command line``)."""

    name: str
    default: str
    value: str
    source: str


SECRET_WORDS = ("password", "secret", "token", "api_key")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:password|sslpassword)=)[^&]*")


def mask_secrets(text: str) -> str:
    """A setting's text with the passwords of URLs masked (``user:***@host``, ``?password=***``)."""
    return _QUERY_SECRET.sub(r"\1***", describe_url(text)) if "://" in text else text


def _shown(name: str, value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if hasattr(value, "get_secret_value"):  # pydantic's SecretStr
        return "***" if value.get_secret_value() else ""
    text = str(value)
    if isinstance(value, str) and any(word in name.lower() for word in SECRET_WORDS):
        return "***" if text else ""
    return mask_secrets(text)


def _env_name(name: str) -> str:
    from api.settings import Settings

    return f"{Settings.model_config.get('env_prefix', '')}{name}".upper()


def _sources() -> tuple[dict[str, Any], dict[str, Any], str]:
    """The settings found in the environment and in the env file, and the env file's name."""
    from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource

    from api.settings import Settings

    env_file = Settings.model_config.get("env_file")
    name = str(env_file) if isinstance(env_file, str | Path) else ".env"
    return EnvSettingsSource(Settings)(), DotEnvSettingsSource(Settings)(), name


def reporting_currency() -> str:
    """LEDGER_REPORTING_CURRENCY (environment, then .env, then USD): consolidated reports'
    currency when none is asked for."""
    from api.settings import Settings

    return Settings().reporting_currency


def settings_view(**overrides: object) -> list[SettingView]:
    """Every setting of :class:`api.settings.Settings` (``LEDGER_*`` from the environment, then
    the ``.env`` file, then the default), ``overrides`` given on the command line."""
    from api.settings import Settings

    current = Settings(**overrides)  # type: ignore[arg-type]  # pydantic-settings validates the values
    from_env, from_file, env_file = _sources()
    rows = []
    for name, field in Settings.model_fields.items():
        source = ("command line" if name in overrides else "environment" if name in from_env
                  else env_file if name in from_file else "default")
        rows.append(SettingView(_env_name(name), _shown(name, field.get_default(call_default_factory=True)),
                                _shown(name, getattr(current, name)), source))
    return rows


def settings_problem(error: BaseException) -> str | None:
    """One sentence for invalid settings (a pydantic ``ValidationError`` of the API's settings)
    naming the variable, its value and where it came from; None for any other error."""
    from pydantic import ValidationError

    from api.settings import Settings

    if not isinstance(error, ValidationError) or error.title != Settings.__name__:
        return None
    problems = error.errors()
    first = problems[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    try:
        from_env, from_file, env_file = _sources()
        where = "the environment" if name in from_env else env_file if name in from_file else "the command line"
    except Exception:  # the env file itself cannot be read: say what we know
        where = "the environment"
    given = _shown(name, first.get("input"))
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return (f"setting {_env_name(name)}={given!r} (from {where}) is invalid: {message}{more}; fix or unset it "
            f"(`ledger config show` lists every setting)")


def configured_database() -> str:
    """``LEDGER_DATABASE_URL`` from the environment, else from the ``.env`` file, else the
    default: the ``--db`` every command uses when none is given."""
    import os

    value = os.environ.get("LEDGER_DATABASE_URL")
    if value:
        return value
    if Path(".env").is_file():
        _, from_file, _ = _sources()
        found = from_file.get("database_url")
        if isinstance(found, str) and found:
            return found
    return DEFAULT_DATABASE
