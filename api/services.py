"""Everything a request handler may use, opened once per process by ``bootstrap.open_services``."""

from __future__ import annotations

from dataclasses import dataclass

from api.readside import ReadSide
from api.settings import Settings
from api.store import ApiStore
from api.tokens import TokenBook
from domain import Ledger


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
