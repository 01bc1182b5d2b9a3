"""Committed-spend contracts per tenant (signed; amendments and terminations are in the ledger):
what the month close reads to invoice a contract tenant that has no billing line that month."""

from __future__ import annotations

from projections.reports.base import Column, Params, Report, Row, table_rows, where
from projections.reports.billing import TENANT
from storage.database import Database


def query(db: Database, params: Params, limit: int) -> list[Row]:
    from projections.commercial import CONTRACTS

    filters, values = where(params, tenant=True, month_column=None)
    return table_rows(db, CONTRACTS, filters, values, "tenant_id, contract_id", limit)


REPORT = Report(
    name="contracts",
    title="Committed-spend contracts per tenant",
    projections=("commercial",),
    filters=(TENANT,),
    columns=(Column("contract_id", "", "Contract"), Column("tenant_id", "", "Tenant"),
             Column("currency", "ISO 4217", "The tenant's billing currency")),
    query=query,
    order=("tenant", "contract_id"),
)
