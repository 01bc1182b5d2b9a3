"""``ledger demo --reset``: remove the ledger's data at ``--db``.

A reset only ever touches the ledger's own tables in the configured SQLite file or PostgreSQL
schema: never another schema, never a file that is not a ledger. Reaching the database and
refusing what is not a ledger are the storage layer's checks (``storage.checks``).
"""

from __future__ import annotations

import os
from pathlib import Path

from domain.storage import StoreConfig
from storage.checks import check_reachable, check_sqlite_is_a_ledger
from storage.urls import conninfo

# Tables the ledger and its readers create (events, projections, audit chain, API store).
# PostgreSQL: eventsourcing names the events table after the application ("Ledger").
# Projections: utl_/bil_/sus_/cap_ tables, proj_tracking and scratch_ copies; audit: audit_chain*.
LEDGER_TABLE_PREFIXES = ("ledger_", "utl_", "bil_", "sus_", "cap_", "proj_", "scratch_", "audit_", "api_")


def is_ledger_table(name: str) -> bool:
    from projections.checkpoints import is_checkpoint_table
    from projections.engine import SCRATCH
    from projections.registry import table_names

    read_side = table_names()
    return (name == "stored_events" or name.startswith(LEDGER_TABLE_PREFIXES) or name in read_side
            or name.removeprefix(SCRATCH) in read_side or is_checkpoint_table(name))


def reset(url: str) -> list[str]:
    """Remove the ledger's data at ``url``; returns what was removed."""
    config = check_reachable(url)
    if config.kind == "sqlite":
        return _reset_sqlite(config.sqlite_path)
    return _reset_postgres(config)


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
    with psycopg.connect(conninfo(config), autocommit=True) as conn:
        rows = conn.execute("select tablename from pg_tables where schemaname = %s", (schema,)).fetchall()
        tables = sorted(name for (name,) in rows if is_ledger_table(name))
        for name in tables:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}.{} CASCADE").format(sql.Identifier(schema),
                                                                              sql.Identifier(name)))
    return [f"{schema}.{name}" for name in tables]
