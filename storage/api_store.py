"""The API's own tables (tokens, idempotency keys) in the ledger's database.

SQLite and PostgreSQL through their drivers directly (sqlite3, psycopg with a pool); SQL is
written once with ``?`` placeholders. On PostgreSQL the tables live in the same schema as the
events (``?schema=`` in the URL).
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol
from weakref import WeakKeyDictionary

from domain.storage import StoreConfig
from storage.dialect import Dialect
from storage.locks import ddl_lock_key
from storage.timeouts import statement_timeout_option
from storage.urls import conninfo, parse_database_url

POSTGRES = Dialect("postgres")

Row = tuple[Any, ...]

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS api_tokens (
        token_hash TEXT PRIMARY KEY, role TEXT NOT NULL, tenant_id TEXT, created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS api_idempotency (
        scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, state TEXT NOT NULL,
        claimed_at DOUBLE PRECISION NOT NULL, status INTEGER, content_type TEXT, position BIGINT,
        body TEXT, PRIMARY KEY (scope, key))""",
    # One row, bumped by every revocation: API processes compare it with what they last saw and
    # drop their token caches when it moved (access/tokens.py; a revocation's delay is bounded).
    """CREATE TABLE IF NOT EXISTS api_revocations (id INTEGER PRIMARY KEY, version BIGINT NOT NULL)""",
    "INSERT INTO api_revocations (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
]
# Connections of the API store's pool (PostgreSQL): tokens and idempotency keys, one short
# transaction each. Part of a process's connection budget (README, Configuration).
MAX_CONNECTIONS = 4
# Columns added after a table was first released: (table, column, type), added when missing.
ADDED_COLUMNS = [
    ("api_tokens", "prefix", "TEXT"),  # the token's first characters, shown to tell tokens apart
    ("api_tokens", "expires_at", "TEXT"),  # ISO 8601 UTC; NULL: never expires
    ("api_tokens", "revoked_at", "TEXT"),  # ISO 8601 UTC; NULL: not revoked
]


# A connection handed back to the pool less than this many seconds ago is handed out again
# without the liveness check's round trip (BENCHMARKS.md, *Write path*): under load every
# connection is that fresh, and a connection the server dropped meanwhile fails its statement,
# is answered 503 and is discarded by the pool, like one that broke during a statement.
CHECK_AFTER_IDLE_SECONDS = 1.0


class LivenessCheck:
    """The pool's ``check``: psycopg_pool's round trip, for connections idle a while only."""

    def __init__(self, idle_seconds: float = CHECK_AFTER_IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._returned: WeakKeyDictionary[Any, float] = WeakKeyDictionary()

    def returned(self, conn: Any) -> None:
        """The pool's ``reset``: note when the connection came back."""
        self._returned[conn] = time.monotonic()

    def check(self, conn: Any) -> None:
        from psycopg_pool import ConnectionPool

        if time.monotonic() - self._returned.get(conn, -math.inf) >= self.idle_seconds:
            ConnectionPool.check_connection(conn)


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def fetchone(self) -> Row | None: ...
    def fetchall(self) -> list[Row]: ...
    @property
    def rowcount(self) -> int: ...


class Tx:
    """One transaction; ``?`` placeholders on both backends."""

    def __init__(self, cursor: Any, postgres: bool) -> None:
        self._cursor = cursor
        self._postgres = postgres

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        if self._postgres:
            sql = POSTGRES.sql(sql)
        self._cursor.execute(sql, tuple(params))
        return int(self._cursor.rowcount)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self.execute(sql, params)
        row = self._cursor.fetchone()
        return tuple(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self.execute(sql, params)
        return [tuple(r) for r in self._cursor.fetchall()]


class ApiStore:
    """Opens connections to the ledger's database for the API's own tables."""

    def __init__(self, config: StoreConfig, *, timeout: float = 5.0, statement_timeout: float = 0.0,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        if config.kind == "memory":
            raise ValueError("the HTTP API needs a SQLite file or PostgreSQL, not the in-memory store")
        self.config = config
        self.timeout = timeout  # seconds to wait for a connection (then the pool raises PoolTimeout)
        self.statement_timeout = statement_timeout  # seconds (PostgreSQL; 0: none)
        self.max_connections = max_connections
        self._pool: Any = None
        self._lock = threading.Lock()
        with self.transaction() as tx:
            if config.is_postgres:  # one process at a time creates these tables (storage/)
                tx.execute("SET LOCAL statement_timeout = 0")  # waiting for that lock is not a runaway query
                tx.execute("SELECT pg_advisory_xact_lock(?)", (ddl_lock_key(config, "api"),))
            for statement in SCHEMA:
                tx.execute(statement)
            # Keys are saved complete, in the ledger's transaction (api/idempotency.py); a
            # 'pending' claim is what the earlier design (claim first, complete later) left
            # behind after a crash: dropped once older than two minutes.
            tx.execute("DELETE FROM api_idempotency WHERE state = 'pending' AND claimed_at < ?",
                       (time.time() - 120.0,))
            for table, column, kind in ADDED_COLUMNS:
                if config.is_postgres:  # looked up first: no DDL (and no table lock) when present
                    present = tx.one("SELECT 1 FROM information_schema.columns WHERE table_schema = "
                                     "current_schema() AND table_name = ? AND column_name = ?", (table, column))
                    if present is None:
                        tx.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")
                elif column not in {row[1] for row in tx.all(f"PRAGMA table_info({table})")}:
                    tx.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    @classmethod
    def open(cls, url: str | None, *, timeout: float = 5.0, statement_timeout: float = 0.0) -> ApiStore:
        return cls(parse_database_url(url), timeout=timeout, statement_timeout=statement_timeout)

    def _postgres_pool(self) -> Any:
        with self._lock:
            if self._pool is None:
                from psycopg_pool import ConnectionPool

                kwargs: dict[str, Any] = {"autocommit": False, "connect_timeout": max(1, round(self.timeout))}
                # ``options`` given here replaces the URL's own: keep those, after ours.
                options = [statement_timeout_option(self.statement_timeout) if self.statement_timeout > 0 else "",
                           dict(self.config.options).get("options", ""),
                           f"-c search_path={self.config.schema}" if self.config.schema else ""]
                if any(options):
                    kwargs["options"] = " ".join(part for part in options if part)
                # check: a connection broken by a database restart while it sat idle is replaced,
                # not handed out; open(wait=False): a server that is down at startup does not
                # block the process.
                liveness = LivenessCheck()
                self._pool = ConnectionPool(conninfo(self.config), min_size=1, max_size=self.max_connections,
                                            kwargs=kwargs, open=False, timeout=self.timeout,
                                            check=liveness.check, reset=liveness.returned,
                                            reconnect_timeout=24 * 3600)
                self._pool.open(wait=False)
            return self._pool

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """Commit on success, roll back on any exception."""
        if self.config.is_postgres:
            with self._postgres_pool().connection() as conn, conn.transaction(), conn.cursor() as cursor:
                yield Tx(cursor, postgres=True)
            return
        conn = sqlite3.connect(self.config.sqlite_path, timeout=max(self.timeout, 15.0), isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            cursor = conn.cursor()
            try:
                yield Tx(cursor, postgres=False)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """Single-statement reads, no transaction block: on PostgreSQL one round trip (a
        transaction costs three: BEGIN, the statement, COMMIT), on SQLite no write lock."""
        if self.config.is_postgres:
            with self._postgres_pool().connection() as conn:
                conn.autocommit = True
                try:
                    with conn.cursor() as cursor:
                        yield Tx(cursor, postgres=True)
                finally:
                    if not conn.closed:  # a broken connection is dropped by the pool
                        conn.autocommit = False
            return
        conn = sqlite3.connect(self.config.sqlite_path, timeout=max(self.timeout, 15.0), isolation_level=None)
        try:
            yield Tx(conn.cursor(), postgres=False)
        finally:
            conn.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
