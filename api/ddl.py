"""Table creation serialised across processes: a PostgreSQL advisory lock keyed on the schema.

``CREATE TABLE IF NOT EXISTS`` is not safe against itself: two processes creating the same table
at once race on the catalog (``UniqueViolation ... pg_type_typname_nsp_index``, ``tuple
concurrently updated``). Processes starting together on a fresh database (several `ledger
serve`, `ledger project` workers) therefore take a lock, keyed on the schema, around their DDL;
whoever comes second finds the tables there. SQLite needs nothing: its writers are serialised
by the file lock.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from domain.storage import StoreConfig

log = logging.getLogger("api")


def ddl_lock_key(config: StoreConfig, what: str) -> int:
    """A signed 64-bit advisory-lock key for ``what`` (a group of tables) in the store's schema.
    Advisory locks are per database already; the schema and the group make the key."""
    name = f"gpu-ledger:ddl:{what}:{config.schema or 'public'}"
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def serialised_ddl(config: StoreConfig, what: str, *, connect_timeout: float = 5.0) -> Iterator[None]:
    """Hold the session-level advisory lock for ``what`` while the block creates tables.

    The lock lives on a connection of its own, released (and the connection closed) on the way
    out. If that connection cannot be made, the block runs unlocked and the caller's own
    connection reports the outage as it always did.
    """
    if not config.is_postgres:
        yield
        return
    import psycopg

    key = ddl_lock_key(config, what)
    try:
        conn = psycopg.connect(config.conninfo(), autocommit=True, connect_timeout=max(1, round(connect_timeout)))
    except psycopg.OperationalError as error:
        log.warning("no DDL lock (%s); creating tables unlocked", str(error).strip()[:200])
        yield
        return
    try:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    finally:
        conn.close()
