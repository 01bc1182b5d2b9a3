"""Billing lines per tenant and month, in the tenant's currency (rounded at the line)."""

from __future__ import annotations

from typing import Any

from projections.reports.base import Column, Filter, Params, Report, Row, table_rows, where
from storage.database import Database
from storage.tables import Table

TENANT = Filter("tenant", "Tenant id (a tenant's token always sees only itself)")
FROM = Filter("from", "First month YYYY-MM")
TO = Filter("to", "Last month YYYY-MM (included; at most 120 months)")


def query(db: Database, params: Params, limit: int) -> list[Row]:
    from projections.billing_rows import LINES

    return lines(db, LINES, params, limit)


def lines(db: Database, table: Table[Any], params: Params, limit: int) -> list[Row]:
    filters, values = where(params, tenant=True)
    return table_rows(db, table, filters, values, "tenant_id, month, line_key", limit)


REPORT = Report(
    name="billing",
    title="Billing lines per tenant and month",
    projections=("billing",),
    filters=(TENANT, FROM, TO),
    columns=(Column("tenant_id", "", "Tenant"), Column("month", "", "Billing month YYYY-MM"),
             Column("line_key", "", "Stable key of the line"),
             Column("kind", "", "reservation, cancellation_fee, adjustment or credit (credits carry no carbon)"),
             Column("reservation_id", "", "Reservation billed"),
             Column("origin_month", "", "Month an adjustment or credit corrects"),
             Column("currency", "ISO 4217", "The tenant's billing currency"),
             Column("gpu_hours", "GPU-hours", "Booked GPU-hours billed on the line"),
             Column("rate", "currency per GPU-hour", "Rate locked at confirmation"),
             Column("amount", "currency", "GPU-hours x rate, rounded half-even to the minor unit"),
             Column("energy_kwh", "kWh", "Energy of the GPU-hours used (metered) on the line's reservation in "
                                         "its month: used GPU-hours x board power x PUE"),
             Column("location_kgco2e", "kgCO2e", "Energy x grid intensity (location-based)"),
             Column("market_kgco2e", "kgCO2e", "Location-based x (1 - contracted carbon-free share)")),
    query=query,
    order=("tenant", "month", "line_key"),
)
