"""The composition root's product: everything a request handler may use, opened once."""

from __future__ import annotations

from dataclasses import dataclass

from api.readside import ReadSide
from api.settings import Settings
from api.store import ApiStore
from api.tenant_index import TenantIndex
from api.tokens import TokenBook
from domain import Ledger


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
        ledger = Ledger.open(settings.database_url, extra_env={"POSTGRES_CONNECT_TIMEOUT": timeout})
        store = ApiStore.open(settings.database_url, timeout=settings.db_timeout_seconds)
        return cls(settings, ledger, store, TokenBook(store), TenantIndex(ledger, store),
                   ReadSide(settings.database_url, settings.read_wait_seconds))

    def close(self) -> None:
        self.readside.close()
        self.store.close()
        self.ledger.close()
