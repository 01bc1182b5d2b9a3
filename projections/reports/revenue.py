"""Revenue recognition per tenant and month, in the tenant's currency (rules: projections.commercial).

``recognised`` = amount due - tax + paid credits consumed + breakage; ``deferred_closing`` = paid
credits purchased - consumed - expired to the end of the month (the liability). Per tenant,
sum(recognised) + closing deferred = sum(amounts due) + paid credits purchased, to the cent; and
sum(recognised) is the journal's revenue-type balance, at every position. Credit notes count in
the month issued, voids in the month voided (the whole invoice, less nothing of its credits).
"""

from __future__ import annotations

from decimal import Decimal

from projections.reports.base import Column, Params, Report, Row, where
from projections.reports.billing import FROM, TENANT, TO
from storage.database import Database

MONEY = ("billed", "true_up", "granted_credits_applied", "paid_credits_applied", "amount_due", "breakage",
         "credits_purchased", "tax")


def query(db: Database, params: Params, limit: int) -> list[Row]:
    from projections.commercial import REVENUE

    # The closing deferred balance is a running sum from the tenant's first month: read from the
    # start, keep the asked range.
    filters, values = where(Params(tenant_id=params.tenant_id, end=params.end), tenant=True)
    rows = db.fetchall(f"SELECT {', '.join(REVENUE.column_names)} FROM {REVENUE.name} WHERE {filters} "
                       "ORDER BY tenant_id, month", values)
    out: list[Row] = []
    deferred: dict[str, Decimal] = {}
    for row in map(REVENUE.from_db, rows):
        balance = deferred.get(row.tenant_id, Decimal(0)) + row.credits_purchased - row.paid_credits_applied \
            - row.breakage
        deferred[row.tenant_id] = balance
        if params.month_from is not None and row.month < params.month_from:
            continue
        out.append({"tenant_id": row.tenant_id, "month": row.month, "currency": row.currency,
                    **{name: getattr(row, name) for name in MONEY},
                    "recognised": row.amount_due - row.tax + row.paid_credits_applied + row.breakage,
                    "deferred_closing": balance})
        if len(out) >= limit:
            break
    return out


REPORT = Report(
    name="revenue",
    title="Revenue recognition per tenant and month",
    projections=("commercial",),
    filters=(TENANT, FROM, TO),
    columns=(Column("tenant_id", "", "Tenant"), Column("month", "", "Month YYYY-MM"),
             Column("currency", "ISO 4217", "The tenant's billing currency"),
             Column("billed", "currency", "The month's invoice: charge lines (usage, fees, adjustments), before "
                                          "true-up and credits; less credit notes issued in the month and the "
                                          "charges of invoices voided in it"),
             Column("true_up", "currency", "Committed-spend shortfall billed on the month's invoice, less that of "
                                           "invoices voided in the month"),
             Column("granted_credits_applied", "currency", "Free credits consumed: a discount, not revenue"),
             Column("paid_credits_applied", "currency", "Paid credits consumed: recognised now (and kept "
                                                        "when the invoice is voided: forfeited)"),
             Column("amount_due", "currency", "The invoice's total after credits, less its credit-note lines "
                                              "(counted when issued); less credit notes issued and the amounts "
                                              "due of invoices voided in the month"),
             Column("breakage", "currency", "Paid credits expired unused in the month: recognised at expiry"),
             Column("credits_purchased", "currency", "Paid credits bought: deferred revenue (a liability)"),
             Column("tax", "currency", "Tax on the month's invoice (less credit notes' tax and voids): in "
                                       "amount_due, owed to the tax authority, never revenue"),
             Column("recognised", "currency", "amount_due - tax + paid_credits_applied + breakage"),
             Column("deferred_closing", "currency", "Paid credits not yet consumed or expired, at the month's end",
                    total="last")),
    query=query,
    order=("tenant", "month"),
)
