"""Commercial terms: committed-spend contracts, prepaid credits, on-demand rates.

Operators and finance sign, amend and terminate contracts, sell or grant credits and set
on-demand rates; tenants read their own contracts and wallet (another tenant's is 404).
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from fastapi import Request, Response

from access.tokens import Principal
from api.access import hidden, visible_tenant
from api.answers import answered_by
from api.deps import LedgerDep, OperatorOrFinance, TenantReader
from api.idempotency import command_context
from api.routes import command, resource_router
from api.routes.written import mark_position
from api.schemas.commercial import (
    ContractAmendment,
    ContractCreate,
    ContractPublic,
    ContractTermination,
    CreditsCreate,
    OnDemandRates,
    OnDemandRatesPublic,
    WalletPublic,
)
from domain import Ledger
from domain.aggregates import Contract, Tenant

# Credits added under an Idempotency-Key get a grant id derived from (caller, key): a retry after
# a lost response cannot add the same credits twice (the wallet refuses a grant id it holds).
GRANT_KEY_NAMESPACE = uuid5(NAMESPACE_URL, "https://gpu-ledger.example/idempotent-credit-grant")

contracts = resource_router("/v1/contracts", "contracts")
terms = resource_router("/v1/tenants", "tenants")


def visible_contract(ledger: Ledger, principal: Principal, contract_id: UUID) -> Contract:
    contract = ledger.get_contract(contract_id)
    if not principal.sees_tenant(contract.tenant_id):
        raise hidden("contract_id", "contract", contract_id)
    return contract


@contracts.post("", status_code=201, openapi_extra=command("sign_contract"))
def sign_contract(body: ContractCreate, ledger: LedgerDep, _: OperatorOrFinance,
                  request: Request, response: Response) -> ContractPublic:
    """Sign a committed-spend contract in the tenant's billing currency (terms may not overlap)."""
    written = ledger.sign_contract(**body.model_dump(mode="json"), context=command_context(request))
    mark_position(response, written.position)
    return ContractPublic.of(ledger.get_contract(written.id))


@contracts.get("/{contract_id}")
def get_contract(contract_id: UUID, ledger: LedgerDep, principal: TenantReader) -> ContractPublic:
    return ContractPublic.of(visible_contract(ledger, principal, contract_id))


@contracts.post("/{contract_id}/amendments",
                openapi_extra=command("amend_contract"))
def amend_contract(contract_id: UUID, body: ContractAmendment, ledger: LedgerDep, _: OperatorOrFinance,
                   request: Request, response: Response) -> ContractPublic:
    """New amount and discount from a future period start."""
    written = ledger.amend_contract(contract_id, effective_month=body.effective_month, amount=body.amount,
                                    discount=body.discount, context=command_context(request))
    mark_position(response, written.position)
    return ContractPublic.of(ledger.get_contract(written.id))


@contracts.post("/{contract_id}/termination",
                openapi_extra=command("terminate_contract"))
def terminate_contract(contract_id: UUID, body: ContractTermination, ledger: LedgerDep, _: OperatorOrFinance,
                       request: Request, response: Response) -> ContractPublic:
    """End the term early at a future period start, with an optional fee."""
    written = ledger.terminate_contract(contract_id, effective_month=body.effective_month, fee=body.fee,
                                        context=command_context(request))
    mark_position(response, written.position)
    return ContractPublic.of(ledger.get_contract(written.id))


@terms.get("/{tenant_id}/contracts")
def list_contracts(tenant_id: UUID, ledger: LedgerDep, principal: TenantReader) -> list[ContractPublic]:
    visible_tenant(ledger, principal, tenant_id)
    return [ContractPublic.of(c) for c in ledger.get_contracts_of(tenant_id)]


@terms.post("/{tenant_id}/credits", status_code=201,
            openapi_extra=command("purchase_credits", "grant_credits"))
def add_credits(tenant_id: UUID, body: CreditsCreate, ledger: LedgerDep, principal: OperatorOrFinance,
                request: Request, response: Response) -> WalletPublic:
    """Sell (``purchase``) or give (``grant``) credits; the tenant's wallet is opened on first use."""
    key = request.headers.get("Idempotency-Key")
    grant_id = uuid5(GRANT_KEY_NAMESPACE, f"{principal.scope}\n{key}") if key else None
    add = ledger.purchase_credits if body.kind == "purchase" else ledger.grant_credits
    written = add(tenant_id, amount=body.amount, priority=body.priority, expires_at=body.expires_at, note=body.note,
                  grant_id=grant_id, context=command_context(request))
    mark_position(response, written.position)
    return WalletPublic.of(ledger.get_wallet(tenant_id))


@terms.post("/{tenant_id}/credits/expiry", openapi_extra=command("expire_credits"))
def expire_credits(tenant_id: UUID, ledger: LedgerDep, _: OperatorOrFinance,
                   request: Request, response: Response) -> WalletPublic:
    """Record the expiry of every grant whose expiry has passed (invoice issue does it too)."""
    written = ledger.expire_credits(tenant_id, context=command_context(request))
    mark_position(response, written.position)
    return WalletPublic.of(ledger.get_wallet(tenant_id))


@terms.get("/{tenant_id}/wallet")
def get_wallet(tenant_id: UUID, ledger: LedgerDep, principal: TenantReader) -> WalletPublic:
    """Balance and grants; the trace of every change is the `credits` report."""
    visible_tenant(ledger, principal, tenant_id)
    return WalletPublic.of(ledger.get_wallet(tenant_id))


def on_demand_rates(tenant: Tenant) -> OnDemandRatesPublic:
    return OnDemandRatesPublic(tenant_id=str(tenant.id),
                               on_demand_rates={m: format(r, "f") for m, r in tenant.on_demand_rates.items()})


@terms.post("/{tenant_id}/on-demand-rates",
            openapi_extra=command("set_on_demand_rates"))
@answered_by(lambda saved: on_demand_rates(saved.one(Tenant)))
def set_on_demand_rates(tenant_id: UUID, body: OnDemandRates, ledger: LedgerDep, _: OperatorOrFinance,
                        request: Request, response: Response) -> OnDemandRatesPublic:
    """The plan's on-demand rate table (reservations with ``pricing: on_demand`` lock it)."""
    written = ledger.set_on_demand_rates(tenant_id, rates=body.model_dump(mode="json")["rates"],
                                         context=command_context(request))
    mark_position(response, written.position)
    return on_demand_rates(ledger.get_tenant(written.id))

