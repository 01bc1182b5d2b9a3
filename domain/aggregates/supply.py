"""SupplyOrder: GPUs ordered from Nvidia for a site, paid from a funding round.

Invariants: delivered <= ordered; commissioned <= delivered.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.checks import positive_int
from domain.errors import ExceedsOrdered
from domain.money import check_amount, check_currency, quantize
from domain.timeutil import check_utc


class SupplyOrder(Aggregate):
    TOPIC = "ledger:SupplyOrder"

    class Created(Aggregate.Created):  # unused; every event class needs an explicit topic
        TOPIC = "ledger:SupplyOrder.Created"

    class Placed(Aggregate.Created):
        TOPIC = "ledger:SupplyOrder.Placed"
        funding_round_id: UUID
        site_id: UUID
        model: str
        quantity: int
        unit_price: Decimal
        currency: str
        placed_at: datetime
        supplier: str

    @event(Placed)
    def __init__(self, funding_round_id: UUID, site_id: UUID, model: str, quantity: int,
                 unit_price: Decimal, currency: str, placed_at: datetime, supplier: str,
                 id: UUID | None = None) -> None:  # the caller's choice, else uuid4
        self.funding_round_id = funding_round_id
        self.site_id = site_id
        self.model = model
        self.quantity = quantity
        self.unit_price = unit_price
        self.currency = currency
        self.placed_at = placed_at
        self.supplier = supplier
        self.delivered = 0
        self.commissioned = 0

    @staticmethod
    def check_terms(*, quantity: object, unit_price: object, currency: object) -> tuple[int, Decimal, str]:
        currency = check_currency(currency)
        return (positive_int(quantity, field="quantity"),
                check_amount(unit_price, currency, field="unit_price"), currency)

    @property
    def total(self) -> Decimal:
        return quantize(self.unit_price * self.quantity, self.currency)

    def deliver(self, *, quantity: object, delivered_at: object) -> None:
        quantity = positive_int(quantity, field="quantity")
        when = check_utc(delivered_at, field="delivered_at")
        if self.delivered + quantity > self.quantity:
            raise ExceedsOrdered(
                f"quantity: delivering {quantity} would exceed the {self.quantity} ordered "
                f"({self.delivered} already delivered)", field="quantity")
        self._delivered(quantity, when)

    class Delivered(Aggregate.Event):
        TOPIC = "ledger:SupplyOrder.Delivered"
        quantity: int
        delivered_at: datetime

    @event(Delivered)
    def _delivered(self, quantity: int, delivered_at: datetime) -> None:
        self.delivered += quantity

    def commission(self, *, quantity: object, commissioned_at: object) -> tuple[int, datetime]:
        quantity = positive_int(quantity, field="quantity")
        when = check_utc(commissioned_at, field="commissioned_at")
        if self.commissioned + quantity > self.delivered:
            raise ExceedsOrdered(
                f"quantity: commissioning {quantity} would exceed the {self.delivered} delivered "
                f"({self.commissioned} already commissioned)", field="quantity")
        self._commissioned(quantity, when)
        return quantity, when

    class Commissioned(Aggregate.Event):
        TOPIC = "ledger:SupplyOrder.Commissioned"
        quantity: int
        commissioned_at: datetime

    @event(Commissioned)
    def _commissioned(self, quantity: int, commissioned_at: datetime) -> None:
        self.commissioned += quantity
