"""Output tax per month, tax, rate, treatment and currency: the taxable amount and the tax
(docs/finance.md, *Tax*; rows from ``projections.commercial``). Invoices count in their month,
credit notes' tax parts (negative) in the month issued, voided invoices (negative) in the month
voided; so per currency the ``tax`` column sums to the journal's 2200 balance (credit - debit)."""

from __future__ import annotations

from decimal import Decimal

from projections.reports.base import Column, Params, Report, Row, where
from projections.reports.billing import FROM, TENANT, TO
from storage.database import Database


def query(db: Database, params: Params, limit: int) -> list[Row]:
    from projections.commercial import TAX_TABLE as TAX

    filters, values = where(params, tenant=True)
    totals: dict[tuple[str, str, str, str, str], list[Decimal]] = {}
    for row in map(TAX.from_db, db.fetchall(f"SELECT {', '.join(TAX.column_names)} FROM {TAX.name} "
                                            f"WHERE {filters}", values)):
        key = (row.month, row.tax_name, row.rate, row.treatment, row.currency)
        acc = totals.setdefault(key, [Decimal(0), Decimal(0)])
        acc[0] += row.taxable
        acc[1] += row.tax
    return [{"month": month, "tax_name": name, "rate": Decimal(rate), "treatment": treatment, "currency": currency,
             "taxable": taxable, "tax": tax}
            for (month, name, rate, treatment, currency), (taxable, tax) in sorted(totals.items())][:limit]


REPORT = Report(
    name="tax",
    title="Output tax per month, tax, rate and treatment",
    projections=("commercial",),
    filters=(FROM, TO, TENANT),
    columns=(Column("month", "", "Month YYYY-MM (the invoice's; a credit note's or void's when issued)"),
             Column("tax_name", "", "The tax (VAT, MVA)", label="Tax"),
             Column("rate", "ratio", "The rate: 0.20 is 20 % (0 for reverse charge)", total=None),
             Column("treatment", "", "standard or reverse_charge (exempt invoices have no tax line)"),
             Column("currency", "ISO 4217", "The invoices' currency"),
             Column("taxable", "currency", "Net amount taxed: the invoices' totals before tax, after credits, "
                                           "less credit notes' net parts and voided invoices"),
             Column("tax", "currency", "Tax charged, rounded once per invoice and rate; owed to the tax "
                                       "authority (journal account 2200), never revenue")),
    query=query,
    order=("month",),
)
