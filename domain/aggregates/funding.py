"""FundingRound: investor commitments, tranches received, and capex committed to orders.

Invariants: per investor, received <= committed; capex committed <= total received; equity
percentages of the round sum to at most 100.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.checks import decimal_in_range, text
from domain.errors import InsufficientFunds, InvalidInput, NotFound
from domain.money import check_amount, check_currency
from domain.timeutil import check_utc


class FundingRound(Aggregate):
    TOPIC = "ledger:FundingRound"

    class Created(Aggregate.Created):  # unused; every event class needs an explicit topic
        TOPIC = "ledger:FundingRound.Created"

    class Opened(Aggregate.Created):
        TOPIC = "ledger:FundingRound.Opened"
        name: str
        currency: str
        opened_at: datetime

    @event(Opened)
    def __init__(self, name: str, currency: str, opened_at: datetime,
                 id: UUID | None = None) -> None:  # the caller's choice, else uuid4
        self.name = name
        self.currency = currency
        self.opened_at = opened_at
        self.committed: dict[str, Decimal] = {}  # investor -> amount committed
        self.equity_percent: dict[str, Decimal] = {}
        self.received: dict[str, Decimal] = {}  # investor -> amount received
        self.capex_committed: dict[str, Decimal] = {}  # supply order id (hex) -> amount

    @classmethod
    def open(cls, *, name: object, currency: object, opened_at: object,
             round_id: UUID | None = None) -> FundingRound:
        return cls(text(name, field="name"), check_currency(currency),
                   check_utc(opened_at, field="opened_at"), id=round_id)

    @property
    def total_committed(self) -> Decimal:
        return sum(self.committed.values(), Decimal(0))

    @property
    def total_received(self) -> Decimal:
        return sum(self.received.values(), Decimal(0))

    @property
    def total_capex_committed(self) -> Decimal:
        return sum(self.capex_committed.values(), Decimal(0))

    @property
    def available(self) -> Decimal:
        """Funds received and not yet committed to capex."""
        return self.total_received - self.total_capex_committed

    def _check_currency(self, currency: object) -> None:
        if check_currency(currency) != self.currency:
            raise InvalidInput(f"currency: round {self.name!r} is in {self.currency}, not {currency}", field="currency")

    def commit(self, *, investor: object, amount: object, currency: object, equity_percent: object) -> None:
        """Record (or increase) an investor's commitment for a share of the round's equity."""
        investor = text(investor, field="investor")
        self._check_currency(currency)
        amount = check_amount(amount, self.currency, field="amount")
        equity = decimal_in_range(equity_percent, field="equity_percent", low=Decimal(0), high=Decimal(100))
        total_equity = sum(self.equity_percent.values(), Decimal(0)) + equity
        if total_equity > 100:
            raise InvalidInput(f"equity_percent: the round's equity would total {total_equity}% (> 100%)",
                               field="equity_percent")
        self._committed(investor, amount, equity)

    class CommitmentRecorded(Aggregate.Event):
        TOPIC = "ledger:FundingRound.CommitmentRecorded"
        investor: str
        amount: Decimal
        equity_percent: Decimal

    @event(CommitmentRecorded)
    def _committed(self, investor: str, amount: Decimal, equity_percent: Decimal) -> None:
        self.committed[investor] = self.committed.get(investor, Decimal(0)) + amount
        self.equity_percent[investor] = self.equity_percent.get(investor, Decimal(0)) + equity_percent

    def receive(self, *, investor: object, amount: object, currency: object, received_at: object) -> None:
        """Record a tranche received; refused beyond the investor's commitment."""
        investor = text(investor, field="investor")
        self._check_currency(currency)
        amount = check_amount(amount, self.currency, field="amount")
        when = check_utc(received_at, field="received_at")
        if investor not in self.committed:
            raise NotFound(f"investor: {investor!r} has no commitment in round {self.name!r}", field="investor")
        outstanding = self.committed[investor] - self.received.get(investor, Decimal(0))
        if amount > outstanding:
            raise InsufficientFunds(
                f"amount: tranche of {amount} {self.currency} exceeds {investor!r}'s outstanding "
                f"commitment of {outstanding} {self.currency}", field="amount")
        self._received(investor, amount, when)

    class TrancheReceived(Aggregate.Event):
        TOPIC = "ledger:FundingRound.TrancheReceived"
        investor: str
        amount: Decimal
        received_at: datetime

    @event(TrancheReceived)
    def _received(self, investor: str, amount: Decimal, received_at: datetime) -> None:
        self.received[investor] = self.received.get(investor, Decimal(0)) + amount

    def commit_capex(self, *, supply_order_id: UUID, amount: Decimal) -> None:
        """Earmark received funds for a supply order; refused beyond funds available."""
        if amount > self.available:
            raise InsufficientFunds(
                f"quantity: order total {amount} {self.currency} exceeds the round's uncommitted funds "
                f"received ({self.available} {self.currency})", field="quantity")
        self._capex_committed(supply_order_id, amount)

    class CapexCommitted(Aggregate.Event):
        TOPIC = "ledger:FundingRound.CapexCommitted"
        supply_order_id: UUID
        amount: Decimal

    @event(CapexCommitted)
    def _capex_committed(self, supply_order_id: UUID, amount: Decimal) -> None:
        self.capex_committed[supply_order_id.hex] = amount
