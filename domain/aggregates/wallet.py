"""Wallet: a tenant's prepaid credits in its billing currency, as an append-only trace.

A wallet holds credit grants: purchased (paid: a liability, deferred revenue) or granted (free:
a discount when consumed). Each grant has an amount, a priority (lower first) and an optional
expiry. Every change of the balance is an event -- a purchase, a grant, an application to an
invoice, an expiry -- so the balance is the sum of the trace (as in Orb's ledger entries).

Application order: priority (ascending), then soonest expiry (grants without an expiry last),
then oldest. An application never exceeds the amount asked for nor the remaining balance, so the
balance is never negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.checks import text
from domain.errors import Conflict, InvalidInput
from domain.money import check_amount, check_currency
from domain.timeutil import check_utc

WALLET_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledger.example/wallet")
MAX_PRIORITY = 100
ZERO = Decimal(0)


def wallet_id(tenant_id: UUID, currency: str) -> UUID:
    """One wallet per tenant and currency, by construction of its id."""
    return uuid5(WALLET_NAMESPACE, f"{tenant_id}/{currency}")


@dataclass(frozen=True)
class Application:
    """Credits taken from one grant for one invoice."""

    grant_id: UUID
    paid: bool
    amount: Decimal


@dataclass
class Grant:
    grant_id: UUID
    paid: bool
    amount: Decimal
    priority: int
    expires_at: datetime | None
    added_at: datetime
    sequence: int
    remaining: Decimal
    expired: Decimal = ZERO

    def order(self) -> tuple[int, int, datetime, int]:
        no_expiry = self.expires_at is None
        return (self.priority, int(no_expiry), self.expires_at or self.added_at, self.sequence)


def check_priority(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PRIORITY:
        raise InvalidInput(f"priority: expected a whole number from 0 (first) to {MAX_PRIORITY}, got {value!r}",
                           field="priority")
    return value


class Wallet(Aggregate):
    TOPIC = "ledger:Wallet"

    class Created(Aggregate.Created):  # unused; every event class needs an explicit topic
        TOPIC = "ledger:Wallet.Created"

    class Opened(Aggregate.Created):
        TOPIC = "ledger:Wallet.Opened"
        tenant_id: UUID
        currency: str

    @staticmethod
    def create_id(tenant_id: UUID, currency: str) -> UUID:
        return wallet_id(tenant_id, currency)

    @event(Opened)
    def __init__(self, tenant_id: UUID, currency: str) -> None:
        self.tenant_id = tenant_id
        self.currency = currency
        self.grants: dict[UUID, Grant] = {}

    @classmethod
    def open(cls, *, tenant_id: UUID, currency: object) -> Wallet:
        return cls(tenant_id, check_currency(currency, field="currency"))

    # ---- balances -------------------------------------------------------------------------

    @property
    def balance(self) -> Decimal:
        return sum((g.remaining for g in self.grants.values()), ZERO)

    @property
    def paid_balance(self) -> Decimal:
        return sum((g.remaining for g in self.grants.values() if g.paid), ZERO)

    def total(self, *, paid: bool | None = None, what: str = "amount") -> Decimal:
        """Sum over grants of ``amount`` or ``expired`` (all grants, or paid / granted only)."""
        return sum((getattr(g, what) for g in self.grants.values() if paid is None or g.paid == paid), ZERO)

    # ---- adding credits ---------------------------------------------------------------------

    def add(self, *, grant_id: UUID, paid: bool, amount: object, priority: object, expires_at: object,
            note: object, now: datetime) -> None:
        if grant_id in self.grants:
            raise Conflict(f"grant_id: grant {grant_id} is already in the wallet", field="grant_id")
        value = check_amount(amount, self.currency, field="amount")
        rank = check_priority(priority)
        expiry = None if expires_at is None else check_utc(expires_at, field="expires_at")
        if expiry is not None and expiry <= now:
            raise InvalidInput(f"expires_at: {expiry.isoformat()} is not in the future", field="expires_at")
        label = text(note, field="note")
        if paid:
            self._purchased(grant_id, value, rank, expiry, now, label)
        else:
            self._granted(grant_id, value, rank, expiry, now, label)

    class CreditsAdded(Aggregate.Event):
        """What purchased and granted credits record alike (never recorded itself)."""

        TOPIC = "ledger:Wallet.CreditsAdded"
        grant_id: UUID
        amount: Decimal
        priority: int
        expires_at: datetime | None
        recorded_at: datetime
        note: str

    class CreditsPurchased(CreditsAdded):
        TOPIC = "ledger:Wallet.CreditsPurchased"

    @event(CreditsPurchased)
    def _purchased(self, grant_id: UUID, amount: Decimal, priority: int, expires_at: datetime | None,
                   recorded_at: datetime, note: str) -> None:
        self._add_grant(grant_id, True, amount, priority, expires_at, recorded_at)

    class CreditsGranted(CreditsAdded):
        TOPIC = "ledger:Wallet.CreditsGranted"

    @event(CreditsGranted)
    def _granted(self, grant_id: UUID, amount: Decimal, priority: int, expires_at: datetime | None,
                 recorded_at: datetime, note: str) -> None:
        self._add_grant(grant_id, False, amount, priority, expires_at, recorded_at)

    def _add_grant(self, grant_id: UUID, paid: bool, amount: Decimal, priority: int, expires_at: datetime | None,
                   recorded_at: datetime) -> None:
        self.grants[grant_id] = Grant(grant_id, paid, amount, priority, expires_at, recorded_at, len(self.grants),
                                      amount)

    # ---- expiry -----------------------------------------------------------------------------

    def expire(self, *, now: datetime) -> int:
        """Record the expiry of every grant whose expiry has passed and that has credits left;
        returns how many grants expired."""
        lapsed = sorted((g for g in self.grants.values()
                         if g.expires_at is not None and g.expires_at <= now and g.remaining > 0),
                        key=Grant.order)
        for grant in lapsed:
            assert grant.expires_at is not None
            self._expired(grant.grant_id, grant.remaining, grant.expires_at, now)
        return len(lapsed)

    class CreditsExpired(Aggregate.Event):
        TOPIC = "ledger:Wallet.CreditsExpired"
        grant_id: UUID
        amount: Decimal
        expired_at: datetime
        recorded_at: datetime

    @event(CreditsExpired)
    def _expired(self, grant_id: UUID, amount: Decimal, expired_at: datetime, recorded_at: datetime) -> None:
        grant = self.grants[grant_id]
        grant.remaining -= amount
        grant.expired += amount

    # ---- application ------------------------------------------------------------------------

    def plan(self, amount: Decimal, *, now: datetime) -> list[Application]:
        """What applying up to ``amount`` would take, grant by grant, in the application order;
        grants expired at ``now`` are skipped (``expire`` first records them)."""
        left = max(amount, ZERO)
        taken: list[Application] = []
        for grant in sorted(self.grants.values(), key=Grant.order):
            if left <= 0:
                break
            if grant.remaining <= 0 or (grant.expires_at is not None and grant.expires_at <= now):
                continue
            part = min(grant.remaining, left)
            taken.append(Application(grant.grant_id, grant.paid, part))
            left -= part
        return taken

    def apply(self, *, invoice_id: UUID, month: str, amount: Decimal, now: datetime) -> list[Application]:
        """Apply credits to an invoice: at most ``amount`` and at most the balance."""
        taken = self.plan(amount, now=now)
        if taken:
            self._applied(invoice_id, month, [[a.grant_id.hex, str(a.amount)] for a in taken], now)
        return taken

    class CreditsApplied(Aggregate.Event):
        """``applications``: [grant id (hex), amount (decimal string)], in application order."""

        TOPIC = "ledger:Wallet.CreditsApplied"
        invoice_id: UUID
        month: str
        applications: list[list[str]]
        recorded_at: datetime

    @event(CreditsApplied)
    def _applied(self, invoice_id: UUID, month: str, applications: list[list[str]], recorded_at: datetime) -> None:
        for grant_hex, amount in applications:
            self.grants[UUID(grant_hex)].remaining -= Decimal(amount)

    def grant_rows(self) -> list[dict[str, Any]]:
        return [{"grant_id": str(g.grant_id), "paid": g.paid, "amount": g.amount, "remaining": g.remaining,
                 "expired": g.expired, "priority": g.priority, "expires_at": g.expires_at, "added_at": g.added_at}
                for g in sorted(self.grants.values(), key=Grant.order)]
