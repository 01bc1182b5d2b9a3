"""What an invoice's receivable is made of: its payments and credit notes as named records, and
the checks of a payment (``Invoice.record_payment`` records it).

A payment applies to one invoice at most what is outstanding there; the rest is its ``excess``
(an overpayment), which the ledger credits to the tenant's prepaid wallet in the same save
(``domain.service.payments``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from domain.checks import text
from domain.errors import InvalidInput
from domain.money import check_amount, check_currency, quantize

ZERO = Decimal(0)
PAYMENT_STATUSES = ("issued", "partially_paid", "paid", "void")


@dataclass(frozen=True)
class Payment:
    """A payment applied to an invoice: ``amount`` here, ``excess`` beyond what was outstanding."""

    payment_id: UUID
    amount: Decimal
    excess: Decimal
    currency: str
    received_on: str  # YYYY-MM-DD
    reference: str
    recorded_at: datetime

    def describe(self) -> str:
        """``BANK-REF 1,000.00 on 2026-11-03``."""
        return f"{self.reference} {quantize(self.amount, self.currency):,} on {self.received_on}"


@dataclass(frozen=True)
class CreditNote:
    amount: Decimal
    reason: str
    issued_at: datetime
    number: str | None = None
    tax: Decimal = Decimal(0)  # the tax part of ``amount`` (gross)


@dataclass(frozen=True)
class CheckedPayment:
    """A payment's checked values, before it is split into amount and excess."""

    received: Decimal
    currency: str
    received_on: date
    reference: str


def check_day(value: object, *, field: str) -> date:
    """A calendar date, as a ``date`` or 'YYYY-MM-DD'."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInput(f"{field}: expected a date YYYY-MM-DD, got {value!r}", field=field)


def check_payment(*, invoice_currency: str, amount: object, currency: object, received_on: object,
                  reference: object, issued_on: date, today: date) -> CheckedPayment:
    """The checks of a payment that do not depend on what is outstanding, each naming its field."""
    code = check_currency(currency, field="currency")
    if code != invoice_currency:
        raise InvalidInput(f"currency: the invoice is in {invoice_currency}, not {code}", field="currency")
    day = check_day(received_on, field="received_on")
    if day < issued_on:
        raise InvalidInput(f"received_on: {day.isoformat()} is before the invoice's issue date "
                           f"{issued_on.isoformat()}", field="received_on")
    if day > today:
        raise InvalidInput(f"received_on: {day.isoformat()} is in the future (today is {today.isoformat()} UTC)",
                           field="received_on")
    value = check_amount(amount, code, field="amount")
    return CheckedPayment(value, code, day, text(reference, field="reference"))
