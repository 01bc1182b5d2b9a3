"""Billing totals per tenant and month, with the invoice's status."""

from __future__ import annotations

from decimal import Decimal

from domain.money import quantize
from projections.reports.base import Column, Params, Report, Row, exact_sums, where
from projections.reports.billing import FROM, TENANT, TO
from storage.database import Database


def query(db: Database, params: Params, limit: int) -> list[Row]:
    filters, values = where(params, tenant=True)
    totals: dict[tuple[str, str], Row] = {}
    for tenant, month, currency, amount, count in exact_sums(
            db, group=["tenant_id", "month", "currency"], sums=["amount", "1"], source="bil_lines",
            where_sql=filters, params=values, limit=limit):
        totals[(tenant, month)] = {
            "tenant_id": tenant, "month": month, "currency": currency, "total": quantize(amount, currency),
            "lines": int(count), "invoice_status": "not_invoiced", "invoice_number": None, "invoice_id": None,
            "invoice_total": None, "credited": None}
    for tenant, month, invoice, currency, total, credited, status, number in db.fetchall(
            f"SELECT tenant_id, month, invoice_id, currency, total, credited, status, number FROM bil_invoices "
            f"WHERE {filters} LIMIT ?", [*values, limit]):
        row = totals.setdefault((tenant, month), {"tenant_id": tenant, "month": month, "currency": currency,
                                                  "total": quantize(Decimal(0), currency), "lines": 0})
        row.update(invoice_status=status, invoice_number=number, invoice_id=invoice, invoice_total=Decimal(total),
                   credited=Decimal(credited))
    return [totals[k] for k in sorted(totals)][:limit]


REPORT = Report(
    name="billing_totals",
    title="Billing totals per tenant and month",
    projections=("billing",),
    filters=(TENANT, FROM, TO),
    columns=(Column("tenant_id", "", "Tenant"), Column("month", "", "Billing month YYYY-MM"),
             Column("currency", "ISO 4217", "The tenant's billing currency"),
             Column("total", "currency", "Sum of the month's lines"),
             Column("lines", "count", "Lines in the month", total="sum"),
             Column("invoice_status", "", "not_invoiced, issued or void"),
             Column("invoice_number", "", "The month's invoice number", keep=True),
             Column("invoice_id", "", "The month's invoice"),
             Column("invoice_total", "currency", "Total the invoice carries"),
             Column("credited", "currency", "Credit notes against the invoice")),
    query=query,
    order=("tenant", "month"),
)
