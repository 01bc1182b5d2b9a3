"""Report GETs, one route per report in the registry (``projections.registry.REPORTS``): its
filters become query parameters, its columns and units the route's description and its typed
row and totals schema (``api.schemas.reports``). Every route calls the one read operation,
``projections.queries.read_report`` (live or ``as_of``), and renders its answer as JSON or CSV;
optional wait for read-your-writes."""

# No ``from __future__ import annotations``: FastAPI reads the annotations of the endpoints made
# below at runtime, and they name per-report local types.

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from access.tokens import Principal, Role
from api.csvout import wants_csv
from api.deps import ServicesDep, allow
from api.problems import Forbidden
from api.readside import scope_of
from api.routes import resource_router
from api.schemas.reports import answer_model
from api.services import Services
from projections.queries import read_report, total_columns
from projections.registry import REPORTS
from projections.reports.base import MAX_ROWS, Filter, Report

reports = resource_router("/v1/reports", "reports")
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}

MinPosition = Annotated[int | None, Query(ge=0, le=2**62, description="Wait until projections reach this position")]
MinPositionHeader = Annotated[int | None, Header(alias="Ledger-Min-Position", ge=0, le=2**62)]
AsOf = Annotated[str | None, Query(max_length=64, description=(
    "The report as it stood at this log position, or at the last event recorded at or before this "
    "ISO 8601 time (with a UTC offset). Finance and auditor tokens only."))]
BOUND = r"^[0-9]{4}-[0-9]{2}(-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9]{2}:?[0-9]{2})?)?)?$"


def _query_field(f: Filter) -> tuple[Any, Any]:
    """(type, FieldInfo) of a filter as a query parameter."""
    alias = f.name if f.name in ("from", "to") else None
    if f.kind in ("site", "tenant"):
        return UUID | None, Field(None, description=f.description)
    if f.kind == "model":
        return str | None, Field(None, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$",
                                 description=f.description)
    if f.kind == "currency":
        return str | None, Field(None, max_length=3, pattern=r"^[A-Z]{3}$", description=f.description)
    if f.kind == "on":
        return str | None, Field(None, max_length=10, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                                 description=f.description, examples=["2026-12-31"])
    if f.kind == "account":
        return str | None, Field(None, max_length=10, pattern=r"^[0-9]{3,6}$", description=f.description,
                                 examples=["1100"])
    if f.kind == "granularity":
        return Literal["hour", "day", "month"], Field("month", description=f.description)
    return str | None, Field(None, max_length=40, pattern=BOUND, alias=alias, description=f.description)


def filters_model(report: Report) -> type[BaseModel]:
    fields: dict[str, Any] = {_attribute(f): _query_field(f) for f in report.filters}
    model: type[BaseModel] = create_model(f"{report.name.title().replace('_', '')}Filters",
                                          __config__=ConfigDict(populate_by_name=True), **fields)
    return model


def _attribute(f: Filter) -> str:
    return f"f_{f.name}" if f.name in ("from", "to") else f.name


def description(report: Report) -> str:
    rows = "\n".join(f"| `{c.name}` | {c.unit or '-'} | {c.description} |" for c in report.columns)
    notes = f"\n\n{report.notes}" if report.notes else ""
    rules = ", ".join(f"`{c.name}` ({c.rule})" for c in total_columns(report))
    notes += f"\n\nTotals, one object per currency: {rules}." if rules else "\n\nTotals: none (nothing additive)."
    return (f"{report.title}. At most {MAX_ROWS:,} rows; longer ranges than the filters allow are a 422."
            f"{notes}\n\n| column | unit | meaning |\n|---|---|---|\n{rows}")


def answer(services: Services, request: Request, principal: Principal, report: Report, raw: dict[str, Any],
           wanted: int, as_of: str | None) -> Response:
    """The one read operation (``projections.queries.read_report``), rendered as JSON or CSV."""
    if as_of is not None:
        from projections.asof import parse_as_of

        parse_as_of(as_of)  # malformed input is a 422 whoever asks
        if principal.role not in (Role.finance, Role.auditor):
            raise Forbidden(f"as_of: role {principal.role.value!r} may not read reports as of a past position "
                            "(allowed: finance, auditor)", field="as_of")
    found = read_report(services.readside.reports(services.ledger, wanted), report, raw, as_of=as_of,
                        scope=scope_of(principal), reporting_currency=services.settings.reporting_currency)
    if wants_csv(request):
        return Response(found.csv(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{report.name}.csv"'})
    # Serialised once here: re-validating rows against the response model doubles the cost.
    return Response(found.json(), media_type="application/json")


def add_route(report: Report) -> None:
    model = filters_model(report)
    roles = (Role.operator, Role.finance, Role.auditor) + ((Role.tenant,) if report.tenant_scoped else ())
    Reader = Annotated[Principal, Depends(allow(*roles))]

    def endpoint(services: ServicesDep, request: Request, principal: Reader, filters: Annotated[model, Query()],  # type: ignore[valid-type]
                 min_position: MinPosition = None, header: MinPositionHeader = None,
                 as_of: AsOf = None) -> Any:
        raw = {f.name: getattr(filters, _attribute(f)) for f in report.filters}
        return answer(services, request, principal, report, raw, max(min_position or 0, header or 0), as_of)

    endpoint.__name__ = f"report_{report.name}"
    reports.add_api_route(f"/{report.name}", endpoint, methods=["GET"], responses=CSV_RESPONSE,
                          summary=report.title, description=description(report), response_model=answer_model(report),
                          name=f"report_{report.name}")


for _report in REPORTS.values():
    add_route(_report)
