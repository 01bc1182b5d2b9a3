"""Revenue in one currency: the billing lines of every currency, converted by the one FX rule.

Each billing line of a reservation (cancellation fees and adjustments included, credit notes and
lines without a reservation excluded, as in the capex and site revenue reports) is converted on
its own with the rate in force on the last day of its month (``domain.fx``) and rounded to the
target currency's minor unit; totals are sums of converted lines. A line whose rate is missing
makes its total missing (``None``), named in ``missing`` -- never counted as 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Context, Decimal

from domain.fx import AppliedRate, RateBook, last_day, missing_note
from projections.reports.base import Params, where
from storage.database import Database

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RevenueLine:
    site_id: str
    model: str
    tenant_id: str
    month: str
    currency: str
    gpu_hours: Decimal
    amount: Decimal


@dataclass
class Consolidated:
    """Converted revenue of some lines: ``amount`` is None when any line's rate is missing."""

    currency: str
    gpu_hours: Decimal = ZERO
    converted: Decimal = ZERO
    missing: set[str] = field(default_factory=set)

    @property
    def amount(self) -> Decimal | None:
        return None if self.missing else self.converted

    @property
    def note(self) -> str:
        return "; ".join(sorted(self.missing))

    def add(self, line: RevenueLine, book: RateBook) -> None:
        self.gpu_hours += line.gpu_hours
        converted = book.convert(line.amount, line.currency, self.currency, line.month)
        if converted is None:
            self.missing.add(missing_note(line.currency, self.currency, last_day(line.month)))
        else:
            self.converted += converted


def revenue_lines(db: Database, params: Params, *, months: bool = True) -> list[RevenueLine]:
    """The billing lines of reservations, with their site and model (filters of ``params``)."""
    filters, values = where(params, month_column=None, site=True, model=True, alias="t")
    if months:
        extra, more = where(params, alias="l")
        filters, values = f"{filters} AND {extra}", [*values, *more]
    rows = db.fetchall("SELECT t.site_id, t.model, l.tenant_id, l.month, l.currency, l.gpu_hours, l.amount "
                       "FROM bil_lines l JOIN bil_reservations t ON t.reservation_id = l.reservation_id "
                       f"WHERE {filters} ORDER BY t.site_id, t.model, l.month, l.currency, l.tenant_id, l.line_key",
                       values)
    return [RevenueLine(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), Decimal(str(r[5])),
                        Decimal(str(r[6]))) for r in rows]


def consolidate(lines: Iterable[RevenueLine], currency: str, book: RateBook) -> Consolidated:
    total = Consolidated(currency)
    for line in lines:
        total.add(line, book)
    return total


def rate_text(applied: AppliedRate | None) -> str | None:
    """The rate as stored or derived, every digit (normalize in the default 28-digit context would
    round a 34-digit cross rate)."""
    if applied is None:
        return None
    return f"{applied.rate.normalize(Context(prec=len(applied.rate.as_tuple().digits))):f}"
