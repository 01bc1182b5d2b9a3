"""Where the ledger's events live: a parsed store setting, as plain data.

The setting (``--db`` / ``LEDGER_DATABASE_URL``) is parsed by the store layer
(``storage.urls.parse_database_url``, with psycopg's libpq helpers); the domain only turns
the result into the event store's environment. No driver is imported here: the eventsourcing
persistence module named in that environment does that when the application starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_DATABASE = "./ledger.db"


@dataclass(frozen=True)
class StoreConfig:
    kind: str  # "sqlite" | "postgres" | "memory"
    url: str = ""  # the setting as given (passwords included: never print it; see ``describe``)
    sqlite_path: str = ""
    host: str = ""
    port: int = 5432
    dbname: str = ""
    user: str = ""
    password: str = ""
    schema: str = ""
    # Further libpq parameters (sslmode, connect_timeout, application_name, ...), as given.
    options: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgres"

    def event_store_env(self) -> dict[str, str]:
        """Environment for eventsourcing's InfrastructureFactory."""
        if self.kind == "memory":
            return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        if self.kind == "sqlite":
            return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": self.sqlite_path,
                    "SQLITE_LOCK_TIMEOUT": "10"}
        options = dict(self.options)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_HOST": self.host, "POSTGRES_PORT": str(self.port),
            "POSTGRES_DBNAME": self.dbname, "POSTGRES_USER": self.user or "postgres",
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_CONNECT_TIMEOUT": options.get("connect_timeout", "5"),
            "POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "8",
            "POSTGRES_PRE_PING": "y",
            # Kept off on purpose: in eventsourcing 9.5.6 the DB functions write to the wrong
            # table and skip tracking records.
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        }
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        return env
