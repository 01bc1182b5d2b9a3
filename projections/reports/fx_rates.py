"""The exchange rates finance recorded: one row per pair and effective date, as in force now."""

from __future__ import annotations

from projections.fx import rate_rows
from projections.reports.base import Column, Params, Report, Row
from storage.database import Database


def query(db: Database, params: Params, limit: int) -> list[Row]:
    return [{"base": r.base, "quote": r.quote, "effective_date": r.effective_date, "rate": r.rate,
             "source": r.source, "corrections": r.corrections, "recorded_at": r.recorded_at, "rate_id": r.rate_id}
            for r in rate_rows(db, limit)]


REPORT = Report(
    name="fx_rates",
    title="Exchange rates (1 base = rate quote from the effective date on)",
    projections=("fx",),
    filters=(),
    columns=(Column("base", "ISO 4217", "Base currency"), Column("quote", "ISO 4217", "Quote currency"),
             Column("effective_date", "", "In force from this day (YYYY-MM-DD) until the pair's next date"),
             Column("rate", "quote per base", "1 base = rate quote (the latest correction for this date)"),
             Column("source", "", "Where finance took it from, e.g. 'ECB reference rate'"),
             Column("corrections", "count", "Corrections recorded for this date (each one a new event)"),
             Column("recorded_at", "UTC", "When the rate in force for this date was recorded"),
             Column("rate_id", "", "The FxRate aggregate (derived from pair and date)")),
    query=query,
    notes="Inverse pairs are derived as 1/rate and never recorded; see the README, FX rates.",
)
