"""Finance's month close: ``POST /v1/closes`` records one (``operations.closing.close_month``,
which `ledger close` calls too); ``GET /v1/closes/{month}`` reads it back."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request, Response

import operations.closing
from api.answers import Saved, answered_by
from api.deps import Finance, ReportReader, ServicesDep
from api.idempotency import command_context
from api.readside import ReadSideBilling
from api.routes import command, resource_router
from api.routes.written import mark_position
from api.schemas.closing import CloseCreate, ClosePublic
from domain.aggregates.close import MonthClose
from domain.errors import NotFound
from domain.service.closing import CloseReceipt
from domain.timeutil import MONTH_PATTERN

closes = resource_router("/v1/closes", "closes")

MonthPath = Annotated[str, Path(pattern=MONTH_PATTERN.pattern, description="YYYY-MM", examples=["2026-11"])]


def closed_now(saved: Saved) -> ClosePublic:
    """The close saved now (a keyed close stores this; a replay renders it)."""
    close = saved.one(MonthClose)
    return ClosePublic.of(operations.closing.describe(CloseReceipt(close.month, saved.position, False, close)))


@closes.post("", status_code=201, openapi_extra=command("close_month"),
             responses={200: {"model": ClosePublic, "description": "The month was already closed: nothing recorded"}})
@answered_by(closed_now)
def close_month(body: CloseCreate, services: ServicesDep, _: Finance, request: Request,
                response: Response) -> ClosePublic:
    """Close an ended month: refused (409 month-not-ready, naming what to do) until the
    projections have caught up, every tenant with billing lines has its invoice and the trial
    balance through the month balances. Closing a closed month records nothing (200)."""
    receipt = operations.closing.close_month(services.ledger, ReadSideBilling(services.readside), body.month,
                                             context=command_context(request))
    if receipt.already_closed:
        response.status_code = 200
    elif receipt.position is not None:
        mark_position(response, receipt.position)
    return ClosePublic.of(operations.closing.describe(receipt))


@closes.get("/{month}")
def get_close(month: MonthPath, services: ServicesDep, _: ReportReader) -> ClosePublic:
    """A closed month: when, at which log position, and its trial balance per currency."""
    found = services.ledger.get_month_close(month)
    if found is None:
        raise NotFound(f"month: {month} is not closed", field="month")
    return ClosePublic.of(operations.closing.describe(CloseReceipt(month, None, True, found)))
