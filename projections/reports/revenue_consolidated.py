"""Booked revenue per site, GPU model, month and billing currency, and in one reporting currency.

Each billing line is converted by the FX rule (``domain.fx``: the rate in force on the last day
of the line's month, per line, rounded to the reporting currency's minor unit); the rate used,
its effective date and its source are columns. A missing rate leaves ``revenue_reporting`` null
and says which in ``fx_note`` -- it is never 0.
"""

from __future__ import annotations

from collections import defaultdict

from domain.fx import DEFAULT_REPORTING_CURRENCY, last_day
from projections.consolidation import Consolidated, RevenueLine, rate_text, revenue_lines
from projections.fx import rate_book
from projections.reports.base import Column, Filter, Params, Report, Row
from projections.reports.billing import FROM, TO
from storage.database import Database


def query(db: Database, params: Params, limit: int) -> list[Row]:
    target = params.currency or DEFAULT_REPORTING_CURRENCY
    book = rate_book(db)
    groups: dict[tuple[str, str, str, str], list[RevenueLine]] = defaultdict(list)
    for line in revenue_lines(db, params):
        groups[(line.site_id, line.model, line.month, line.currency)].append(line)
    out: list[Row] = []
    for (site, model, month, currency), lines in sorted(groups.items())[:limit]:
        total = Consolidated(target)
        for line in lines:
            total.add(line, book)
        applied = book.rate(currency, target, last_day(month))
        out.append({"site_id": site, "model": model, "month": month, "currency": currency,
                    "booked_gpu_hours": total.gpu_hours, "revenue_booked": sum(line.amount for line in lines),
                    "reporting_currency": target, "fx_rate": rate_text(applied),
                    "fx_rate_date": applied.effective_date.isoformat() if applied else None,
                    "fx_source": applied.source if applied else None,
                    "fx_rate_positions": (", ".join(map(str, applied.positions)) or None) if applied else None,
                    "revenue_reporting": total.amount, "fx_note": total.note})
    return out


REPORT = Report(
    name="revenue_consolidated",
    title="Booked revenue per site, model and month, consolidated in a reporting currency",
    projections=("billing", "fx"),
    filters=(Filter("site", "Site id"), Filter("model", "GPU model code"), FROM, TO,
             Filter("currency", "Reporting currency (ISO 4217; default LEDGER_REPORTING_CURRENCY, USD)")),
    order=("site", "model", "month", "currency"),
    columns=(Column("site_id", "", "Site"), Column("model", "", "GPU model"), Column("month", "", "YYYY-MM"),
             Column("currency", "ISO 4217", "The tenants' billing currency"),
             Column("booked_gpu_hours", "GPU-hours", "Booked GPU-hours billed in that currency"),
             Column("revenue_booked", "currency", "Sum of the billing lines in that currency"),
             Column("reporting_currency", "ISO 4217", "The currency converted to"),
             Column("fx_rate", "reporting currency per currency unit",
                    "Rate in force on the month's last day (1 for the same currency)"),
             Column("fx_rate_date", "", "Effective date of that rate"),
             Column("fx_source", "", "Where the rate comes from (derived: 1/rate or a cross rate)"),
             Column("fx_rate_positions", "", "Log position of the rate event (both legs' for a cross rate; "
                                             "none for the same currency): `ledger audit` shows it"),
             Column("revenue_reporting", "reporting currency",
                    "Each line x rate, rounded half-even to the minor unit, summed; null if the rate is missing"),
             Column("fx_note", "", "Missing rates, e.g. 'no rate for NOK->USD on 2026-10-31'")),
    query=query,
    notes="FX rule: rate in force on the last day of the line's month, applied per line, rounded to the "
          "reporting currency's minor unit; missing rates are null, never 0.",
)
