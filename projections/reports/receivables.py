"""Open receivables: every invoice still owed something, aged at a day (rules: projections.receivables).

``days_overdue`` counts from the due date to the aging day ``on`` (default today, UTC); it is 0
until the due date has passed. The aging day is independent of ``as_of``: a report as of a past
log position can be aged at any day, and a live report and the same report as of the head agree.
"""

from __future__ import annotations

from datetime import date

from projections.reports.base import Column, Filter, Params, Report, Row
from projections.reports.billing import TENANT
from storage.database import Database

ON = Filter("on", "The day receivables are aged at, YYYY-MM-DD (default today, UTC)")


def days_overdue(due_date: str, on: date) -> int:
    return max(0, (on - date.fromisoformat(due_date)).days)


def open_items(db: Database, params: Params) -> list[Row]:
    """Every non-void invoice with something outstanding (number order within a tenant)."""
    from projections.receivables import RECEIVABLES

    filters, values = "void = 0", []
    if params.tenant_id is not None:
        filters, values = "void = 0 AND tenant_id = ?", [params.tenant_id]
    on = params.aging_date
    out: list[Row] = []
    for row in map(RECEIVABLES.from_db, db.fetchall(f"SELECT {', '.join(RECEIVABLES.column_names)} FROM "
                                                    f"{RECEIVABLES.name} WHERE {filters} "
                                                    "ORDER BY tenant_id, issued_on, invoice_id", values)):
        if row.outstanding <= 0:
            continue
        out.append({"number": row.number, "tenant_id": row.tenant_id, "currency": row.currency,
                    "outstanding": row.outstanding, "due_date": row.due_date,
                    "days_overdue": days_overdue(row.due_date, on), "total": row.total, "credited": row.credited,
                    "paid": row.paid, "month": row.month, "issued_on": row.issued_on, "aged_on": on.isoformat(),
                    "invoice_id": row.invoice_id})
    return out


def query(db: Database, params: Params, limit: int) -> list[Row]:
    return open_items(db, params)[:limit]


REPORT = Report(
    name="receivables",
    title="Open receivables: invoices still owed, with their due dates and days overdue",
    projections=("receivables",),
    filters=(TENANT, ON),
    columns=(Column("number", "", "Invoice number", keep=True),
             Column("tenant_id", "", "Tenant"),
             Column("currency", "ISO 4217", "The invoice's currency"),
             Column("outstanding", "currency", "total - credited - paid: still owed"),
             Column("due_date", "", "Due date YYYY-MM-DD (issue date + the tenant's payment terms)", keep=True),
             Column("days_overdue", "count", "Days past the due date at the aging day (0: not yet due)", total=None,
                    keep=True),
             Column("total", "currency", "The invoice's total"),
             Column("credited", "currency", "Credit notes against it"),
             Column("paid", "currency", "Payments received on it"),
             Column("month", "", "The month billed YYYY-MM"),
             Column("issued_on", "", "Issue date YYYY-MM-DD"),
             Column("aged_on", "", "The aging day YYYY-MM-DD"),
             Column("invoice_id", "", "The invoice")),
    query=query,
    monthly=False,
    order=("tenant",),
    chart=False,
    notes="Aged at the day given by on (default today, UTC), whatever the log position read.",
)
