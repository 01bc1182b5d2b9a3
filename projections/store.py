"""The one store layer: the database setting and the SQL dialect differences.

Every part that writes its own tables (the projections, the API's tokens and idempotency keys,
the audit chain) goes through here for what differs between SQLite and PostgreSQL:
placeholders, ``FOR UPDATE``, exact decimals (``numeric`` vs text), binary columns, array
parameters and quoted schema-qualified names.

The setting (``--db`` / ``LEDGER_DATABASE_URL``)::

    ./ledger.db, sqlite:///abs/path.db                     -> SQLite (the embedded default)
    postgresql://user:pw@host:5432/db?schema=s&sslmode=...  -> PostgreSQL via psycopg 3
    memory:                                                -> in-process store (unit tests)

PostgreSQL URLs are parsed by libpq itself (``psycopg.conninfo.conninfo_to_dict``): percent
escapes, IPv6 hosts and every libpq parameter (``sslmode``, ``connect_timeout``,
``application_name``, ...) work as in ``psql``. ``schema`` is ours: the schema that holds the
ledger's tables. The event store's own connections (eventsourcing's pool) take host, port,
database, user and password only; further parameters reach them through libpq's environment
variables (``PGSSLMODE``, ...), which :func:`apply_libpq_environment` sets for this process.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from domain.errors import InvalidInput
from domain.storage import DEFAULT_DATABASE, StoreConfig

# libpq parameters and the environment variables libpq reads them from (libpq docs, 34.15).
LIBPQ_ENVIRONMENT = {
    "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL", "sslnegotiation": "PGSSLNEGOTIATION", "channel_binding": "PGCHANNELBINDING",
    "gssencmode": "PGGSSENCMODE", "connect_timeout": "PGCONNECT_TIMEOUT", "application_name": "PGAPPNAME",
    "options": "PGOPTIONS", "target_session_attrs": "PGTARGETSESSIONATTRS", "passfile": "PGPASSFILE",
    "service": "PGSERVICE", "hostaddr": "PGHOSTADDR", "requiressl": "PGREQUIRESSL",
}
NAMED = ("host", "port", "dbname", "user", "password")
log = logging.getLogger("ledger.store")


def parse_database_url(url: str | StoreConfig | None) -> StoreConfig:
    """Parse the ``--db`` / ``LEDGER_DATABASE_URL`` setting; raise InvalidInput naming ``db``."""
    if isinstance(url, StoreConfig):
        return url
    text = (url or DEFAULT_DATABASE).strip()
    if text in ("memory:", "memory://"):
        return StoreConfig(kind="memory", url=text)
    if text.startswith(("postgresql://", "postgres://")):
        return _postgres(text)
    if text.startswith("sqlite://"):
        path = text[len("sqlite://"):]
        if path.startswith("/") and not path.startswith("//"):
            path = path[1:] if path[1:] == ":memory:" else path
        return StoreConfig(kind="sqlite", url=text, sqlite_path=path or DEFAULT_DATABASE)
    if "://" in text:
        raise InvalidInput(f"db: unsupported database URL {describe_url(text)!r}: use a SQLite path or "
                           "postgresql://...", field="db")
    if "\x00" in text:
        raise InvalidInput("db: a path cannot contain a NUL character", field="db")
    return StoreConfig(kind="sqlite", url=text, sqlite_path=text)


def _postgres(text: str) -> StoreConfig:
    from psycopg import conninfo

    parts = urlsplit(text)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), "")
    libpq_url = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k != "schema"])))
    try:
        params = {k: str(v) for k, v in conninfo.conninfo_to_dict(libpq_url).items() if v is not None}
    except Exception as error:  # psycopg.ProgrammingError: libpq refused the URL
        reason = " ".join(str(error).split())
        raise InvalidInput(f"db: {describe_url(text)!r} is not a valid PostgreSQL URL ({reason})",
                           field="db") from None
    if not params.get("dbname"):
        raise InvalidInput(f"db: database URL {describe_url(text)!r} names no database", field="db")
    try:
        port = int(params.get("port", "5432"))
    except ValueError:
        raise InvalidInput(f"db: database URL {describe_url(text)!r} has an invalid port", field="db") from None
    unknown = sorted(k for k in params if k not in NAMED and k not in LIBPQ_ENVIRONMENT)
    if unknown:
        raise InvalidInput(f"db: the libpq parameter {unknown[0]!r} is not supported here "
                           f"(supported: {', '.join(sorted(LIBPQ_ENVIRONMENT))})", field="db")
    return StoreConfig(kind="postgres", url=text, host=params.get("host", "127.0.0.1"), port=port,
                       dbname=params["dbname"], user=params.get("user", ""), password=params.get("password", ""),
                       schema=schema, options=tuple(sorted((k, v) for k, v in params.items() if k not in NAMED)))


def conninfo(config: StoreConfig, **overrides: Any) -> str:
    """A libpq connection string for our own connections (every parameter of the URL)."""
    from psycopg.conninfo import make_conninfo

    params: dict[str, Any] = {"host": config.host, "port": config.port, "dbname": config.dbname,
                              **dict(config.options)}
    if config.user:
        params["user"] = config.user
    if config.password:
        params["password"] = config.password
    params.update(overrides)
    return make_conninfo(**params)


def apply_libpq_environment(config: StoreConfig) -> None:
    """Give the event store's pool the URL's further libpq parameters, through libpq's
    environment variables (only where this process has not set them itself)."""
    for key, value in config.options:
        os.environ.setdefault(LIBPQ_ENVIRONMENT[key], value)


def with_schema(config: StoreConfig, schema: str) -> StoreConfig:
    """The same PostgreSQL database, another schema (scratch stores)."""
    parts = urlsplit(config.url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "schema"]
    url = urlunsplit(parts._replace(query=urlencode([*query, ("schema", schema)])))
    return parse_database_url(url)


def describe_url(text: str) -> str:
    """The URL with its password masked, for messages."""
    parts = urlsplit(text)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return text


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


def open_event_store(url: str | StoreConfig | None, *, clock: Any = None,
                     extra_env: Mapping[str, str] | None = None) -> Any:
    """The ledger (``domain.Ledger``) on the store ``url`` names, creating its tables if missing."""
    from domain import Ledger

    config = parse_database_url(url)
    apply_libpq_environment(config)
    # The library's recorder, plus rows saved in the events' transaction (projections/recorders.py).
    env = {"APPLICATION_RECORDER_TOPIC": RECORDERS[config.kind]} if config.kind in RECORDERS else {}
    env.update(extra_env or {})
    with serialised_ddl(config, "ledger"):  # the library creates its tables when it opens
        if clock is None:
            return Ledger.open(config, extra_env=env)
        return Ledger.open(config, clock=clock, extra_env=env)


RECORDERS = {"postgres": "projections.recorders:PostgresAttachingRecorder",
             "sqlite": "projections.recorders:SQLiteAttachingRecorder"}


# ---- the SQL dialect --------------------------------------------------------------------------


class Dialect:
    """What differs between SQLite and PostgreSQL in our own SQL. Statements are written once
    with ``?`` placeholders."""

    def __init__(self, kind: str, schema: str = "") -> None:
        if kind not in ("sqlite", "postgres"):
            raise ValueError(f"no SQL dialect for the {kind!r} store")
        self.kind = kind
        self.postgres = kind == "postgres"
        self.schema = schema or ("public" if self.postgres else "")

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    @property
    def for_update(self) -> str:
        """Row locks: PostgreSQL locks rows; SQLite's BEGIN IMMEDIATE already serialises writers."""
        return " FOR UPDATE" if self.postgres else ""

    @property
    def blob(self) -> str:
        return "bytea" if self.postgres else "BLOB"

    def column_type(self, sql_type: str) -> str:
        """BIGINT, TEXT or NUMERIC (exact decimals: ``numeric`` on PostgreSQL, text on SQLite,
        whose NUMERIC affinity would turn "1.10" into a float)."""
        if self.postgres:
            return {"TEXT": "text", "BIGINT": "bigint", "NUMERIC": "numeric"}[sql_type]
        return {"TEXT": "TEXT", "BIGINT": "BIGINT", "NUMERIC": "TEXT"}[sql_type]

    def table(self, name: str) -> str:
        """A table name, qualified by the schema and quoted on PostgreSQL."""
        if not self.postgres:
            return name
        return f"{quote(self.schema)}.{quote(name)}"

    def in_list(self, values: Sequence[Any]) -> str:
        return ", ".join("?" * len(values))


def create_schema(conn: Any, schema: str) -> None:
    """``CREATE SCHEMA IF NOT EXISTS`` on an autocommit psycopg connection, safe when several
    processes create the same schema at once (the loser's unique violation means it exists)."""
    import psycopg

    with suppress(psycopg.errors.UniqueViolation):
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")


def quote(identifier: str) -> str:
    """A quoted SQL identifier (psycopg's quoting rules)."""
    from psycopg import sql

    return sql.Identifier(identifier).as_string(None)


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
