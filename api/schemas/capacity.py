"""Capacity in and money in: sites, funding rounds, supply orders."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from api.schemas.common import (
    Currency,
    DecimalText,
    GpuCount,
    GpuModelCode,
    Id,
    Name,
    Strict,
    Text,
    UtcDateTime,
    text_of,
)
from domain.aggregates import FundingRound, Site, SupplyOrder


class SiteCreate(Strict):
    name: Name
    country: Text = Field(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2",
                          examples=["GB"])
    grid_intensity_g_per_kwh: DecimalText
    pue: DecimalText
    carbon_free_share: DecimalText = Field(description="0 to 1, contracted carbon-free share")
    effective_from: UtcDateTime
    factor_source: Name = "operator"


class SitePublic(BaseModel):
    id: str
    name: str
    country: str
    grid_intensity_g_per_kwh: str
    pue: str
    carbon_free_share: str
    effective_from: AwareDatetime
    factor_source: str

    @classmethod
    def of(cls, site: Site) -> SitePublic:
        effective_from, grid, pue, share, source = site.revisions[-1]
        return cls(id=str(site.id), name=site.name, country=site.country, grid_intensity_g_per_kwh=text_of(grid),
                   pue=text_of(pue), carbon_free_share=text_of(share), effective_from=effective_from,
                   factor_source=source)


class FundingRoundCreate(Strict):
    name: Name
    currency: Currency
    opened_at: UtcDateTime


class CommitmentCreate(Strict):
    investor: Name
    amount: DecimalText
    currency: Currency
    equity_percent: DecimalText = "0"


class TrancheCreate(Strict):
    investor: Name
    amount: DecimalText
    currency: Currency
    received_at: UtcDateTime


class FundingRoundPublic(BaseModel):
    id: str
    name: str
    currency: str
    opened_at: AwareDatetime
    committed: str
    received: str
    capex_committed: str
    available: str

    @classmethod
    def of(cls, funding_round: FundingRound) -> FundingRoundPublic:
        return cls(id=str(funding_round.id), name=funding_round.name, currency=funding_round.currency,
                   opened_at=funding_round.opened_at, committed=text_of(funding_round.total_committed),
                   received=text_of(funding_round.total_received),
                   capex_committed=text_of(funding_round.total_capex_committed),
                   available=text_of(funding_round.available))


class SupplyOrderCreate(Strict):
    funding_round_id: Id
    site_id: Id
    model: GpuModelCode
    quantity: GpuCount
    unit_price: DecimalText
    currency: Currency
    placed_at: UtcDateTime
    supplier: Name = "NVIDIA"


class DeliveryCreate(Strict):
    quantity: GpuCount
    delivered_at: UtcDateTime


class CommissioningCreate(Strict):
    quantity: GpuCount
    commissioned_at: UtcDateTime


class SupplyOrderPublic(BaseModel):
    id: str
    funding_round_id: str
    site_id: str
    model: str
    quantity: int
    delivered: int
    commissioned: int
    unit_price: str
    total: str
    currency: str
    placed_at: AwareDatetime
    supplier: str

    @classmethod
    def of(cls, order: SupplyOrder) -> SupplyOrderPublic:
        return cls(id=str(order.id), funding_round_id=str(order.funding_round_id), site_id=str(order.site_id),
                   model=order.model, quantity=order.quantity, delivered=order.delivered,
                   commissioned=order.commissioned, unit_price=text_of(order.unit_price), total=text_of(order.total),
                   currency=order.currency, placed_at=order.placed_at, supplier=order.supplier)
