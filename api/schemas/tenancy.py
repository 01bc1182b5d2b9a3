"""Capacity out: tenants, reservations, usage, invoices."""

from __future__ import annotations

from datetime import UTC, date, datetime
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
from domain.aggregates.invoice_payments import Payment
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
    payment_terms_days: int = Field(30, description="Net days to pay its invoices (due date = issue date + these)")
    tax_treatment: str = Field("exempt", description="standard, reverse_charge or exempt (invoices issued from now)")
    tax_rate: str = Field("0", description="The standard rate (0.20 is 20 %); 0 otherwise")
    tax_name: str = "VAT"
    vat_number: str | None = None

    @classmethod
    def of(cls, tenant: Tenant) -> TenantPublic:
        return cls(id=str(tenant.id), name=tenant.name, billing_currency=tenant.billing_currency,
                   rates={m: text_of(r) for m, r in tenant.rates.items()},
                   cancellation_fee_share=text_of(tenant.cancellation_fee_share), suspended=tenant.suspended,
                   payment_terms_days=tenant.payment_terms_days, tax_treatment=tenant.tax.treatment,
                   tax_rate=text_of(tenant.tax.rate), tax_name=tenant.tax.tax_name, vat_number=tenant.tax.vat_number)


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


class PaymentPublic(BaseModel):
    payment_id: str
    amount: str = Field(description="Applied to the invoice")
    excess: str = Field(description="Beyond what was outstanding: credited to the tenant's wallet")
    currency: str
    received_on: str = Field(description="YYYY-MM-DD")
    reference: str = Field(description="The bank reference")
    recorded_at: AwareDatetime

    @classmethod
    def of(cls, payment: Payment) -> PaymentPublic:
        return cls(payment_id=str(payment.payment_id), amount=text_of(payment.amount), excess=text_of(payment.excess),
                   currency=payment.currency, received_on=payment.received_on, reference=payment.reference,
                   recorded_at=payment.recorded_at)


class CreditNotePublic(BaseModel):
    number: str | None = Field(description="The credit note's number (none if issued before numbering)")
    amount: str
    reason: str
    issued_at: AwareDatetime


class InvoicePublic(BaseModel):
    id: str
    number: str | None = Field(None, description="GL-2026-000123; none for invoices issued before numbering")
    tenant_id: str
    month: str
    currency: str
    status: str = Field(description="issued, partially_paid, paid or void")
    total: str
    credited: str
    paid: str = Field("0", description="Sum of the payments applied")
    outstanding: str = Field("0", description="Total less credit notes and payments (never negative)")
    due_date: str | None = Field(None, description="YYYY-MM-DD: the issue date plus the payment terms")
    payment_terms_days: int = 30
    days_overdue: int = Field(0, description="Days past the due date today (UTC) while something is outstanding")
    payments: list[PaymentPublic] = Field(default_factory=list)
    credit_notes: list[CreditNotePublic] = Field(default_factory=list)
    issued_at: AwareDatetime
    billed_through_position: int
    lines: list[dict[str, Any]]
    energy_kwh: str = Field("0", description="Total energy of the lines' metered GPU-hours (kWh)")
    location_kgco2e: str = Field("0", description="Total location-based kgCO2e of the lines")
    market_kgco2e: str = Field("0", description="Total market-based kgCO2e of the lines")

    @classmethod
    def of(cls, invoice: Invoice, *, today: date | None = None) -> InvoicePublic:
        """``today``: the day ``days_overdue`` counts to (default: today, UTC)."""
        on = today or datetime.now(UTC).date()
        return cls(id=str(invoice.id), number=invoice.number, tenant_id=str(invoice.tenant_id), month=invoice.month,
                   currency=invoice.currency, status=invoice.status, total=text_of(invoice.total),
                   credited=text_of(invoice.credited), paid=text_of(invoice.paid),
                   outstanding=text_of(invoice.outstanding), due_date=invoice.due_date,
                   payment_terms_days=invoice.payment_terms_days, days_overdue=invoice.days_overdue(on),
                   payments=[PaymentPublic.of(p) for p in invoice.payments],
                   credit_notes=[CreditNotePublic(number=n.number, amount=text_of(n.amount), reason=n.reason,
                                                  issued_at=n.issued_at) for n in invoice.credit_notes],
                   issued_at=invoice.issued_at,
                   billed_through_position=invoice.billed_through_position,
                   lines=[plain(line) for line in invoice.lines], energy_kwh=text_of(invoice.energy_kwh),
                   location_kgco2e=text_of(invoice.location_kgco2e), market_kgco2e=text_of(invoice.market_kgco2e))

