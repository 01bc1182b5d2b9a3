"""Everything a request handler may use, opened once per process by ``bootstrap.open_services``."""

from __future__ import annotations

from dataclasses import dataclass

from access.tokens import TokenBook
from api.readside import ReadSide
from config.settings import Settings
from domain import Ledger
from storage.api_store import ApiStore


@dataclass
class Services:
    settings: Settings
    ledger: Ledger
    store: ApiStore
    tokens: TokenBook
    readside: ReadSide

    def close(self) -> None:
        self.readside.close()
        self.store.close()
        self.ledger.close()
