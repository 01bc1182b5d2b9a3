"""The composition root's product: everything a request handler may use, opened once."""

from __future__ import annotations

from dataclasses import dataclass

from api.ddl import serialised_ddl
from api.readside import ReadSide
from api.settings import Settings
from api.store import ApiStore
from api.tenant_index import TenantIndex
from api.tokens import TokenBook
from domain import Ledger
from domain.storage import parse_database_url


def create_projection_tables(url: str) -> None:
    """Open the projections once (creating their tables) and close them again; request threads
    open their own later (api/readside.py) and find the tables there."""
    from projections import Projections

    Projections.open(url).close()


@dataclass
class Services:
    settings: Settings
    ledger: Ledger
    store: ApiStore
    tokens: TokenBook
    tenant_index: TenantIndex
    readside: ReadSide

    @classmethod
    def open(cls, settings: Settings) -> Services:
        timeout = str(max(1, round(settings.db_timeout_seconds)))  # the library wants whole seconds
        # Processes starting together on a fresh database would race creating the same tables
        # (UniqueViolation on pg_type, "tuple concurrently updated"): the library's and the
        # projections' tables are created under an advisory lock keyed on the schema, the API's
        # own under another (ApiStore takes it).
        with serialised_ddl(parse_database_url(settings.database_url), "ledger",
                            connect_timeout=settings.db_timeout_seconds):
            # No pre-ping: the library's pool would check every connection with a round trip
            # before each use (three of them inside a reservation's per-pool critical section);
            # its recorder methods already retry OperationalError/InterfaceError on a fresh
            # connection, and the pool discards broken ones (bench/api_load.py, BENCHMARKS.md).
            ledger = Ledger.open(settings.database_url, extra_env={"POSTGRES_CONNECT_TIMEOUT": timeout,
                                                                    "POSTGRES_PRE_PING": "n"})
            try:
                create_projection_tables(settings.database_url)
            except BaseException:
                ledger.close()
                raise
        # eventsourcing retries each PostgreSQL recorder call up to 10 times (0.2 s apart) on a
        # connection error, each attempt waiting the pool's timeout: a tenth of the budget per
        # attempt keeps a request within about db_timeout_seconds + 2 s during an outage.
        pool = getattr(getattr(ledger.recorder, "datastore", None), "pool", None)
        if pool is not None:
            pool.timeout = max(0.1, settings.db_timeout_seconds / 10)
        store = ApiStore.open(settings.database_url, timeout=settings.db_timeout_seconds)
        return cls(settings, ledger, store, TokenBook(store), TenantIndex(ledger, store),
                   ReadSide(settings.database_url, settings.read_wait_seconds))

    def close(self) -> None:
        self.readside.close()
        self.store.close()
        self.ledger.close()
