"""The data of each dashboard page, built from registry reports (read side only) and, for the
auditor, the log itself. Sections name the reports they read; a report missing from the registry
leaves its section out. Every other report has its own generic page (``report_section``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID

from access.tokens import Principal, Role
from api.services import Services
from projections.queries import ReportAnswer
from projections.registry import REPORTS
from projections.reports.base import Report
from web.charts import Chart, chart_for, chart_of, sum_by
from web.payback import payback
from web.reading import READERS, check_role, filters_of, heatmap, own_tenant, plain_rows, read, tenant_name
from web.sections import Section, section_of

USAGE_BATCHES = 500  # metering batches summed per page of the tenant's usage per day
PARALLEL_READS = 3  # of a page's report reads at once (the read pool has LEDGER_READ_CONNECTIONS)


def report_section(services: Services, principal: Principal, report: Report, query: Mapping[str, str],
                   **fixed: str | None) -> Section:
    raw: dict[str, Any] = {**filters_of(report, query), **{k: v for k, v in fixed.items() if k in _names(report)}}
    answer = read(services, principal, report, raw)
    rows = plain_rows(answer)
    return section_of(answer, report.title, _shown(report, raw, answer),
                      chart=chart_for(f"chart-{report.name}", report.title, report.columns, rows)
                      if report.chart else None)


def _shown(report: Report, raw: Mapping[str, Any], answer: ReportAnswer) -> dict[str, Any]:
    """The filters a section's CSV link repeats: the page's, with the tenant the scope imposed
    (defaults such as the reporting currency stay implicit)."""
    shown = {k: v for k, v in raw.items() if k in _names(report)}
    if report.tenant_scoped and answer.filters.get("tenant_id"):
        shown["tenant_id"] = answer.filters["tenant_id"]
    return shown


def _names(report: Report) -> set[str]:
    return {f.name for f in report.filters}


@dataclass
class FinancePage:
    query: dict[str, str]  # the filters in force (the defaults filled in)
    sections: list[Section]


def finance(services: Services, principal: Principal, query: Mapping[str, str]) -> FinancePage:
    """Without ``from``/``to`` the page shows the last month with usage (day by day), or with
    ``granularity=month`` the twelve months up to it: a page's cost follows what it shows."""
    check_role(principal, *READERS)
    effective = {k: v for k, v in query.items() if v}
    if not effective.get("from") and not effective.get("to") and "utilisation" in REPORTS:
        months = plain_rows(read(services, principal, REPORTS["utilisation"],
                                 {**filters_of(REPORTS["utilisation"], effective), "granularity": "month"}))
        used = [str(r["period"]) for r in months if Decimal(str(r["used_gpu_hours"])) > 0]
        last = max(used or [str(r["period"]) for r in months] or [""])
        if last:
            effective["to"] = last
            effective["from"] = months_before(last, 11) if effective.get("granularity") == "month" else last
    builders: list[Callable[[], Section]] = []
    for name, build in (("utilisation", utilisation), ("funding_rounds", None), ("capex", None),
                        ("revenue_consolidated", payback), ("billing_totals", billing_by_tenant),
                        ("sustainability", carbon)):
        report = REPORTS.get(name)
        if report is not None:
            builders.append(partial(build, services, principal, effective, report) if build is not None
                            else partial(report_section, services, principal, report, effective))
    # The sections' reads run side by side on the read pool's connections (PARALLEL_READS at most).
    with ThreadPoolExecutor(max_workers=PARALLEL_READS, thread_name_prefix="ui-page") as pool:
        sections = list(pool.map(lambda build: build(), builders))
    return FinancePage(effective, sections)


def months_before(month: str, count: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def utilisation(services: Services, principal: Principal, query: Mapping[str, str], report: Report) -> Section:
    """Heatmap of utilisation (site x model x day or month) and booked vs used vs in service over time."""
    raw: dict[str, Any] = filters_of(report, query)
    raw["granularity"] = raw.get("granularity") or "day"
    if raw["granularity"] != "month" and not raw.get("from") and not raw.get("to"):
        months = plain_rows(read(services, principal, report, {**raw, "granularity": "month"}))
        if months:  # by default the last month with data
            used = [str(r["period"]) for r in months if Decimal(str(r["used_gpu_hours"])) > 0]
            raw["from"] = raw["to"] = max(used or [str(r["period"]) for r in months])
    answer = read(services, principal, report, raw)
    rows = plain_rows(answer)
    chart = chart_for("chart-utilisation", "Booked vs used vs in service (GPU-hours)", report.columns, rows,
                      values=("in_service_gpu_hours", "booked_gpu_hours", "used_gpu_hours"))
    return section_of(answer, f"Fleet utilisation per {raw['granularity']}", _shown(report, raw, answer),
                      chart=chart,
                      heatmap=heatmap(rows, row_keys=("site", "model"), period="period", measure="utilisation"))


def billing_by_tenant(services: Services, principal: Principal, query: Mapping[str, str],
                      report: Report) -> Section:
    raw: dict[str, Any] = filters_of(report, query)
    answer = read(services, principal, report, raw)
    rows = plain_rows(answer)
    tenants, sums = sum_by(rows, lambda r: str(r["tenant"]), ["total"], "currency", described=report.columns)
    chart = chart_of("chart-billing-tenants", "Billed per tenant", "bar", "Tenant", tenants, sums)
    # The report's own totals (one per currency), never summed here.
    totals = {str(t["currency"]): Decimal(str(t["total"])) for t in answer.plain()["totals"] if t.get("total")}
    total_table = chart_of("table-billing-totals", "Totals per currency", "bar", "Currency", sorted(totals),
                           {"Total": totals})
    return section_of(answer, "Billing by tenant", _shown(report, raw, answer), chart=chart,
                      extra_tables=[total_table])


def carbon(services: Services, principal: Principal, query: Mapping[str, str], report: Report) -> Section:
    raw: dict[str, Any] = filters_of(report, query)
    answer = read(services, principal, report, raw)
    rows = plain_rows(answer)
    months, sums = sum_by(rows, lambda r: str(r["month"]), ["location_kgco2e", "market_kgco2e"], "site",
                          described=report.columns)
    chart = chart_of("chart-carbon", "Carbon by site and month (tCO2e), location- vs market-based", "line",
                     "Month", sorted(months), sums)
    return section_of(answer, "Carbon by site and month", _shown(report, raw, answer), chart=chart)


@dataclass(frozen=True)
class Entry:
    """One of a tenant's reservations as people read it (the id only as the row's title)."""

    position: int
    resource_id: str
    site: str = ""
    model: str = ""
    gpus: str = ""
    currency: str = ""
    rate: str = ""


def reservation_entries(services: Services, found: list[Any]) -> list[Entry]:
    """The page's reservations with their terms, in one read of the billing projection's terms
    table (never a read per row), and their sites' names looked up once per site."""
    from projections.billing_rows import TERMS
    from projections.queries import Names

    ids = [str(e.resource_id) for e in found]
    terms: dict[str, Any] = {}
    if ids:
        with services.readside.pool.lease() as projections:
            marks = ", ".join("?" for _ in ids)
            for row in projections.db.fetchall(f"SELECT {', '.join(TERMS.column_names)} FROM {TERMS.name} "
                                               f"WHERE reservation_id IN ({marks})", ids):
                term = TERMS.from_db(row)
                terms[str(term.reservation_id)] = term
    names = Names.load(services.ledger, {str(t.site_id) for t in terms.values()})
    out = []
    for e in found:
        t = terms.get(str(e.resource_id))
        if t is None:
            out.append(Entry(e.position, e.resource_id))
            continue
        out.append(Entry(e.position, e.resource_id, str(names.of("site_id", t.site_id)), str(t.model), f"{t.gpus:,}",
                         str(t.currency), f"{Decimal(str(t.rate)):,}" if t.rate is not None else ""))
    return out


@dataclass
class TenantPage:
    tenant_id: str | None
    tenant_name: str | None
    sections: list[Section]
    reservations: list[Entry]
    reservations_next: int | None
    usage: Chart | None
    usage_next: int | None


def tenant(services: Services, principal: Principal, query: Mapping[str, str]) -> TenantPage:
    check_role(principal, Role.tenant, *READERS)
    tenant_id = own_tenant(principal, query.get("tenant_id"))
    if tenant_id is None:
        return TenantPage(None, None, [], [], None, None, None)
    with ThreadPoolExecutor(max_workers=PARALLEL_READS, thread_name_prefix="ui-page") as pool:
        sections = list(pool.map(lambda r: report_section(services, principal, r, query, tenant_id=tenant_id),
                                 [r for r in REPORTS.values() if r.tenant_scoped]))
    after = _cursor(query.get("reservations_after"), "reservations_after")
    found = services.readside.projections.tenant_page(UUID(tenant_id), "reservation", after, 100)
    reservations = reservation_entries(services, found)
    usage_after = _cursor(query.get("usage_after"), "usage_after")
    batches = services.readside.projections.tenant_page(UUID(tenant_id), "usage", usage_after, USAGE_BATCHES)
    per_day: dict[str, Decimal] = {}
    for batch in batches:
        for record in batch.records:
            day = str(record["hour"])[:10]
            per_day[day] = per_day.get(day, Decimal(0)) + Decimal(str(record["gpu_hours"]))
    days = sorted(per_day)
    usage = chart_of("chart-usage-days", "Usage per day (GPU-hours)", "line", "Day", days,
                     {"GPU-hours": per_day}) if days else None
    name = tenant_name(services, tenant_id)
    return TenantPage(tenant_id, name, sections, reservations, found[-1].position if len(found) == 100 else None,
                      usage, batches[-1].position if len(batches) == USAGE_BATCHES else None)


def _cursor(value: str | None, name: str) -> int:
    from domain.errors import InvalidInput

    if not value:
        return 0
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidInput(f"{name}: expected a log position (digits), got {value[:40]!r}", field=name)
    return int(value)

