"""Capacity out: tenants, reservations, usage, invoices."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from api.schemas.common import (
    Currency,
    DecimalText,
    GpuCount,
    GpuModelCode,
    Id,
    Month,
    Name,
    Strict,
    UtcDateTime,
    plain,
    text_of,
)
from domain.aggregates import Invoice, Reservation, Tenant
from domain.service import MAX_USAGE_BATCH


class TenantCreate(Strict):
    name: Name
    billing_currency: Currency
    rates: dict[GpuModelCode, DecimalText] = Field(min_length=1, description="Rate per GPU-hour by GPU model")
    cancellation_fee_share: DecimalText = "0.25"


class TenantPublic(BaseModel):
    id: str
    name: str
    billing_currency: str
    rates: dict[str, str]
    cancellation_fee_share: str
    suspended: bool

    @classmethod
    def of(cls, tenant: Tenant) -> TenantPublic:
        return cls(id=str(tenant.id), name=tenant.name, billing_currency=tenant.billing_currency,
                   rates={m: text_of(r) for m, r in tenant.rates.items()},
                   cancellation_fee_share=text_of(tenant.cancellation_fee_share), suspended=tenant.suspended)


class ReservationCreate(Strict):
    tenant_id: Id | None = Field(None, description="Required for operators; a tenant token books for itself.")
    site_id: Id
    model: GpuModelCode
    gpus: GpuCount
    start: UtcDateTime = Field(description="On a whole UTC hour")
    end: UtcDateTime = Field(description="On a whole UTC hour, after start")
    rate_per_gpu_hour: DecimalText | None = Field(None, description="Negotiated rate (operators only)")
    backfill: bool = Field(False, description="Operators only: record a reservation whose start has passed "
                                              "(refused otherwise with a 422 naming `start`)")
    pricing: Literal["reserved", "on_demand"] = Field("reserved", description="reserved: billed on booked GPU-hours; "
                                                      "on_demand: on metered GPU-hours at the on-demand rate")


class ReservationExtension(Strict):
    end: UtcDateTime


class ReservationPublic(BaseModel):
    id: str
    tenant_id: str
    site_id: str
    model: str
    gpus: int
    start: AwareDatetime
    end: AwareDatetime
    status: str
    rate_per_gpu_hour: str
    currency: str
    gpu_hours_booked: int
    gpu_hours_used: str
    cancellation_fee: str
    confirmed_at: AwareDatetime
    cancelled_at: AwareDatetime | None
    backfill: bool = Field(False, description="Recorded after its start by an operator")
    pricing: str = "reserved"

    @classmethod
    def of(cls, r: Reservation) -> ReservationPublic:
        return cls(id=str(r.id), tenant_id=str(r.tenant_id), site_id=str(r.site_id), model=r.model, gpus=r.gpus,
                   start=r.start, end=r.end, status=r.status, rate_per_gpu_hour=text_of(r.rate_per_gpu_hour),
                   currency=r.currency, gpu_hours_booked=r.gpu_hours_booked, gpu_hours_used=text_of(r.gpu_hours_used),
                   cancellation_fee=text_of(r.cancellation_fee), confirmed_at=r.confirmed_at,
                   cancelled_at=r.cancelled_at, backfill=r.backfill, pricing=r.pricing)


class UsageRecordCreate(Strict):
    record_id: Id = Field(description="Client-chosen UUID; a retried record is skipped")
    reservation_id: Id
    hour: UtcDateTime = Field(description="Start of the metered hour (whole UTC hour)")
    gpu_hours: DecimalText


class UsageBatchCreate(Strict):
    records: list[UsageRecordCreate] = Field(min_length=1, max_length=MAX_USAGE_BATCH)


class UsageReceiptPublic(BaseModel):
    recorded: int
    duplicates: int
    position: int | None


class UsagePublic(BaseModel):
    position: int
    record_id: str
    reservation_id: str
    hour: AwareDatetime
    gpu_hours: str


class InvoiceCreate(Strict):
    tenant_id: Id
    month: Month


class InvoicePublic(BaseModel):
    id: str
    tenant_id: str
    month: str
    currency: str
    status: str
    total: str
    credited: str
    issued_at: AwareDatetime
    billed_through_position: int
    lines: list[dict[str, Any]]
    energy_kwh: str = Field("0", description="Total energy of the lines' metered GPU-hours (kWh)")
    location_kgco2e: str = Field("0", description="Total location-based kgCO2e of the lines")
    market_kgco2e: str = Field("0", description="Total market-based kgCO2e of the lines")

    @classmethod
    def of(cls, invoice: Invoice) -> InvoicePublic:
        return cls(id=str(invoice.id), tenant_id=str(invoice.tenant_id), month=invoice.month,
                   currency=invoice.currency, status=invoice.status, total=text_of(invoice.total),
                   credited=text_of(invoice.credited), issued_at=invoice.issued_at,
                   billed_through_position=invoice.billed_through_position,
                   lines=[plain(line) for line in invoice.lines], energy_kwh=text_of(invoice.energy_kwh),
                   location_kgco2e=text_of(invoice.location_kgco2e), market_kgco2e=text_of(invoice.market_kgco2e))

