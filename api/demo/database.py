"""The database behind ``--db``: check that it can be reached, and reset it for ``--reset``.

Both refuse with one clear sentence (a :class:`DatabaseUnavailable` or a domain error) rather
than a driver's traceback. A reset only ever touches the ledger's own tables in the configured
SQLite file or PostgreSQL schema: never another schema, never a file that is not a ledger.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from domain.errors import InvalidInput
from domain.storage import StoreConfig, parse_database_url

# Tables the ledger and its readers create (events, projections, audit chain, API store).
# PostgreSQL: eventsourcing names the events table after the application ("Ledger").
# Projections: utl_/bil_/sus_/cap_ tables, proj_tracking and scratch_ copies; audit: audit_chain*.
LEDGER_TABLE_PREFIXES = ("ledger_", "utl_", "bil_", "sus_", "cap_", "proj_", "scratch_", "audit_", "api_")


class DatabaseUnavailable(Exception):
    """The database named by ``--db`` cannot be opened or reached."""


def describe(config: StoreConfig) -> str:
    if config.kind == "postgres":
        schema = f" (schema {config.schema})" if config.schema else ""
        return f"PostgreSQL {config.host}:{config.port}/{config.dbname}{schema}"
    if config.kind == "sqlite":
        return f"SQLite {config.sqlite_path}"
    return "in-memory store"


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def check_reachable(url: str) -> StoreConfig:
    """Parse ``url`` and make sure the database can be opened, without creating anything."""
    config = parse_database_url(url)
    if config.kind == "memory":
        raise InvalidInput("db: the demo and reports need a SQLite path or a postgresql:// URL, not memory:",
                           field="db")
    if config.kind == "sqlite":
        path = Path(config.sqlite_path)
        if config.sqlite_path != ":memory:":
            parent = path.expanduser().resolve().parent
            if not parent.is_dir():
                raise DatabaseUnavailable(f"cannot open {describe(config)}: directory {parent} does not exist")
            if path.exists() and path.is_dir():
                raise DatabaseUnavailable(f"cannot open {describe(config)}: it is a directory")
        return config
    import psycopg

    try:
        with psycopg.connect(config.conninfo(), connect_timeout=5) as conn:
            conn.execute("select 1")
    except psycopg.Error as error:
        raise DatabaseUnavailable(f"cannot connect to {describe(config)}: {one_line(error)}") from None
    return config


def ensure_schema(config: StoreConfig) -> None:
    """Create the configured PostgreSQL schema if it is missing (the event store does not)."""
    if config.kind != "postgres" or not config.schema:
        return
    import psycopg
    from psycopg import sql

    with psycopg.connect(config.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(config.schema)))


def is_ledger_table(name: str) -> bool:
    from projections.engine import SCRATCH
    from projections.registry import table_names

    read_side = table_names()
    return (name == "stored_events" or name.startswith(LEDGER_TABLE_PREFIXES) or name in read_side
            or name.removeprefix(SCRATCH) in read_side)


def reset(url: str) -> list[str]:
    """Remove the ledger's data at ``url``; returns what was removed."""
    config = check_reachable(url)
    if config.kind == "sqlite":
        return _reset_sqlite(config.sqlite_path)
    return _reset_postgres(config)


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


def _reset_sqlite(path_text: str) -> list[str]:
    path = Path(path_text)
    if path_text == ":memory:" or not path.exists():
        return []
    check_sqlite_is_a_ledger(path_text, "reset")
    removed = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            os.remove(candidate)
            removed.append(str(candidate))
    return removed


def _reset_postgres(config: StoreConfig) -> list[str]:
    import psycopg
    from psycopg import sql

    schema = config.schema or "public"
    with psycopg.connect(config.conninfo(), autocommit=True) as conn:
        rows = conn.execute("select tablename from pg_tables where schemaname = %s", (schema,)).fetchall()
        tables = sorted(name for (name,) in rows if is_ledger_table(name))
        for name in tables:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}.{} CASCADE").format(sql.Identifier(schema),
                                                                              sql.Identifier(name)))
    return [f"{schema}.{name}" for name in tables]
