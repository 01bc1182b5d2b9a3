"""Prepaid-credit wallets: every change of a tenant's balance, in order, with the balance after it."""

from __future__ import annotations

from projections.reports.base import Column, Params, Report, Row, table_rows, where
from projections.reports.billing import FROM, TENANT, TO
from storage.database import Database


def query(db: Database, params: Params, limit: int) -> list[Row]:
    from projections.commercial import TRACE

    filters, values = where(params, tenant=True)
    return table_rows(db, TRACE, filters, values, "tenant_id, sequence", limit)


REPORT = Report(
    name="credits",
    title="Prepaid-credit wallets: balances and their trace",
    projections=("commercial",),
    filters=(TENANT, FROM, TO),
    columns=(Column("tenant_id", "", "Tenant"),
             Column("sequence", "count", "Order of the entry in the tenant's wallet (its event version)"),
             Column("month", "", "Month of the entry YYYY-MM (an expiry: when the grant lapsed)"),
             Column("recorded_at", "", "When it was recorded (UTC)"),
             Column("kind", "", "purchased, granted, applied or expired"),
             Column("grant_id", "", "The grant bought, granted or expired"),
             Column("invoice_month", "", "The invoice credits were applied to"),
             Column("currency", "ISO 4217", "The tenant's billing currency"),
             Column("amount", "currency", "Change of the balance (negative: consumed or expired)"),
             Column("paid_amount", "currency", "The part of the change in paid credits"),
             Column("balance", "currency", "Balance after the entry (never negative)", total="last"),
             Column("paid_balance", "currency", "Paid credits left after the entry (deferred revenue)",
                    total="last"),
             Column("note", "", "What the purchase or grant was for")),
    query=query,
    order=("tenant", "sequence"),
    period="sequence",
)
