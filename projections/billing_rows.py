"""The billing projection's rows and tables (``projections.billing`` keeps them up to date):
a reservation's terms as billed, a tenant's invoice per month, and the month's lines, with what
a booking event adds or releases and how a line reads back from an issued invoice."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.aggregates import Reservation
from projections.carbon import Carbon
from projections.projection import text_id
from projections.timeaxis import hour_floor
from storage.tables import Table

ZERO = Decimal(0)


@dataclass(slots=True)
class ReservationTerms:
    reservation_id: str
    tenant_id: str
    site_id: str
    model: str
    currency: str
    gpus: int
    rate: Decimal
    pricing: str = "reserved"  # reserved | on_demand


@dataclass(slots=True)
class InvoiceRow:
    tenant_id: str
    month: str
    invoice_id: str
    currency: str
    total: Decimal
    credited: Decimal
    status: str  # issued | void
    billed_through: int
    issued_position: int
    number: str | None = None  # GL-2026-000123 (invoices issued before numbering: None)


@dataclass(slots=True)
class LineRow:
    tenant_id: str
    month: str
    line_key: str
    kind: str  # reservation | on_demand | cancellation_fee | adjustment | credit | true_up | termination_fee |
    # credits_applied
    reservation_id: str | None
    origin_month: str | None  # the month an adjustment or credit corrects
    currency: str
    gpu_hours: Decimal
    rate: Decimal | None
    amount: Decimal
    energy_kwh: Decimal = ZERO  # of the GPU-hours used (metered) on the line's reservation and month
    location_kgco2e: Decimal = ZERO
    market_kgco2e: Decimal = ZERO

    @property
    def empty(self) -> bool:
        return not (self.gpu_hours or self.amount or self.energy_kwh or self.location_kgco2e or self.market_kgco2e)

    def add_carbon(self, carbon: Carbon) -> None:
        self.energy_kwh += carbon.energy_kwh
        self.location_kgco2e += carbon.location_kg
        self.market_kgco2e += carbon.market_kg


BOOKING_EVENTS = (Reservation.Confirmed, Reservation.Extended, Reservation.Cancelled)


def booked_hours(event: Reservation.Confirmed | Reservation.Extended | Reservation.Cancelled) -> tuple[int, int]:
    """The hours [first, last) a booking event adds (confirmed, extended) or releases (cancelled)."""
    if isinstance(event, Reservation.Confirmed):
        start, end = event.start, event.end
    elif isinstance(event, Reservation.Extended):
        start, end = event.previous_end, event.end
    else:
        start, end = event.released_from, event.released_until
    return hour_floor(start), hour_floor(end)


def terms_confirmed(event: Reservation.Confirmed) -> ReservationTerms:
    return ReservationTerms(text_id(event.originator_id), text_id(event.tenant_id), text_id(event.site_id),
                            event.model, event.currency, int(event.gpus), Decimal(event.rate_per_gpu_hour),
                            str(getattr(event, "pricing", "reserved")))


TERMS = Table("bil_reservations", ReservationTerms, key=("reservation_id",))
INVOICES = Table("bil_invoices", InvoiceRow, key=("tenant_id", "month"), indexes=(("invoice_id",),))
LINES = Table("bil_lines", LineRow, key=("tenant_id", "month", "line_key"))
CARBON_COLUMNS = ("energy_kwh", "location_kgco2e", "market_kgco2e")  # a line's carbon, as LineRow names them


def invoiced_line(tenant: str, month: str, currency: str, index: int, data: dict[str, Any]) -> LineRow:
    """A line as the invoice carries it (older invoices may lack some fields)."""
    reservation = data.get("reservation_id")
    gpu_hours, rate = data.get("gpu_hours"), data.get("rate")
    return LineRow(tenant, month, str(data.get("line_key") or f"invoice-line:{index}"),
                   str(data.get("kind") or "invoice"), text_id(reservation) if reservation else None,
                   data.get("origin_month"), currency, Decimal(str(gpu_hours)) if gpu_hours is not None else ZERO,
                   Decimal(str(rate)) if rate is not None else None, Decimal(str(data["amount"])),
                   *(Decimal(str(data.get(c) or 0)) for c in CARBON_COLUMNS))

