"""Receivables aging per tenant and currency: what is owed, by how long past its due date, at an
aging day (the open items of the ``receivables`` report, bucketed; the buckets add up to
``outstanding``, which equals the sum of that report's ``outstanding``)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from projections.reports.base import Column, Params, Report, Row
from projections.reports.billing import TENANT
from projections.reports.receivables import ON, open_items
from storage.database import Database

# (column, first day overdue, last day overdue): current is not yet due (0 days overdue).
BUCKETS = (("current", 0, 0), ("days_1_30", 1, 30), ("days_31_60", 31, 60), ("days_61_90", 61, 90),
           ("days_over_90", 91, None))


def bucket_of(days: int) -> str:
    for name, first, last in BUCKETS:
        if days >= first and (last is None or days <= last):
            return name
    raise ValueError(days)  # pragma: no cover - the buckets cover every day count


def query(db: Database, params: Params, limit: int) -> list[Row]:
    sums: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(
        lambda: {name: Decimal(0) for name, _, _ in BUCKETS})
    invoices: dict[tuple[str, str], int] = defaultdict(int)
    for item in open_items(db, params):
        key = (item["tenant_id"], item["currency"])
        sums[key][bucket_of(item["days_overdue"])] += item["outstanding"]
        invoices[key] += 1
    on = params.aging_date.isoformat()
    out: list[Row] = [{"tenant_id": tenant, "currency": currency, "outstanding": sum(buckets.values()), **buckets,
                       "invoices": invoices[(tenant, currency)], "aged_on": on}
                      for (tenant, currency), buckets in sorted(sums.items())]
    return out[:limit]


REPORT = Report(
    name="receivables_aging",
    title="Receivables aging: what each tenant owes, by days past due",
    projections=("receivables",),
    filters=(TENANT, ON),
    columns=(Column("tenant_id", "", "Tenant"),
             Column("currency", "ISO 4217", "The invoices' currency"),
             Column("outstanding", "currency", "All still owed (the sum of the buckets)"),
             Column("current", "currency", "Not yet due", label="Current"),
             Column("days_1_30", "currency", "1-30 days past due", label="1-30 days"),
             Column("days_31_60", "currency", "31-60 days past due", label="31-60 days"),
             Column("days_61_90", "currency", "61-90 days past due", label="61-90 days"),
             Column("days_over_90", "currency", "More than 90 days past due", label="Over 90 days"),
             Column("invoices", "count", "Open invoices", total="sum"),
             Column("aged_on", "", "The aging day YYYY-MM-DD")),
    query=query,
    monthly=False,
    order=("tenant", "currency"),
    chart=False,
    notes="Aged at the day given by on (default today, UTC), whatever the log position read.",
)
