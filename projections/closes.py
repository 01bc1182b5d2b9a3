"""Month closes as finance recorded them: when, at which log position, the invoices and the
trial balance per currency the close checked (``MonthClose.Closed``; rules:
``operations.closing``). The ``close`` report joins them with the journal's late postings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import singledispatchmethod

from domain.aggregates.close import MonthClose
from projections.projection import Batch, Positioned, Projection
from projections.rows import RowSet
from storage.database import Database
from storage.tables import Table


@dataclass(slots=True)
class CloseRow:
    month: str
    position: int  # log position of the close
    closed_at: str  # ISO 8601, UTC
    journal_position: int  # the log position the journal stood at when it was checked
    invoices: int


@dataclass(slots=True)
class CloseBalanceRow:
    month: str
    currency: str
    debit: Decimal
    credit: Decimal


CLOSES = Table("cls_closes", CloseRow, key=("month",))
BALANCES = Table("cls_balances", CloseBalanceRow, key=("month", "currency"))


@dataclass
class ClosesBatch(Batch):
    closes: RowSet[CloseRow]
    balances: RowSet[CloseBalanceRow]

    def flush(self) -> None:
        self.closes.flush()
        self.balances.flush()


class Closes(Projection):
    name = "closes"
    title = "Month closes: when, at which log position, with the trial balance checked"
    tables = (CLOSES, BALANCES)

    def begin(self, db: Database, events: Sequence[Positioned]) -> ClosesBatch:
        return ClosesBatch(self.rows(db, CLOSES), self.rows(db, BALANCES))

    @singledispatchmethod
    def handle(self, event: object, batch: ClosesBatch) -> None:
        """Events without a handler are ignored."""

    @handle.register(MonthClose.Closed)
    def _closed(self, event: MonthClose.Closed, batch: ClosesBatch) -> None:
        batch.closes.put(CloseRow(event.month, batch.position, event.closed_at.isoformat(timespec="seconds"),
                                  event.journal_position, event.invoices))
        for entry in event.balances:
            batch.balances.put(CloseBalanceRow(event.month, str(entry["currency"]), Decimal(str(entry["debit"])),
                                               Decimal(str(entry["credit"]))))
