"""Usage from meters, invoices from finance, and the tenant-scoped lists."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query, Request, Response

import operations.invoicing
from api.access import visible_invoice, visible_reservation, visible_tenant
from api.answers import Saved, answered_by
from api.deps import Finance, LedgerDep, Meter, PageLimit, ServicesDep, TenantReader
from api.idempotency import command_context
from api.invoice_documents import DOCUMENT_RESPONSES, JSON, document_response, wanted
from api.readside import ReadSideBilling
from api.routes import command, resource_router
from api.routes.tenancy import tenants
from api.routes.written import mark_position
from api.schemas.common import InvoiceRef, Page
from api.schemas.tenancy import (
    InvoiceCreate,
    InvoicePublic,
    ReservationPublic,
    UsageBatchCreate,
    UsagePublic,
    UsageReceiptPublic,
)
from api.services import Services
from domain.aggregates import Reservation
from projections.tenant_index import TenantEntry

usage = resource_router("/v1/usage", "usage")
invoices = resource_router("/v1/invoices", "invoices")

Cursor = Annotated[int, Query(ge=0, le=2**62, description="Log position to continue after (next_cursor)")]


def usage_answer(saved: Saved) -> UsageReceiptPublic:
    """The receipt of a batch from its saved events: one batch event per reservation."""
    recorded = sum(len(e.records) for e in saved.events_of(Reservation.UsageBatchRecorded)) \
        + len(saved.events_of(Reservation.UsageRecorded))
    return UsageReceiptPublic(recorded=recorded, duplicates=len(saved.body.get("records", ())) - recorded,
                              position=saved.position)


@usage.post("", openapi_extra=command("record_usage"))
@answered_by(usage_answer)
def record_usage(body: UsageBatchCreate, ledger: LedgerDep, _: Meter, request: Request,
                 response: Response) -> UsageReceiptPublic:
    """A batch of per-hour records in one transaction: all or nothing; retried records are skipped."""
    # Python values (the hour stays a datetime): no text round trip for the ledger to parse again.
    receipt = ledger.record_usage([record.model_dump() for record in body.records], context=command_context(request))
    mark_position(response, receipt.position)
    return UsageReceiptPublic(recorded=receipt.recorded, duplicates=receipt.duplicates, position=receipt.position)


@invoices.post("", status_code=201, openapi_extra=command("issue_invoice"))
def issue_invoice(body: InvoiceCreate, services: ServicesDep, _: Finance,
                  request: Request, response: Response) -> InvoicePublic:
    """Issue a tenant's closed month from the billing projection, once it has caught up with the log
    (``operations.invoicing.issue_invoice``, which `ledger invoice issue` calls too)."""
    ledger = services.ledger
    written = operations.invoicing.issue_invoice(ledger, ReadSideBilling(services.readside), tenant_id=body.tenant_id,
                                                 month=body.month, context=command_context(request))
    mark_position(response, written.position)
    return InvoicePublic.of(ledger.get_invoice(written.id))


@invoices.get("/{invoice_id}", responses=DOCUMENT_RESPONSES, response_model=InvoicePublic)
def get_invoice(invoice_id: InvoiceRef, services: ServicesDep, principal: TenantReader, request: Request) -> Response:
    """The invoice (by its id or its number, GL-2026-000123) as JSON, or as a document for
    `Accept: text/html` or `application/pdf`."""
    invoice = visible_invoice(services.ledger, principal, invoice_id)
    media_type = wanted(request)
    if media_type != JSON:
        return document_response(services.ledger, invoice, services.settings, media_type)
    return Response(InvoicePublic.of(invoice).model_dump_json(), media_type=JSON, headers={"Vary": "Accept"})


MinPosition = Annotated[int | None, Query(ge=0, le=2**62, description="Wait until the tenant index reaches this "
                                                                    "log position (read-your-writes)")]


def tenant_page(services: Services, tenant_id: UUID, kind: str, cursor: int, limit: int,
                min_position: int | None) -> list[TenantEntry]:
    """A page of the tenant index (a projection followed by the workers; read, never built, here)."""
    services.readside.wait_for(min_position)
    entries: list[TenantEntry] = services.readside.projections.tenant_page(tenant_id, kind, cursor, limit)
    return entries


def _next(positions: list[int], limit: int) -> int | None:
    return positions[-1] if len(positions) == limit else None


@tenants.get("/{tenant_id}/reservations")
def list_reservations(tenant_id: UUID, services: ServicesDep, principal: TenantReader, limit: PageLimit,
                      cursor: Cursor = 0, min_position: MinPosition = None) -> Page[ReservationPublic]:
    visible_tenant(services.ledger, principal, tenant_id)
    rows = tenant_page(services, tenant_id, "reservation", cursor, limit, min_position)
    items = [ReservationPublic.of(visible_reservation(services.ledger, principal, UUID(r.resource_id)))
             for r in rows]
    return Page(items=items, next_cursor=_next([r.position for r in rows], limit))


@tenants.get("/{tenant_id}/usage")
def list_usage(tenant_id: UUID, services: ServicesDep, principal: TenantReader, limit: PageLimit,
               cursor: Cursor = 0, min_position: MinPosition = None) -> Page[UsagePublic]:
    visible_tenant(services.ledger, principal, tenant_id)
    # A row is one metering batch of one reservation, at one log position. The cursor is a log
    # position, so a page never splits a batch: whole batches are taken until ``limit`` records
    # are reached (a page may exceed ``limit`` by the rest of its last batch).
    rows = tenant_page(services, tenant_id, "usage", cursor, limit, min_position)
    items: list[UsagePublic] = []
    last, more = cursor, len(rows) == limit
    for index, row in enumerate(rows):
        items.extend(UsagePublic(position=row.position, reservation_id=row.resource_id, **record)
                     for record in row.records)
        last = row.position
        if len(items) >= limit:
            more = more or index < len(rows) - 1
            break
    return Page(items=items, next_cursor=last if more else None)


@tenants.get("/{tenant_id}/invoices")
def list_invoices(tenant_id: UUID, services: ServicesDep, principal: TenantReader, limit: PageLimit,
                  cursor: Cursor = 0, min_position: MinPosition = None) -> Page[InvoicePublic]:
    visible_tenant(services.ledger, principal, tenant_id)
    rows = tenant_page(services, tenant_id, "invoice", cursor, limit, min_position)
    items = [InvoicePublic.of(visible_invoice(services.ledger, principal, UUID(r.resource_id))) for r in rows]
    return Page(items=items, next_cursor=_next([r.position for r in rows], limit))
