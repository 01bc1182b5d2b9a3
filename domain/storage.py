"""Map one setting (a database URL or a SQLite path) to the event store's configuration.

    ./ledger.db, sqlite:///abs/path.db, sqlite:///:memory:   -> SQLite (the embedded default)
    postgresql://user:pw@host:5432/dbname?schema=ledger    -> PostgreSQL via psycopg 3
    memory:                                                -> in-process store (unit tests)

No driver is imported here: the eventsourcing persistence module named in the returned
environment does that when the application starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlparse

from domain.errors import InvalidInput

DEFAULT_DATABASE = "./ledger.db"


@dataclass(frozen=True)
class StoreConfig:
    kind: str  # "sqlite" | "postgres" | "memory"
    sqlite_path: str = ""
    host: str = ""
    port: int = 5432
    dbname: str = ""
    user: str = ""
    password: str = ""
    schema: str = ""

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgres"

    def conninfo(self) -> str:
        """A libpq connection string (PostgreSQL only)."""
        parts = [f"host={self.host}", f"port={self.port}", f"dbname={self.dbname}"]
        if self.user:
            parts.append(f"user={self.user}")
        if self.password:
            parts.append(f"password={self.password}")
        return " ".join(parts)

    def event_store_env(self) -> dict[str, str]:
        """Environment for eventsourcing's InfrastructureFactory."""
        if self.kind == "memory":
            return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        if self.kind == "sqlite":
            return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": self.sqlite_path,
                    "SQLITE_LOCK_TIMEOUT": "10"}
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_HOST": self.host, "POSTGRES_PORT": str(self.port),
            "POSTGRES_DBNAME": self.dbname, "POSTGRES_USER": self.user or "postgres",
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_CONNECT_TIMEOUT": "5", "POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "8",
            "POSTGRES_PRE_PING": "y",
            # Kept off on purpose: in eventsourcing 9.5.6 the DB functions write to the wrong
            # table and skip tracking records.
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        }
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        return env


def parse_database_url(url: str | None) -> StoreConfig:
    """Parse the ``--db`` / ``LEDGER_DATABASE_URL`` setting; raise InvalidInput on nonsense."""
    url = (url or DEFAULT_DATABASE).strip()
    if url in ("memory:", "memory://"):
        return StoreConfig(kind="memory")
    if url.startswith(("postgresql://", "postgres://")):
        parsed = urlparse(url)
        dbname = unquote(parsed.path.lstrip("/"))
        if not dbname:
            raise InvalidInput(f"database URL {url!r} names no database", field="db")
        query = parse_qs(parsed.query)
        try:
            port = parsed.port or 5432
        except ValueError:
            raise InvalidInput(f"database URL {url!r} has an invalid port", field="db") from None
        return StoreConfig(
            kind="postgres", host=parsed.hostname or "127.0.0.1", port=port, dbname=dbname,
            user=unquote(parsed.username or ""), password=unquote(parsed.password or ""),
            schema=query.get("schema", [""])[0],
        )
    if url.startswith("sqlite://"):
        path = url[len("sqlite://"):]
        if path.startswith("/") and not path.startswith("//"):
            path = path[1:] if path[1:] == ":memory:" else path
        return StoreConfig(kind="sqlite", sqlite_path=path or DEFAULT_DATABASE)
    if "://" in url:
        raise InvalidInput(f"unsupported database URL {url!r}: use a SQLite path or postgresql://...", field="db")
    return StoreConfig(kind="sqlite", sqlite_path=url)
