"""Advisory locks on PostgreSQL: table creation across processes, and one writer per GPU pool."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from domain.storage import StoreConfig
from storage.urls import conninfo

log = logging.getLogger("ledger.store")


# ---- table creation across processes ----------------------------------------------------------
# ``CREATE TABLE IF NOT EXISTS`` is not safe against itself: two processes creating the same table
# at once race on the catalog (``UniqueViolation ... pg_type_typname_nsp_index``, ``tuple
# concurrently updated``). Processes starting together on a fresh database (several `ledger
# serve`, `ledger project` workers) therefore take a lock, keyed on the schema, around their DDL;
# whoever comes second finds the tables there. SQLite needs nothing: its writers are serialised
# by the file lock.

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
        conn = psycopg.connect(conninfo(config, connect_timeout=max(1, round(connect_timeout))), autocommit=True)
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


# ---- one writer per GPU pool across processes ------------------------------------------------
# Threads of one process queue on the ledger's in-process pool lock; the thread at the head of
# that queue then takes the pool's session-level advisory lock here, so commands on one pool
# run one at a time across every process writing the database (``domain.service.locks``). The
# lock is held on a connection of a small pool of its own (at most ``POOL_LOCK_CONNECTIONS`` per
# process, opened on first use) from before the command loads the pool until after its save
# commits, and released explicitly. SQLite needs none: its writers are serialised by the file.

POOL_LOCK_CONNECTIONS = 4


def pool_lock_key(config: StoreConfig, key: Any) -> int:
    """A signed 64-bit advisory-lock key for the aggregate id ``key`` (a UUID) in the store's
    schema (two ledgers in two schemas of one database never wait on each other)."""
    name = f"gpu-ledger:pool:{config.schema or 'public'}:{key}"
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class AdvisoryCommandLock:
    """``domain.service.locks.CommandLock`` on PostgreSQL: ``pg_advisory_lock`` per pool.

    A waiter gives up after ``wait_seconds`` with ``ConcurrencyConflict`` (the holder is stuck:
    the answer is "retry later", never a hung request). ``timeout`` bounds the wait for one of
    the lock connections (``psycopg_pool.PoolTimeout``, a database error: 503 in the API). A
    connection that breaks while a lock is held takes the lock with it (the server ends the
    session), so a lost connection never leaves a pool locked."""

    def __init__(self, config: StoreConfig, *, max_connections: int = POOL_LOCK_CONNECTIONS,
                 timeout: float = 5.0, wait_seconds: float = 30.0) -> None:
        if not config.is_postgres:
            raise ValueError("advisory locks need a PostgreSQL store")
        import threading

        self.config = config
        self.max_connections = max_connections
        self.timeout = timeout
        self.wait_seconds = wait_seconds
        self._pool: Any = None
        self._opening = threading.Lock()
        self._closed = False

    def _connections(self) -> Any:
        if self._pool is None:
            with self._opening:
                if self._closed:
                    raise RuntimeError("the pool locks are closed")
                if self._pool is None:
                    from psycopg_pool import ConnectionPool

                    wait_ms = max(1, round(self.wait_seconds * 1000))

                    def configure(conn: Any) -> None:
                        conn.execute(f"SET lock_timeout = {wait_ms}")

                    self._pool = ConnectionPool(
                        conninfo(self.config, connect_timeout=max(1, round(self.timeout))), min_size=0,
                        max_size=self.max_connections, kwargs={"autocommit": True}, configure=configure,
                        timeout=self.timeout, name="ledger-pool-locks", open=True)
        return self._pool

    @contextmanager
    def hold(self, key: Any) -> Iterator[None]:
        import psycopg
        from psycopg import errors

        from domain.errors import ConcurrencyConflict

        lock_key = pool_lock_key(self.config, key)
        for attempt in (1, 2):  # a connection that died idle (a server restart) is retried once
            with self._connections().connection() as conn:
                try:
                    conn.execute("SELECT pg_advisory_lock(%s)", (lock_key,))
                except (errors.LockNotAvailable, errors.QueryCanceled):
                    raise ConcurrencyConflict(f"another process has held pool {key} for over "
                                              f"{self.wait_seconds:g} s; retry later") from None
                except psycopg.OperationalError:
                    if attempt == 2 or not conn.closed:
                        raise
                    continue
                try:
                    yield
                finally:
                    try:
                        conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))
                    except psycopg.Error as error:
                        # The command's outcome stands; closing the session releases the lock.
                        log.warning("pool lock release failed (%s); closing its connection",
                                    str(error).strip()[:200])
                        conn.close()
                return

    def close(self) -> None:
        with self._opening:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
