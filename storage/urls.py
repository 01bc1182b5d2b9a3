"""The database setting: ``--db`` / ``LEDGER_DATABASE_URL``, parsed once into a StoreConfig.

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

import os
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


