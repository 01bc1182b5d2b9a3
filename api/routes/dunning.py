"""Dunning (finance): ``POST /v1/dunning/runs`` runs it on a day (``operations.dunning``, which
`ledger dunning run` calls too), ``POST /v1/tenants/{id}/dunning-policy`` sets a tenant's
policy, and ``GET /v1/tenants/{id}/dunning`` reads its history (JSON) or one step's reminder
(``?step=N`` with ``Accept: text/html`` or ``application/pdf``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field

import operations.dunning
from api.access import visible_tenant
from api.deps import Finance, LedgerDep, OperatorOrFinance, ServicesDep, TenantReader
from api.idempotency import command_context
from api.invoice_documents import JSON, PDF, wanted
from api.routes import command, resource_router
from api.routes.written import mark_position
from api.schemas.common import Strict
from documents.dunning import reminder_document, render_reminder_html, render_reminder_pdf
from documents.model import Seller
from domain.aggregates.dunning import DEFAULT_REMINDER_DAYS, DEFAULT_SUSPEND_AFTER_DAYS
from domain.errors import InvalidInput

dunning_runs = resource_router("/v1/dunning", "dunning")
tenant_dunning = resource_router("/v1/tenants", "tenants")


class DunningRunCreate(Strict):
    on: date | None = Field(default=None, description="The day, YYYY-MM-DD (default today, UTC; not after today)")


class DunningStepPublic(BaseModel):
    tenant_id: str
    kind: str = Field(description="reminder | suspension | resolved")
    step: int | None
    episode: int
    day: str
    days_overdue: int
    invoices: list[dict[str, Any]] = Field(description="The overdue invoices: number, due date, days overdue, "
                                                       "outstanding, currency")


class DunningRunPublic(BaseModel):
    on: str
    overdue_tenants: int
    reminders: int
    suspensions: int
    resolved: int
    position: int | None
    steps: list[DunningStepPublic]


class DunningPolicyBody(Strict):
    reminder_days: list[int] = Field(default=list(DEFAULT_REMINDER_DAYS), max_length=10,
                                     description="Days overdue of the reminders, ascending")
    suspend_after_days: int | None = Field(default=DEFAULT_SUSPEND_AFTER_DAYS,
                                           description="Days overdue of the suspension (after the last reminder); "
                                                       "null: never")


class DunningPublic(BaseModel):
    tenant_id: str
    reminder_days: list[int]
    suspend_after_days: int | None
    suspended: bool
    history: list[DunningStepPublic]


def _step(tenant_id: object, entry: dict[str, Any]) -> DunningStepPublic:
    invoices = [{"number": i["number"], "due_date": i["due_date"], "days_overdue": i["days_overdue"],
                 "outstanding": str(i["outstanding"]), "currency": i["currency"]} for i in entry["invoices"]]
    return DunningStepPublic(tenant_id=str(tenant_id), kind=entry["kind"], step=entry["step"],
                             episode=entry["episode"], day=entry["day"], days_overdue=entry["days_overdue"],
                             invoices=invoices)


def dunning_of(ledger: Any, tenant_id: UUID) -> DunningPublic:
    tenant = ledger.get_tenant(tenant_id)
    case = ledger.get_dunning_case(tenant.id)
    history = [] if case is None else [_step(tenant.id, e) for e in case.history]
    return DunningPublic(tenant_id=str(tenant.id),
                         reminder_days=list(DEFAULT_REMINDER_DAYS) if case is None else case.reminder_days,
                         suspend_after_days=DEFAULT_SUSPEND_AFTER_DAYS if case is None else case.suspend_after_days,
                         suspended=tenant.suspended, history=history)


@dunning_runs.post("/runs", openapi_extra=command("record_dunning"))
def run_dunning(body: DunningRunCreate, ledger: LedgerDep, _: Finance, response: Response) -> DunningRunPublic:
    """Run dunning on a day for every tenant with overdue invoices: each step of its policy reached
    is recorded once per overdue episode (reminders, then a suspension); a tenant dunning
    suspended that has nothing overdue any more is reinstated. A rerun records only what is new."""
    run = operations.dunning.run_dunning(ledger, on=body.on)  # several saves: the key's answer is stored after
    mark_position(response, run.position)
    steps = []
    for receipt in run.recorded:
        case = ledger.get_dunning_case(receipt.tenant_id)
        if case is not None:
            steps += [_step(receipt.tenant_id, e) for e in case.history[-len(receipt.outcome.kinds):]]
    return DunningRunPublic(on=run.on.isoformat(), overdue_tenants=run.overdue_tenants,
                            reminders=run.count("reminder"), suspensions=run.count("suspension"),
                            resolved=run.count("resolved"), position=run.position, steps=steps)


@tenant_dunning.post("/{tenant_id}/dunning-policy", openapi_extra=command("set_dunning_policy"))
def set_dunning_policy(tenant_id: UUID, body: DunningPolicyBody, ledger: LedgerDep, _: OperatorOrFinance,
                       request: Request, response: Response) -> DunningPublic:
    """The tenant's dunning policy: reminders at these days overdue, then a suspension."""
    written = ledger.set_dunning_policy(tenant_id, reminder_days=body.reminder_days,
                                        suspend_after_days=body.suspend_after_days, context=command_context(request))
    mark_position(response, written.position)
    return dunning_of(ledger, written.id)


DUNNING_RESPONSES: dict[int | str, dict[str, Any]] = {200: {
    "description": "The tenant's dunning history: JSON by default; with `step`, that step's reminder for "
                   "`Accept: text/html` or `application/pdf`.",
    "content": {"text/html": {"schema": {"type": "string"}},
                PDF: {"schema": {"type": "string", "format": "binary"}}}}}


@tenant_dunning.get("/{tenant_id}/dunning", responses=DUNNING_RESPONSES, response_model=DunningPublic)
def get_dunning(tenant_id: UUID, services: ServicesDep, principal: TenantReader, request: Request,
                step: Annotated[int | None, Query(ge=1, le=11, description="A step's reminder document")] = None
                ) -> Response:
    """The tenant's dunning policy and every step recorded (JSON), or one step's reminder."""
    ledger = services.ledger
    tenant = visible_tenant(ledger, principal, tenant_id)
    media_type = wanted(request)
    if media_type == JSON:
        return Response(dunning_of(ledger, tenant.id).model_dump_json(), media_type=JSON, headers={"Vary": "Accept"})
    if step is None:
        raise InvalidInput("step: give the step whose reminder to render", field="step")
    doc = reminder_document(ledger, tenant.id, step,
                            seller=Seller(services.settings.seller_name, services.settings.seller_address))
    if media_type == PDF:
        return Response(render_reminder_pdf(doc), media_type=PDF, headers={
            "Content-Disposition": f'inline; filename="{doc.filename}.pdf"', "Vary": "Accept"})
    return Response(render_reminder_html(doc), media_type="text/html; charset=utf-8", headers={"Vary": "Accept"})
