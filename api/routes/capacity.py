"""Operators record sites, funding, supply orders, deliveries and commissioning."""

from __future__ import annotations

from uuid import UUID

from fastapi import Request, Response

from api.deps import LedgerDep, Operator, ReportReader
from api.idempotency import command_context
from api.routes import command, resource_router
from api.routes.written import mark_position
from api.schemas.capacity import (
    CommissioningCreate,
    CommitmentCreate,
    DeliveryCreate,
    FundingRoundCreate,
    FundingRoundPublic,
    SiteCreate,
    SitePublic,
    SupplyOrderCreate,
    SupplyOrderPublic,
    TrancheCreate,
)

sites = resource_router("/v1/sites", "capacity")
funding = resource_router("/v1/funding-rounds", "funding")
supply = resource_router("/v1/supply-orders", "capacity")


@sites.post("", status_code=201, openapi_extra=command("register_site"))
def register_site(body: SiteCreate, ledger: LedgerDep, _: Operator, request: Request, response: Response) -> SitePublic:
    written = ledger.register_site(**body.model_dump(mode="json"), context=command_context(request))
    mark_position(response, written.position)
    return SitePublic.of(ledger.get_site(written.id))


@sites.get("/{site_id}")
def get_site(site_id: UUID, ledger: LedgerDep, _: ReportReader) -> SitePublic:
    return SitePublic.of(ledger.get_site(site_id))


@funding.post("", status_code=201, openapi_extra=command("open_funding_round"))
def open_funding_round(body: FundingRoundCreate, ledger: LedgerDep, _: Operator,
                       request: Request, response: Response) -> FundingRoundPublic:
    written = ledger.open_funding_round(**body.model_dump(mode="json"), context=command_context(request))
    mark_position(response, written.position)
    return FundingRoundPublic.of(ledger.get_funding_round(written.id))


@funding.get("/{round_id}")
def get_funding_round(round_id: UUID, ledger: LedgerDep, _: ReportReader) -> FundingRoundPublic:
    return FundingRoundPublic.of(ledger.get_funding_round(round_id))


@funding.post("/{round_id}/commitments", status_code=201,
              openapi_extra=command("record_commitment"))
def record_commitment(round_id: UUID, body: CommitmentCreate, ledger: LedgerDep, _: Operator,
                      request: Request, response: Response) -> FundingRoundPublic:
    written = ledger.record_commitment(round_id, **body.model_dump(mode="json"), context=command_context(request))
    mark_position(response, written.position)
    return FundingRoundPublic.of(ledger.get_funding_round(written.id))


@funding.post("/{round_id}/tranches", status_code=201,
              openapi_extra=command("record_tranche"))
def record_tranche(round_id: UUID, body: TrancheCreate, ledger: LedgerDep, _: Operator,
                   request: Request, response: Response) -> FundingRoundPublic:
    written = ledger.record_tranche(round_id, **body.model_dump(mode="json"), context=command_context(request))
    mark_position(response, written.position)
    return FundingRoundPublic.of(ledger.get_funding_round(written.id))


@supply.post("", status_code=201, openapi_extra=command("place_supply_order"))
def place_supply_order(body: SupplyOrderCreate, ledger: LedgerDep, _: Operator,
                       request: Request, response: Response) -> SupplyOrderPublic:
    written = ledger.place_supply_order(**body.model_dump(mode="json"), context=command_context(request))
    mark_position(response, written.position)
    return SupplyOrderPublic.of(ledger.get_supply_order(written.id))


@supply.get("/{order_id}")
def get_supply_order(order_id: UUID, ledger: LedgerDep, _: ReportReader) -> SupplyOrderPublic:
    return SupplyOrderPublic.of(ledger.get_supply_order(order_id))


@supply.post("/{order_id}/deliveries", status_code=201,
             openapi_extra=command("record_delivery"))
def record_delivery(order_id: UUID, body: DeliveryCreate, ledger: LedgerDep, _: Operator,
                    request: Request, response: Response) -> SupplyOrderPublic:
    written = ledger.record_delivery(order_id, **body.model_dump(mode="json"), context=command_context(request))
    mark_position(response, written.position)
    return SupplyOrderPublic.of(ledger.get_supply_order(written.id))


@supply.post("/{order_id}/commissioning", status_code=201,
             openapi_extra=command("commission"))
def commission(order_id: UUID, body: CommissioningCreate, ledger: LedgerDep, _: Operator,
               request: Request, response: Response) -> SupplyOrderPublic:
    written = ledger.commission(order_id, **body.model_dump(mode="json"), context=command_context(request))
    mark_position(response, written.position)
    return SupplyOrderPublic.of(ledger.get_supply_order(written.id))
