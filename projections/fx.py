"""FX: the exchange rates finance recorded, as the conversion rule reads them.

One row per pair and effective date with the rate in force for that date now (a correction
replaces the row here; every rate ever recorded stays in the log). ``rate_book(db)`` loads them
into a ``domain.fx.RateBook``, the one place the conversion rule lives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import singledispatchmethod

from domain.aggregates import FxRate
from domain.fx import RateBook, RateFact
from projections.projection import Batch, Positioned, Projection, text_id
from projections.rows import RowSet
from storage.database import Database
from storage.tables import Table


@dataclass(slots=True)
class FxRateRow:
    rate_id: str
    base: str
    quote: str
    effective_date: str
    rate: Decimal
    source: str
    recorded_at: str
    corrections: int
    position: int


RATES = Table("fx_rates", FxRateRow, key=("rate_id",))


@dataclass
class FxBatch(Batch):
    rates: RowSet[FxRateRow]

    def flush(self) -> None:
        self.rates.flush()


class Fx(Projection):
    name = "fx"
    title = "Exchange rates in force per pair and effective date"
    tables = (RATES,)

    def begin(self, db: Database, events: Sequence[Positioned]) -> FxBatch:
        return FxBatch(self.rows(db, RATES))

    @singledispatchmethod
    def handle(self, event: object, batch: FxBatch) -> None:
        """Events without a handler are ignored."""

    @handle.register(FxRate.Recorded)
    def _recorded(self, event: FxRate.Recorded, batch: FxBatch) -> None:
        batch.rates.put(FxRateRow(text_id(event.originator_id), event.base, event.quote, event.effective_date,
                                  Decimal(event.rate), event.source, event.recorded_at.isoformat(), 0,
                                  batch.position))

    @handle.register(FxRate.Corrected)
    def _corrected(self, event: FxRate.Corrected, batch: FxBatch) -> None:
        row = batch.rates.require((text_id(event.originator_id),),
                                  f"fx: no FxRate.Recorded seen for {event.originator_id}")
        row.rate, row.source, row.recorded_at = Decimal(event.rate), event.source, event.recorded_at.isoformat()
        row.corrections += 1
        row.position = batch.position
        batch.rates.changed(row)


def rate_rows(db: Database, limit: int | None = None) -> list[FxRateRow]:
    """Every pair's rates, ordered by pair and effective date."""
    sql = f"SELECT {', '.join(RATES.column_names)} FROM {RATES.name} ORDER BY base, quote, effective_date"
    if limit is not None:
        return [RATES.from_db(r) for r in db.fetchall(sql + " LIMIT ?", [limit])]
    return [RATES.from_db(r) for r in db.fetchall(sql)]


def rate_book(db: Database) -> RateBook:
    """The rates as the conversion rule (``domain.fx``) applies them."""
    return RateBook(RateFact(r.base, r.quote, date.fromisoformat(r.effective_date), r.rate, r.source,
                             r.position) for r in rate_rows(db))
