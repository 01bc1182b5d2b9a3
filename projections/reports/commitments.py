"""Committed-spend contracts: every settled period with its commitment, eligible spend and true-up."""

from __future__ import annotations

from projections.reports.base import Column, Params, Report, Row, table_rows, where
from projections.reports.billing import FROM, TENANT, TO
from storage.database import Database


def query(db: Database, params: Params, limit: int) -> list[Row]:
    from projections.commercial import SETTLEMENTS

    filters, values = where(params, tenant=True, month_column="period_end")
    return table_rows(db, SETTLEMENTS, filters, values, "tenant_id, contract_id, period_start", limit)


REPORT = Report(
    name="commitments",
    title="Settled periods of committed-spend contracts",
    projections=("commercial",),
    filters=(TENANT, FROM, TO),
    columns=(Column("tenant_id", "", "Tenant"), Column("contract_id", "", "Contract"),
             Column("period_start", "", "First month of the period"),
             Column("period_end", "", "Last month of the period (its invoice settles it; from/to filter on it)"),
             Column("currency", "ISO 4217", "The tenant's billing currency"),
             Column("commitment", "currency", "Committed spend of the period"),
             Column("eligible_spend", "currency", "Consumption invoiced for the period (reservations, on-demand, their "
                                                     "adjustments; never fees, credit notes or true-ups)"),
             Column("true_up", "currency", "max(0, commitment - eligible spend), billed on the period's last invoice"),
             Column("termination_fee", "currency", "Early-termination fee billed with the last period"),
             Column("invoice_id", "", "The invoice that settled the period")),
    query=query,
    order=("tenant", "contract_id", "period_start"),
)
