"""Changes to recorded capacity and tenants: site revisions and decommissioning (operators);
plan changes, suspension and reinstatement (operators and finance, who register tenants)."""

from __future__ import annotations

from uuid import UUID

from fastapi import Request, Response

from api.answers import Saved, answered_by
from api.deps import LedgerDep, Operator, OperatorOrFinance
from api.idempotency import command_context
from api.routes import command, resource_router
from api.routes.written import mark_position
from api.schemas.capacity import SitePublic
from api.schemas.changes import DecommissionedPublic, DecommissioningCreate, PlanChange, SiteRevisionCreate, Suspension
from api.schemas.common import GpuModelCode
from api.schemas.tenancy import TenantPublic
from domain.aggregates import GpuPool

site_changes = resource_router("/v1/sites", "capacity")
tenant_changes = resource_router("/v1/tenants", "tenants")


@site_changes.post("/{site_id}/revisions", status_code=201,
                   openapi_extra=command("revise_site"))
def revise_site(site_id: UUID, body: SiteRevisionCreate, ledger: LedgerDep, _: Operator,
                request: Request, response: Response) -> SitePublic:
    """New grid intensity, PUE and carbon-free share from `effective_from` on (later than the last revision)."""
    written = ledger.revise_site(site_id, **body.model_dump(mode="json"), context=command_context(request))
    mark_position(response, written.position)
    return SitePublic.of(ledger.get_site(written.id))


def decommissioned(saved: Saved) -> DecommissionedPublic:
    pool = saved.one(GpuPool)
    (event,) = saved.events_of(GpuPool.Decommissioned)
    return DecommissionedPublic(pool_id=str(pool.id), site_id=str(pool.site_id), model=pool.model,
                                quantity=event.quantity, at=event.at)


@site_changes.post("/{site_id}/pools/{model}/decommissioning", status_code=201,
                   openapi_extra=command("decommission"))
@answered_by(decommissioned)
def decommission(site_id: UUID, model: GpuModelCode, body: DecommissioningCreate, ledger: LedgerDep, _: Operator,
                 request: Request, response: Response) -> DecommissionedPublic:
    """Take GPUs of the site's pool out of service from `at` on; refused (409) if that would overbook."""
    written = ledger.decommission(site_id=site_id, model=model.value, **body.model_dump(mode="json"),
                                  context=command_context(request))
    mark_position(response, written.position)
    return DecommissionedPublic(pool_id=str(written.id), site_id=str(site_id), model=model.value,
                                quantity=body.quantity, at=body.at)


@tenant_changes.post("/{tenant_id}/plan", openapi_extra=command("change_plan"))
def change_plan(tenant_id: UUID, body: PlanChange, ledger: LedgerDep, _: OperatorOrFinance,
                request: Request, response: Response) -> TenantPublic:
    """New rates and cancellation fee share for reservations confirmed from now on."""
    written = ledger.change_plan(tenant_id, **body.model_dump(mode="json"), context=command_context(request))
    mark_position(response, written.position)
    return TenantPublic.of(ledger.get_tenant(written.id))


@tenant_changes.post("/{tenant_id}/suspension",
                     openapi_extra=command("suspend_tenant"))
def suspend_tenant(tenant_id: UUID, body: Suspension, ledger: LedgerDep, _: OperatorOrFinance,
                   request: Request, response: Response) -> TenantPublic:
    """A suspended tenant cannot reserve (its confirmed reservations stand)."""
    written = ledger.suspend_tenant(tenant_id, reason=body.reason, context=command_context(request))
    mark_position(response, written.position)
    return TenantPublic.of(ledger.get_tenant(written.id))


@tenant_changes.post("/{tenant_id}/reinstatement",
                     openapi_extra=command("reinstate_tenant"))
def reinstate_tenant(tenant_id: UUID, ledger: LedgerDep, _: OperatorOrFinance,
                     request: Request, response: Response) -> TenantPublic:
    """Lift a suspension."""
    written = ledger.reinstate_tenant(tenant_id, context=command_context(request))
    mark_position(response, written.position)
    return TenantPublic.of(ledger.get_tenant(written.id))
