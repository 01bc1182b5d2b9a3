"""Report GETs, read from the projections; JSON or CSV; optional wait for read-your-writes."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Header, Query, Request, Response
from pydantic import AwareDatetime

from api.access import hidden
from api.csvout import csv_response, wants_csv
from api.deps import ReportReader, ServicesDep, TenantReader
from api.routes import resource_router
from api.schemas.common import GpuModelCode, Month, plain
from api.schemas.reads import ReportPublic
from api.services import Services
from api.tokens import Principal, Role
from domain.errors import InvalidInput

reports = resource_router("/v1/reports", "reports")
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}

MinPosition = Annotated[int | None, Query(ge=0, le=2**62, description="Wait until projections reach this position")]
MinPositionHeader = Annotated[int | None, Header(alias="Ledger-Min-Position", ge=0, le=2**62)]
MonthQuery = Annotated[Month | None, Query()]


def _answer(services: Services, request: Request, name: str, min_position: int | None, header: int | None,
            query: Any) -> Any:
    wanted = max(min_position or 0, header or 0)
    if wanted and wanted > services.ledger.max_position():
        raise InvalidInput(f"min_position: {wanted} is beyond the head of the log ({services.ledger.max_position()})",
                           field="min_position")
    services.readside.wait_for(wanted)
    projections = services.readside.projections
    position = projections.position()  # read first: the rows reflect at least this position
    rows = [plain(row) for row in query(projections)]
    if wants_csv(request):
        return csv_response(rows, name)
    # Serialised once here: re-validating hundreds of rows against the response model doubles the cost.
    return Response(ReportPublic(report=name, position=position, rows=rows).model_dump_json(),
                    media_type="application/json")


def _own_tenant(principal: Principal, tenant_id: UUID | None) -> str | None:
    """A tenant's reports are always filtered to itself; asking for another tenant is 'not found'."""
    if principal.role is Role.tenant:
        if tenant_id is not None and tenant_id != principal.tenant_id:
            raise hidden("tenant_id", "tenant", tenant_id)
        return str(principal.tenant_id)
    return str(tenant_id) if tenant_id else None


@reports.get("/utilisation", responses=CSV_RESPONSE)
def utilisation(services: ServicesDep, request: Request, _: ReportReader, site_id: UUID | None = None,
                model: GpuModelCode | None = None,
                start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
                end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
                granularity: Literal["hour", "day", "month"] = "month",
                min_position: MinPosition = None, header: MinPositionHeader = None) -> ReportPublic:
    return _answer(services, request, "utilisation", min_position, header, lambda p: p.utilisation(
        site_id=str(site_id) if site_id else None, model=model.value if model else None,
        start=start, end=end, granularity=granularity))


@reports.get("/billing", responses=CSV_RESPONSE)
def billing(services: ServicesDep, request: Request, principal: TenantReader, tenant_id: UUID | None = None,
            month_from: Annotated[MonthQuery, Query(alias="from")] = None,
            month_to: Annotated[MonthQuery, Query(alias="to")] = None,
            view: Literal["lines", "totals"] = "lines",
            min_position: MinPosition = None, header: MinPositionHeader = None) -> ReportPublic:
    tenant = _own_tenant(principal, tenant_id)
    if view == "totals":
        return _answer(services, request, "billing_totals", min_position, header,
                       lambda p: p.billing_totals(tenant_id=tenant, month_from=month_from, month_to=month_to))
    return _answer(services, request, "billing", min_position, header,
                   lambda p: p.billing(tenant_id=tenant, month_from=month_from, month_to=month_to))


@reports.get("/sustainability", responses=CSV_RESPONSE)
def sustainability(services: ServicesDep, request: Request, principal: TenantReader, tenant_id: UUID | None = None,
                   site_id: UUID | None = None,
                   month_from: Annotated[MonthQuery, Query(alias="from")] = None,
                   month_to: Annotated[MonthQuery, Query(alias="to")] = None,
                   min_position: MinPosition = None, header: MinPositionHeader = None) -> ReportPublic:
    tenant = _own_tenant(principal, tenant_id)
    return _answer(services, request, "sustainability", min_position, header, lambda p: p.sustainability(
        tenant_id=tenant, site_id=str(site_id) if site_id else None, month_from=month_from, month_to=month_to))


@reports.get("/capex", responses=CSV_RESPONSE)
def capex(services: ServicesDep, request: Request, _: ReportReader,
          min_position: MinPosition = None, header: MinPositionHeader = None) -> ReportPublic:
    """Funding rounds and site pools in one table; the `section` column tells them apart."""
    def rows(p: Any) -> list[dict[str, Any]]:
        found = p.capex()
        return ([{"section": "round", **r} for r in found["rounds"]]
                + [{"section": "pool", **r} for r in found["pools"]])
    return _answer(services, request, "capex", min_position, header, rows)
