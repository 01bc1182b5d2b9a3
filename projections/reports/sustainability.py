"""Energy and operational carbon per tenant, site and month (location- and market-based)."""

from __future__ import annotations

from projections.carbon import METHOD
from projections.reports.base import Column, Filter, Params, Report, Row, exact_sums, where
from projections.reports.billing import FROM, TENANT, TO
from projections.timeaxis import from_micro
from storage.database import Database


def query(db: Database, params: Params, limit: int) -> list[Row]:
    filters, values = where(params, tenant=True, site=True)
    return [{"tenant_id": tenant, "site_id": site, "month": month, "used_gpu_hours": from_micro(int(used)),
             "energy_kwh": kwh, "location_kgco2e": location, "market_kgco2e": market}
            for tenant, site, month, used, kwh, location, market in exact_sums(
                db, group=["tenant_id", "site_id", "month"],
                sums=["used_micro", "energy_kwh", "location_kg", "market_kg"], source="sus_months",
                where_sql=filters, params=values, limit=limit)]


REPORT = Report(
    name="sustainability",
    title="Sustainability per tenant, site and month (operational; location- and market-based)",
    projections=("sustainability",),
    filters=(TENANT, Filter("site", "Site id"), FROM, TO),
    columns=(Column("tenant_id", "", "Tenant"), Column("site_id", "", "Site"), Column("month", "", "YYYY-MM"),
             Column("used_gpu_hours", "GPU-hours", "Metered usage"),
             Column("energy_kwh", "kWh", "Used GPU-hours x board power x PUE"),
             Column("location_kgco2e", "kgCO2e", "Energy x grid intensity (GHG Protocol scope 2, location-based)"),
             Column("market_kgco2e", "kgCO2e", "Location-based x (1 - contracted carbon-free share)")),
    query=query,
    notes=METHOD,
    order=("tenant", "site", "month"),
)
