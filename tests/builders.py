"""Test helpers: a clock the tests move by hand, and a funded, commissioned pool in one call.

Used by the unit, property and integration layers so that each test states only what it is
about. Every id is random, so tests never collide on a shared database.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from domain import Ledger
from domain.errors import LedgerError

UTC = UTC
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def hour(n: int) -> datetime:
    """The whole hour ``n`` hours after T0 (2026-01-01T00:00Z)."""
    return T0 + timedelta(hours=n)


class SimClock:
    """A clock that only moves when told to, and only forward."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        assert delta >= timedelta(0), "the simulated clock never goes back"
        self.now += delta

    def set(self, moment: datetime) -> None:
        assert moment >= self.now, "the simulated clock never goes back"
        self.now = moment


@dataclass
class Fleet:
    """A site with ``gpus`` commissioned GPUs of ``model`` (from T0), a funded round that paid
    for them, and a tenant with a plan for the model."""

    ledger: Ledger
    site_id: UUID
    round_id: UUID
    order_id: UUID
    tenant_id: UUID
    model: str
    gpus: int


def register_site(ledger: Ledger, name: str = "Stargate UK") -> UUID:
    return ledger.register_site(name=name, country="GB", grid_intensity_g_per_kwh="124", pue="1.2",
                                carbon_free_share="0.6", effective_from=T0).id


def funded_round(ledger: Ledger, amount: str = "10000000", currency: str = "USD") -> UUID:
    round_id = ledger.open_funding_round(name="Series B", currency=currency, opened_at=T0).id
    ledger.record_commitment(round_id, investor="Fund A", amount=amount, currency=currency, equity_percent="10")
    ledger.record_tranche(round_id, investor="Fund A", amount=amount, currency=currency, received_at=T0)
    return round_id


def register_tenant(ledger: Ledger, *, model: str = "H100-SXM", rate: str = "2.50", currency: str = "USD",
                    fee_share: str = "0.25", name: str = "Lab") -> UUID:
    return ledger.register_tenant(name=name, billing_currency=currency, rates={model: rate},
                                  cancellation_fee_share=fee_share).id


def fleet(ledger: Ledger, *, gpus: int = 8, model: str = "H100-SXM", unit_price: str = "25000",
          rate: str = "2.50", fee_share: str = "0.25") -> Fleet:
    site_id = register_site(ledger)
    round_id = funded_round(ledger)
    order_id = ledger.place_supply_order(funding_round_id=round_id, site_id=site_id, model=model, quantity=gpus,
                                         unit_price=unit_price, currency="USD", placed_at=T0).id
    ledger.record_delivery(order_id, quantity=gpus, delivered_at=T0)
    ledger.commission(order_id, quantity=gpus, commissioned_at=T0)
    tenant_id = register_tenant(ledger, model=model, rate=rate, fee_share=fee_share)
    return Fleet(ledger, site_id, round_id, order_id, tenant_id, model, gpus)


def reserve(f: Fleet, gpus: int, start: int, end: int, **kwargs: object) -> UUID:
    """Confirm a reservation of ``gpus`` for hours [start, end) after T0."""
    return f.ledger.confirm_reservation(tenant_id=f.tenant_id, site_id=f.site_id, model=f.model, gpus=gpus,
                                        start=hour(start), end=hour(end), **kwargs).id


@contextlib.contextmanager
def refused(ledger: Ledger, error: type[LedgerError], field: str | None = None) -> Iterator[None]:
    """Assert the block raises ``error`` naming ``field`` in its message and records nothing."""
    before = ledger.max_position()
    with pytest.raises(error) as caught:
        yield
    assert ledger.max_position() == before, "a refused command recorded events"
    if field is not None:
        assert field in caught.value.message, f"message {caught.value.message!r} does not name {field!r}"
        assert caught.value.field is not None and field in caught.value.field


def money(value: str) -> Decimal:
    return Decimal(value)
