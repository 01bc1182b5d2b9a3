"""Tenants and their reservations (tenants book for themselves, operators for anyone)."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from fastapi import Request, Response

from access.tokens import Principal, Role
from api.access import hidden, visible_reservation, visible_tenant
from api.deps import Booker, LedgerDep, OperatorOrFinance, TenantReader
from api.idempotency import command_context, saved_answer
from api.problems import Forbidden
from api.routes import command, resource_router
from api.routes.written import mark_position
from api.schemas.tenancy import ReservationCreate, ReservationExtension, ReservationPublic, TenantCreate, TenantPublic
from domain.checks import uuid_of
from domain.errors import InvalidInput

# A reservation confirmed under an Idempotency-Key gets an id derived from (caller, key). The
# key's stored response makes retries return the first answer; the derived id is the second
# line of defence: should the server die after the ledger committed but before the key's
# response was stored, a retry cannot book the GPUs twice (the ledger holds at most one
# reservation per id, and answers 409).
RESERVATION_KEY_NAMESPACE = uuid5(NAMESPACE_URL, "https://gpu-ledger.example/idempotent-reservation")

tenants = resource_router("/v1/tenants", "tenants")
reservations = resource_router("/v1/reservations", "reservations")


@tenants.post("", status_code=201, openapi_extra=command("register_tenant"))
def register_tenant(body: TenantCreate, ledger: LedgerDep, _: OperatorOrFinance,
                    request: Request, response: Response) -> TenantPublic:
    written = ledger.register_tenant(**body.model_dump(mode="json"), context=command_context(request))
    mark_position(response, written.position)
    return TenantPublic.of(ledger.get_tenant(written.id))


@tenants.get("/{tenant_id}")
def get_tenant(tenant_id: UUID, ledger: LedgerDep, principal: TenantReader) -> TenantPublic:
    return TenantPublic.of(visible_tenant(ledger, principal, tenant_id))


def booking_tenant(principal: Principal, body: ReservationCreate) -> UUID:
    """Whose reservation this is: a tenant books for itself only; an operator names the tenant.
    Only an operator may record a past reservation (``backfill``): a tenant asking is a 422
    naming ``backfill``, like the past ``start`` it would excuse."""
    if principal.role is Role.tenant:
        assert principal.tenant_id is not None
        if body.rate_per_gpu_hour is not None:
            raise Forbidden("rate_per_gpu_hour: only an operator may set a negotiated rate", field="rate_per_gpu_hour")
        if body.backfill:
            raise InvalidInput("backfill: only an operator may record a past reservation; a tenant books from the "
                               "next whole hour on", field="backfill")
        if body.tenant_id is not None and uuid_of(body.tenant_id, field="tenant_id") != principal.tenant_id:
            raise hidden("tenant_id", "tenant", body.tenant_id)
        return principal.tenant_id
    if body.tenant_id is None:
        raise InvalidInput("tenant_id: required when an operator books", field="tenant_id")
    return uuid_of(body.tenant_id, field="tenant_id")


@reservations.post("", status_code=201, openapi_extra=command("confirm_reservation"),
                   response_model=ReservationPublic)
def confirm_reservation(body: ReservationCreate, ledger: LedgerDep, principal: Booker, request: Request,
                        response: Response) -> ReservationPublic | Response:
    fields = body.model_dump(mode="json")
    fields["tenant_id"] = booking_tenant(principal, body)
    key = request.headers.get("Idempotency-Key")
    if key:
        fields["reservation_id"] = uuid5(RESERVATION_KEY_NAMESPACE, f"{principal.scope}\n{key}")
    written = ledger.confirm_reservation(**fields, context=command_context(request))
    mark_position(response, written.position)
    return saved_answer(request) or ReservationPublic.of(ledger.get_reservation(written.id))


@reservations.get("/{reservation_id}")
def get_reservation(reservation_id: UUID, ledger: LedgerDep, principal: TenantReader) -> ReservationPublic:
    return ReservationPublic.of(visible_reservation(ledger, principal, reservation_id))


@reservations.post("/{reservation_id}/extension",
                   openapi_extra=command("extend_reservation"))
def extend_reservation(reservation_id: UUID, body: ReservationExtension, ledger: LedgerDep, principal: Booker,
                       request: Request, response: Response) -> ReservationPublic:
    visible_reservation(ledger, principal, reservation_id)
    written = ledger.extend_reservation(reservation_id, end=body.end, context=command_context(request))
    mark_position(response, written.position)
    return ReservationPublic.of(ledger.get_reservation(written.id))


@reservations.post("/{reservation_id}/cancellation",
                   openapi_extra=command("cancel_reservation"))
def cancel_reservation(reservation_id: UUID, ledger: LedgerDep, principal: Booker,
                       request: Request, response: Response) -> ReservationPublic:
    visible_reservation(ledger, principal, reservation_id)
    written = ledger.cancel_reservation(reservation_id, context=command_context(request))
    mark_position(response, written.position)
    return ReservationPublic.of(ledger.get_reservation(written.id))
