"""What the dashboard reads: registry reports through the API's read side, with the API's roles
and tenant isolation (a tenant's reads are always filtered to itself), and the heatmap shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from access.tokens import Principal, Role
from api.deps import allow
from api.readside import scope_of
from api.services import Services
from domain.errors import LedgerError
from projections.queries import ReportAnswer, read_report
from projections.registry import REPORTS
from projections.reports.base import Report

Row = dict[str, Any]
READERS = (Role.operator, Role.finance, Role.auditor)  # who reads every report (api.routes.reports)
HEAT_LEVELS = 10


def report_roles(report: Report) -> tuple[Role, ...]:
    return READERS + ((Role.tenant,) if report.tenant_scoped else ())


def visible_reports(principal: Principal) -> list[Report]:
    return [r for r in REPORTS.values() if principal.role in report_roles(r)]


def check_role(principal: Principal, *roles: Role) -> None:
    """Forbidden unless the principal has one of ``roles`` (the API's own check)."""
    allow(*roles).check(principal)


def own_tenant(principal: Principal, tenant_id: str | None) -> str | None:
    """A tenant reads only itself; asking for another tenant is 'not found', as in the API
    (``projections.queries.Scope``)."""
    return scope_of(principal).tenant(tenant_id)


def filters_of(report: Report, query: Mapping[str, str]) -> dict[str, str | None]:
    """The report's filters from a page's query string (other parameters are the page's own)."""
    return {f.name: (query.get(f.name) or None) for f in report.filters}


def read(services: Services, principal: Principal, report: Report, raw: Mapping[str, Any]) -> ReportAnswer:
    """The report exactly as ``GET /v1/reports/NAME`` answers it: the one read operation
    (``projections.queries.read_report``) with the API's roles, scope and reporting currency."""
    check_role(principal, *report_roles(report))
    return read_report(services.readside.reports(services.ledger), report, raw, scope=scope_of(principal),
                       reporting_currency=services.settings.reporting_currency)


def plain_rows(answer: ReportAnswer) -> list[Row]:
    """The answer's rows as JSON values (what the page shows and the CSV holds)."""
    rows: list[Row] = answer.plain()["rows"]
    return rows


@dataclass(frozen=True)
class HeatCell:
    value: str | None  # the ratio as the report gives it
    level: int  # 0..HEAT_LEVELS, for the cell's colour class


@dataclass(frozen=True)
class HeatRow:
    label: str
    cells: list[HeatCell]


@dataclass(frozen=True)
class Heatmap:
    measure: str
    periods: list[str]
    rows: list[HeatRow]


def heatmap(rows: Sequence[Mapping[str, Any]], *, row_keys: Sequence[str], period: str, measure: str) -> Heatmap:
    """A table coloured by ``measure`` (a ratio 0..1): one row per ``row_keys`` value, one column per period."""
    periods = sorted({str(r[period]) for r in rows})
    grid: dict[str, dict[str, str]] = {}
    for r in rows:
        grid.setdefault(" / ".join(str(r[k]) for k in row_keys), {})[str(r[period])] = str(r[measure])
    out: list[HeatRow] = []
    for label in sorted(grid):
        cells = []
        for p in periods:
            value = grid[label].get(p)
            level = 0 if value is None else max(0, min(HEAT_LEVELS, int(Decimal(value) * HEAT_LEVELS)))
            cells.append(HeatCell(value, level))
        out.append(HeatRow(label, cells))
    return Heatmap(measure, periods, out)


@dataclass(frozen=True)
class Choices:
    """The pick-lists of a page's filters: (id, name) of every site and, for staff, every tenant,
    by name. Read once per page, whatever the page shows: the sites from a small report (capex: a
    row per site and model), the tenants from the tenant index (one per reservation), with their
    names (one aggregate read per tenant)."""

    sites: list[tuple[str, str]]
    tenants: list[tuple[str, str]]


def choices(services: Services, principal: Principal) -> Choices:
    source = services.readside.reports(services.ledger)
    sites: dict[str, str] = {}
    if "capex" in REPORTS:  # site names are no tenant's data: a tenant picks among them too
        for row in plain_rows(read_report(source, REPORTS["capex"], {})):
            if row.get("site_id"):
                sites[str(row["site_id"])] = str(row.get("site") or row["site_id"])
    tenants: dict[str, str] = {}
    if principal.role in READERS:  # every tenant with a reservation (the tenant index: a row per reservation)
        from projections.queries import Names
        from projections.tenant_index import OWNERS

        with services.readside.pool.lease() as projections:
            ids = [str(r[0]) for r in projections.db.fetchall(f"SELECT DISTINCT tenant_id FROM {OWNERS.name}", [])]
        names = Names.load(services.ledger, (), ids)
        tenants = {i: str(names.of("tenant_id", i)) for i in ids}
    return Choices(sorted(sites.items(), key=lambda kv: (kv[1].lower(), kv[0])),
                   sorted(tenants.items(), key=lambda kv: (kv[1].lower(), kv[0])))


def tenant_name(services: Services, tenant_id: str | None) -> str | None:
    """The tenant's name (one aggregate read), or None."""
    if not tenant_id:
        return None
    try:
        return services.ledger.get_tenant(tenant_id).name
    except LedgerError:
        return None
