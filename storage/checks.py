"""The checks behind every ``--db``: a database that cannot be reached, or (for a command that
must not create one) a store that holds no ledger, is refused with one
:class:`~storage.errors.DatabaseUnavailable` sentence; and the store described in words."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from domain import Ledger
from domain.errors import InvalidInput
from domain.storage import StoreConfig
from storage.dialect import create_schema
from storage.errors import DatabaseUnavailable
from storage.urls import conninfo, parse_database_url


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
