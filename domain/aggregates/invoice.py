"""Invoice: issued once for a tenant and a closed month; never changed afterwards.

Corrections are credit notes (new events), and a voided invoice stays in the log. Late usage or
changes after issue are billed as adjustments on a later month by the billing projection.

Receivable: each invoice (from version 3 of ``Issued``) has a number, a due date (its issue
date plus the tenant's payment terms) and payments (``invoice_payments``); ``outstanding`` is
what is left to pay, and ``status`` is ``issued``, ``partially_paid``, ``paid`` or ``void``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.aggregates.invoice_payments import ZERO, CreditNote, Payment, check_payment
from domain.checks import text
from domain.errors import InvalidInput, InvalidTransition
from domain.money import check_amount, quantize

DEFAULT_PAYMENT_TERMS_DAYS = 30  # what invoices issued before payment terms are upcast to

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
        are upcast with zero totals and lines without carbon. Version 3 adds the invoice's
        number, due date (YYYY-MM-DD) and payment terms; version-2 invoices, issued before
        numbering, are upcast with no number, no due date and 30 days' terms."""

        TOPIC = "ledger:Invoice.Issued"
        class_version = 3
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
        number: str | None
        due_date: str | None
        payment_terms_days: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            for name in ("energy_kwh", "location_kgco2e", "market_kgco2e"):
                state[name] = Decimal(0)

        @staticmethod
        def upcast_v2_v3(state: dict[str, object]) -> None:
            state["number"] = None
            state["due_date"] = None
            state["payment_terms_days"] = DEFAULT_PAYMENT_TERMS_DAYS

    @event(Issued)
    def __init__(self, tenant_id: UUID, month: str, currency: str, lines: list[dict[str, Any]],
                 total: Decimal, issued_at: datetime, billed_through_position: int,
                 energy_kwh: Decimal = Decimal(0), location_kgco2e: Decimal = Decimal(0),
                 market_kgco2e: Decimal = Decimal(0), number: str | None = None, due_date: str | None = None,
                 payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS) -> None:
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
        self.number = number
        self.due_date = due_date
        self.payment_terms_days = payment_terms_days
        self.voided_reason: str | None = None
        self.credit_notes: list[CreditNote] = []
        self.payments: list[Payment] = []

    @staticmethod
    def due_date_of(issued_at: datetime, terms_days: int) -> str:
        """The issue date (UTC) plus the payment terms, as YYYY-MM-DD."""
        return (issued_at.date() + timedelta(days=terms_days)).isoformat()

    @property
    def label(self) -> str:
        """The invoice's number, or its id if it has none (issued before numbering)."""
        return self.number if self.number is not None else str(self.id)

    @property
    def credited(self) -> Decimal:
        return sum((note.amount for note in self.credit_notes), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((payment.amount for payment in self.payments), ZERO)

    @property
    def outstanding(self) -> Decimal:
        """The total less credit notes and payments, never negative; a void invoice owes nothing."""
        if self.voided_reason is not None:
            return quantize(ZERO, self.currency)
        return quantize(max(ZERO, self.total - self.credited - self.paid), self.currency)

    @property
    def status(self) -> str:
        if self.voided_reason is not None:
            return "void"
        if self.outstanding == 0:
            return "paid"
        return "partially_paid" if self.paid > 0 else "issued"

    def days_overdue(self, on: date) -> int:
        """Days past the due date on ``on`` while something is outstanding (0 if not due yet,
        paid, void, or without a due date)."""
        if self.due_date is None or self.voided_reason is not None or self.outstanding == 0:
            return 0
        return max(0, (on - date.fromisoformat(self.due_date)).days)

    def payment(self, payment_id: UUID) -> Payment | None:
        return next((p for p in self.payments if p.payment_id == payment_id), None)

    def void(self, *, reason: object) -> None:
        if self.voided_reason is not None:
            raise InvalidTransition(f"invoice {self.label} is already void")
        if self.payments:  # the money was received: a credit note refunds or credits it instead
            paid = ", ".join(p.describe() for p in self.payments)
            raise InvalidTransition(f"invoice {self.label} has payments ({paid}); issue a credit note instead")
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

    def check_credit(self, *, amount: object, reason: object) -> tuple[Decimal, str]:
        """A credit note's amount and reason; refused beyond what is outstanding (the total
        still neither credited nor paid)."""
        if self.voided_reason is not None:
            raise InvalidTransition("a void invoice cannot be credited")
        value = check_amount(amount, self.currency, field="amount")
        uncredited = self.total - self.credited
        if value > uncredited:
            raise InvalidInput(f"amount: {value} exceeds the uncredited {uncredited} {self.currency}", field="amount")
        if value > self.outstanding:
            raise InvalidInput(f"amount: {value} exceeds the outstanding {self.outstanding} {self.currency} "
                               f"(paid {self.paid})", field="amount")
        return value, text(reason, field="reason")

    def credit(self, *, amount: object, reason: object, issued_at: datetime, number: str | None = None) -> None:
        """Issue a credit note (numbered from the credit notes' sequence by the ledger)."""
        value, why = self.check_credit(amount=amount, reason=reason)
        self._credited(value, why, issued_at, number, self.tax_in(value))

    def tax_in(self, gross: Decimal) -> Decimal:
        """The tax part of a gross amount credited on this invoice (docs/finance.md, *Tax*):
        gross x rate / (1 + rate) at the rate of its tax line, rounded once to the minor unit
        (half-even); 0 on an invoice without tax (exempt, reverse charge, issued before tax)."""
        rates = [Decimal(str(line["rate"])) for line in self.lines if line.get("kind") == "tax"]
        if len(rates) != 1 or rates[0] == 0:
            return quantize(ZERO, self.currency)  # one treatment per tenant: one tax line at most
        return quantize(gross * rates[0] / (1 + rates[0]), self.currency)

    class CreditNoteIssued(Aggregate.Event):
        """Version 2 adds the credit note's number; notes issued before numbering have none.
        Version 3 adds ``tax``, the tax part of the (gross) amount; earlier notes have 0."""

        TOPIC = "ledger:Invoice.CreditNoteIssued"
        class_version = 3
        amount: Decimal
        reason: str
        issued_at: datetime
        number: str | None
        tax: Decimal

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["number"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, object]) -> None:
            state["tax"] = Decimal(0)

    @event(CreditNoteIssued)
    def _credited(self, amount: Decimal, reason: str, issued_at: datetime, number: str | None = None,
                  tax: Decimal = ZERO) -> None:
        self.credit_notes.append(CreditNote(amount, reason, issued_at, number, tax))

    # ---- payments -------------------------------------------------------------------------

    def record_payment(self, *, payment_id: UUID, amount: object, currency: object, received_on: object,
                       reference: object, now: datetime) -> Payment:
        """Apply a payment: at most what is outstanding; the rest is its ``excess``. Refused
        (naming the field, recording nothing) in another currency, on a void or paid invoice,
        received before the issue date or after ``now``'s date, or not a positive amount at the
        currency's minor unit."""
        checked = check_payment(invoice_currency=self.currency, amount=amount, currency=currency,
                                received_on=received_on, reference=reference, issued_on=self.issued_at.date(),
                                today=now.date())
        if self.voided_reason is not None:
            raise InvalidTransition(f"invoice {self.label} is void: it takes no payments")
        outstanding = self.outstanding
        if outstanding == 0:
            raise InvalidTransition(f"invoice {self.label} is already paid")
        applied = min(checked.received, outstanding)
        self._paid(payment_id, applied, checked.received - applied, checked.currency,
                   checked.received_on.isoformat(), checked.reference, now)
        return self.payments[-1]

    class PaymentRecorded(Aggregate.Event):
        TOPIC = "ledger:Invoice.PaymentRecorded"
        payment_id: UUID
        amount: Decimal
        excess: Decimal
        currency: str
        received_on: str
        reference: str
        recorded_at: datetime

    @event(PaymentRecorded)
    def _paid(self, payment_id: UUID, amount: Decimal, excess: Decimal, currency: str, received_on: str,
              reference: str, recorded_at: datetime) -> None:
        self.payments.append(Payment(payment_id, amount, excess, currency, received_on, reference, recorded_at))
