"""Dunning (finance): ``POST /v1/dunning/runs`` runs it on a day (``operations.dunning``, which
`ledger dunning run` calls too), ``POST /v1/tenants/{id}/dunning-policy`` sets a tenant's
policy, and ``GET /v1/tenants/{id}/dunning`` reads its history (JSON) or one step's reminder
(``?step=N`` with ``Accept: text/html`` or ``application/pdf``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field

import operations.dunning
from api.access import visible_tenant
from api.answers import Saved, answered_by
from api.deps import Finance, LedgerDep, OperatorOrFinance, ServicesDep, TenantReader
from api.idempotency import command_context
from api.invoice_documents import JSON, PDF, wanted
from api.routes import command, resource_router
from api.routes.written import mark_position
from api.schemas.common import Strict
from documents.dunning import reminder_document, render_reminder_html, render_reminder_pdf
from documents.model import Seller
from domain.aggregates.dunning import DEFAULT_REMINDER_DAYS, DEFAULT_SUSPEND_AFTER_DAYS, DunningCase
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
    on: str | None = Field(description="The run's day (null: a keyed run that recorded nothing, replayed)")
    reminders: int
    suspensions: int
    resolved: int
    position: int | None
    steps: list[DunningStepPublic]


class DunningPolicyBody(Strict):
    reminder_days: list[int] = Field(max_length=10, examples=[list(DEFAULT_REMINDER_DAYS)],
                                     description="Days overdue of the reminders, ascending (e.g. [1, 7, 14])")
    suspend_after_days: int | None = Field(default=DEFAULT_SUSPEND_AFTER_DAYS,
                                           description="Days overdue of the suspension (after the last reminder); "
                                                       "null: never")


class DunningPolicyPublic(BaseModel):
    tenant_id: str
    reminder_days: list[int]
    suspend_after_days: int | None
    position: int | None = Field(description="Log position of the policy recorded")


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


def _event_step(event: Any) -> DunningStepPublic:
    kind = {"ReminderSent": "reminder", "SuspensionRequested": "suspension"}.get(type(event).__name__, "resolved")
    entry = {"kind": kind, "step": getattr(event, "step", None), "episode": event.episode, "day": event.day,
             "days_overdue": getattr(event, "days_overdue", 0), "invoices": getattr(event, "invoices", [])}
    return _step(event.tenant_id, entry)


def run_public(on: str | None, events: Sequence[object], position: int | None) -> DunningRunPublic:
    steps = [_event_step(e) for e in events
             if isinstance(e, (DunningCase.ReminderSent, DunningCase.SuspensionRequested, DunningCase.Resolved))]
    return DunningRunPublic(on=steps[0].day if steps else on, reminders=sum(s.kind == "reminder" for s in steps),
                            suspensions=sum(s.kind == "suspension" for s in steps),
                            resolved=sum(s.kind == "resolved" for s in steps), position=position, steps=steps)


def run_answer(saved: Saved) -> DunningRunPublic:
    """The run's answer from the one transaction it saved (a keyed run stores this)."""
    return run_public(None, saved.events, saved.position)


@dunning_runs.post("/runs", openapi_extra=command("record_dunning"))
@answered_by(run_answer)
def run_dunning(body: DunningRunCreate, ledger: LedgerDep, _: Finance, request: Request,
                response: Response) -> DunningRunPublic:
    """Run dunning on a day for every tenant with overdue invoices, in one transaction: each step
    of its policy reached is recorded once per overdue episode (reminders, then a suspension); a
    tenant dunning suspended that has nothing overdue any more is reinstated. A rerun records
    only what is new."""
    run = operations.dunning.run_dunning(ledger, on=body.on, context=command_context(request))
    mark_position(response, run.position)
    return run_public(run.on.isoformat(), run.receipt.events, run.position)


def policy_answer(saved: Saved) -> DunningPolicyPublic:
    case = saved.one(DunningCase)
    return DunningPolicyPublic(tenant_id=str(case.tenant_id), reminder_days=case.reminder_days,
                               suspend_after_days=case.suspend_after_days, position=saved.position)


@tenant_dunning.post("/{tenant_id}/dunning-policy", openapi_extra=command("set_dunning_policy"))
@answered_by(policy_answer)
def set_dunning_policy(tenant_id: UUID, body: DunningPolicyBody, ledger: LedgerDep, _: OperatorOrFinance,
                       request: Request, response: Response) -> DunningPolicyPublic:
    """The tenant's dunning policy: reminders at these days overdue, then a suspension."""
    written = ledger.set_dunning_policy(tenant_id, reminder_days=body.reminder_days,
                                        suspend_after_days=body.suspend_after_days, context=command_context(request))
    mark_position(response, written.position)
    case = ledger.get_dunning_case(written.id)
    assert case is not None
    return DunningPolicyPublic(tenant_id=str(written.id), reminder_days=case.reminder_days,
                               suspend_after_days=case.suspend_after_days, position=written.position)


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
