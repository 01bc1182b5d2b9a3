"""Invoice: issued once for a tenant and a closed month; never changed afterwards.

Corrections are credit notes (new events), and a voided invoice stays in the log. Late usage or
changes after issue are billed as adjustments on a later month by the billing projection.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.checks import text
from domain.errors import InvalidInput, InvalidTransition
from domain.money import check_amount

INVOICE_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledger.example/invoice")


def invoice_id(tenant_id: UUID, month: str) -> UUID:
    """At most one invoice per tenant and month, by construction of its id."""
    return uuid5(INVOICE_NAMESPACE, f"{tenant_id}/{month}")


class Invoice(Aggregate):
    TOPIC = "ledger:Invoice"

    class Created(Aggregate.Created):  # unused; every event class needs an explicit topic
        TOPIC = "ledger:Invoice.Created"

    @staticmethod
    def create_id(tenant_id: UUID, month: str) -> UUID:
        return invoice_id(tenant_id, month)

    class Issued(Aggregate.Created):
        """Version 2 adds the carbon totals of the lines (each line carries its own energy_kwh,
        location_kgco2e and market_kgco2e); version-1 invoices, issued before carbon was billed,
        are upcast with zero totals and lines without carbon."""

        TOPIC = "ledger:Invoice.Issued"
        class_version = 2
        tenant_id: UUID
        month: str
        currency: str
        lines: list[dict[str, Any]]
        total: Decimal
        issued_at: datetime
        billed_through_position: int
        energy_kwh: Decimal
        location_kgco2e: Decimal
        market_kgco2e: Decimal

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            for name in ("energy_kwh", "location_kgco2e", "market_kgco2e"):
                state[name] = Decimal(0)

    @event(Issued)
    def __init__(self, tenant_id: UUID, month: str, currency: str, lines: list[dict[str, Any]],
                 total: Decimal, issued_at: datetime, billed_through_position: int,
                 energy_kwh: Decimal = Decimal(0), location_kgco2e: Decimal = Decimal(0),
                 market_kgco2e: Decimal = Decimal(0)) -> None:
        self.energy_kwh = energy_kwh
        self.location_kgco2e = location_kgco2e
        self.market_kgco2e = market_kgco2e
        self.tenant_id = tenant_id
        self.month = month
        self.currency = currency
        self.lines = lines
        self.total = total
        self.issued_at = issued_at
        self.billed_through_position = billed_through_position
        self.voided_reason: str | None = None
        self.credit_notes: list[list[Any]] = []  # [amount, reason, issued_at]

    @property
    def status(self) -> str:
        return "void" if self.voided_reason is not None else "open"

    @property
    def credited(self) -> Decimal:
        return sum((Decimal(str(c[0])) for c in self.credit_notes), Decimal(0))

    def void(self, *, reason: object) -> None:
        if self.voided_reason is not None:
            raise InvalidTransition("invoice is already void")
        if self.credit_notes:  # voiding too would reduce its revenue twice (docs/finance.md, Billing)
            raise InvalidTransition("credit notes were issued against this invoice; credit the rest instead of "
                                    "voiding it")
        self._voided(text(reason, field="reason"))

    class Voided(Aggregate.Event):
        TOPIC = "ledger:Invoice.Voided"
        reason: str

    @event(Voided)
    def _voided(self, reason: str) -> None:
        self.voided_reason = reason

    def credit(self, *, amount: object, reason: object, issued_at: datetime) -> None:
        """Issue a credit note; refused beyond the invoice total still uncredited."""
        if self.voided_reason is not None:
            raise InvalidTransition("a void invoice cannot be credited")
        value = check_amount(amount, self.currency, field="amount")
        if value > self.total - self.credited:
            raise InvalidInput(f"amount: {value} exceeds the uncredited {self.total - self.credited} {self.currency}",
                               field="amount")
        self._credited(value, text(reason, field="reason"), issued_at)

    class CreditNoteIssued(Aggregate.Event):
        TOPIC = "ledger:Invoice.CreditNoteIssued"
        amount: Decimal
        reason: str
        issued_at: datetime

    @event(CreditNoteIssued)
    def _credited(self, amount: Decimal, reason: str, issued_at: datetime) -> None:
        self.credit_notes.append([amount, reason, issued_at])
