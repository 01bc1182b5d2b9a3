"""The ledger against a simple model, driven by hypothesis through random command sequences.

A ``RuleBasedStateMachine`` sends supply orders, tranches, deliveries, commissioning,
decommissioning, reservations, extensions, cancellations and usage to the real ``Ledger``
(in-process store, a simulated clock that only moves forward) and to a dictionary model that
knows the rules in the plainest possible form. Each rule asserts that the ledger accepted or
refused the command exactly as the model predicts (a refusal records nothing); after every step
the invariants below are checked against the model and against the aggregates.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import project_aggregate
from hypothesis import currently_in_test_context, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from bootstrap import open_ledger
from domain import Ledger
from domain.aggregates import GpuPool
from domain.errors import (
    DuplicateUsage,
    ExceedsOrdered,
    InsufficientCapacity,
    InsufficientFunds,
    InvalidInput,
    InvalidTransition,
    LedgerError,
    NotFound,
    UsageOutsideReservation,
)
from domain.money import quantize
from domain.timeutil import hour_index, hour_index_ceil, hour_start
from tests.builders import T0, SimClock, hour, register_site

MODEL = "H100-SXM"
RATE = Decimal("2.35")
FEE_SHARE = Decimal("0.3")
COMMITTED = Decimal("2000000")
H0 = hour_index(T0)


@dataclass
class OrderModel:
    quantity: int
    total: Decimal
    delivered: int = 0
    commissioned: int = 0


@dataclass
class ReservationModel:
    gpus: int
    start: int  # hour index
    end: int  # hour index, exclusive
    cancelled: bool = False
    fee: Decimal = Decimal(0)
    usage: dict[int, tuple[UUID, Decimal]] = field(default_factory=dict)


@dataclass
class LedgerModel:
    """The rules in their plainest form: per-hour dictionaries and running sums."""

    received: Decimal = Decimal(0)
    orders: dict[UUID, OrderModel] = field(default_factory=dict)
    in_service_changes: dict[int, int] = field(default_factory=dict)  # hour index -> delta
    booked: dict[int, int] = field(default_factory=dict)  # hour index -> GPUs booked
    reservations: dict[UUID, ReservationModel] = field(default_factory=dict)

    @property
    def capex(self) -> Decimal:
        return sum((o.total for o in self.orders.values()), Decimal(0))

    @property
    def pool_exists(self) -> bool:
        return any(o.commissioned for o in self.orders.values())

    def in_service(self, hour_: int) -> int:
        return sum(delta for h, delta in self.in_service_changes.items() if h <= hour_)

    def free(self, start: int, end: int) -> int:
        return min(self.in_service(h) - self.booked.get(h, 0) for h in range(start, end))

    def book(self, start: int, end: int, gpus: int) -> None:
        for h in range(start, end):
            self.booked[h] = self.booked.get(h, 0) + gpus

    def release(self, start: int, end: int, gpus: int) -> None:
        for h in range(start, end):
            self.booked[h] -= gpus
            if not self.booked[h]:
                del self.booked[h]

    def decommission_refusal(self, quantity: int, start: int) -> type[LedgerError] | None:
        last = max([start, *self.in_service_changes, *self.booked]) + 1
        for h in range(start, last + 1):
            in_service = self.in_service(h)
            if in_service - quantity < 0:
                return InvalidInput
            if self.booked.get(h, 0) > in_service - quantity:
                return InsufficientCapacity
        return None


# ---- invariants, as functions so that a test can show each one failing ---------------------------


def check_never_overbooked(model: LedgerModel, pool: GpuPool | None) -> None:
    for h, gpus in model.booked.items():
        assert gpus <= model.in_service(h), f"model overbooked at {hour_start(h)}: {gpus} > {model.in_service(h)}"
    if pool is not None:
        for h, gpus in pool.booked.items():
            in_service = pool.in_service_at(h)
            assert gpus <= in_service, f"pool overbooked at {hour_start(h)}: {gpus} > {in_service}"
        assert pool.booked == model.booked
        assert {h: d for h, d in pool.in_service_changes.items() if d} == \
               {h: d for h, d in model.in_service_changes.items() if d}


def check_gpu_hours_conserve(ledger: Ledger, model: LedgerModel, pool: GpuPool | None) -> None:
    pool_hours = sum(pool.booked.values()) if pool is not None else 0
    reservation_hours = sum(ledger.get_reservation(r).gpu_hours_booked for r in model.reservations)
    model_hours = sum(r.gpus * (r.end - r.start) for r in model.reservations.values())
    assert pool_hours == reservation_hours == model_hours


def check_money_conserves(ledger: Ledger, model: LedgerModel, round_id: UUID) -> None:
    funding = ledger.get_funding_round(round_id)
    order_totals = sum((ledger.get_supply_order(o).total for o in model.orders), Decimal(0))
    assert funding.total_capex_committed == order_totals == model.capex
    assert funding.total_capex_committed <= funding.total_received == model.received
    assert funding.total_received <= funding.total_committed
    for order_id, expected in model.orders.items():
        order = ledger.get_supply_order(order_id)
        assert order.commissioned <= order.delivered <= order.quantity
        assert (order.quantity, order.delivered, order.commissioned) == \
               (expected.quantity, expected.delivered, expected.commissioned)


def state_of(aggregate: object) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def check_reloads_equal_live(ledger: Ledger, ids: list[UUID]) -> None:
    for aggregate_id in ids:
        live = ledger.repository.get(aggregate_id)  # from the cache, fast-forwarded
        replayed = project_aggregate(None, ledger.events.get(aggregate_id))
        assert replayed is not None
        assert state_of(replayed) == state_of(live), f"{type(live).__name__} {aggregate_id} differs when replayed"


# ---- the machine --------------------------------------------------------------------------------

hours = st.integers(min_value=0, max_value=48)  # from T0
indices = st.integers(min_value=0, max_value=1_000)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = SimClock()
        self.ledger = open_ledger("memory:", clock=self.clock)
        self.model = LedgerModel()

    @initialize()
    def set_up(self) -> None:
        self.site_id = register_site(self.ledger)
        self.round_id = self.ledger.open_funding_round(name="Series A", currency="USD", opened_at=T0).id
        self.ledger.record_commitment(self.round_id, investor="Fund A", amount=COMMITTED, currency="USD",
                                      equity_percent="15")
        self.tenant_id = self.ledger.register_tenant(name="Lab", billing_currency="USD", rates={MODEL: RATE},
                                                     cancellation_fee_share=FEE_SHARE).id
        # A running start (through the rules, so the model follows): 10 GPUs ordered and
        # delivered, 8 in service from 6 hours before T0. Random steps then grow, shrink and
        # book the pool.
        self.receive_tranche(Decimal("900000"))
        self.place_order(quantity=10, unit_price=Decimal("25000"))
        self.deliver(index=0, quantity=10)
        self.commission(index=0, quantity=8, at=-6, late=False)

    # -- helpers

    def expect(self, refusal: type[LedgerError] | None, command: Any) -> Any:
        """Run ``command``; assert it succeeds, or fails with exactly ``refusal`` recording nothing."""
        before = self.ledger.max_position()
        if currently_in_test_context():  # statistics: --hypothesis-show-statistics
            event(f"{sys._getframe(1).f_code.co_name}: {refusal.__name__ if refusal else 'accepted'}")
        if refusal is None:
            result = command()
            position = getattr(result, "position", None)
            assert position is None or position == self.ledger.max_position()
            return result
        with pytest.raises(LedgerError) as caught:
            command()
        assert type(caught.value) is refusal, f"expected {refusal.__name__}, got {caught.value!r}"
        assert self.ledger.max_position() == before, "a refused command recorded events"
        return None

    def pool(self) -> GpuPool | None:
        return self.ledger.get_pool(self.site_id, MODEL) if self.model.pool_exists else None

    @property
    def now_index(self) -> int:
        return hour_index(self.clock())

    # -- money and supply

    @rule(amount=st.sampled_from([Decimal("50000"), Decimal("200000.50"), Decimal("900000")]))
    def receive_tranche(self, amount: Decimal) -> None:
        refusal = InsufficientFunds if self.model.received + amount > COMMITTED else None
        if self.expect(refusal, lambda: self.ledger.record_tranche(
                self.round_id, investor="Fund A", amount=amount, currency="USD", received_at=self.clock())):
            self.model.received += amount

    @rule(quantity=st.integers(1, 6), unit_price=st.sampled_from([Decimal("25000"), Decimal("31000.55")]))
    def place_order(self, quantity: int, unit_price: Decimal) -> None:
        total = quantize(unit_price * quantity, "USD")
        refusal = InsufficientFunds if self.model.capex + total > self.model.received else None
        written = self.expect(refusal, lambda: self.ledger.place_supply_order(
            funding_round_id=self.round_id, site_id=self.site_id, model=MODEL, quantity=quantity,
            unit_price=unit_price, currency="USD", placed_at=self.clock()))
        if written:
            self.model.orders[written.id] = OrderModel(quantity, total)

    @precondition(lambda self: self.model.orders)
    @rule(index=indices, quantity=st.integers(1, 6))
    def deliver(self, index: int, quantity: int) -> None:
        order_id, order = list(self.model.orders.items())[index % len(self.model.orders)]
        refusal = ExceedsOrdered if order.delivered + quantity > order.quantity else None
        if self.expect(refusal, lambda: self.ledger.record_delivery(order_id, quantity=quantity,
                                                                    delivered_at=self.clock())):
            order.delivered += quantity

    @precondition(lambda self: self.model.orders)
    @rule(index=indices, quantity=st.integers(1, 6), at=hours, late=st.booleans())
    def commission(self, index: int, quantity: int, at: int, late: bool) -> None:
        order_id, order = list(self.model.orders.items())[index % len(self.model.orders)]
        moment = hour(at) + (timedelta(minutes=20) if late else timedelta(0))
        refusal = ExceedsOrdered if order.commissioned + quantity > order.delivered else None
        if self.expect(refusal, lambda: self.ledger.commission(order_id, quantity=quantity, commissioned_at=moment)):
            order.commissioned += quantity
            h = hour_index_ceil(moment)
            self.model.in_service_changes[h] = self.model.in_service_changes.get(h, 0) + quantity

    @rule(quantity=st.integers(1, 3), at=hours)
    def decommission(self, quantity: int, at: int) -> None:
        start = hour_index(hour(at))
        if not self.model.pool_exists:
            refusal: type[LedgerError] | None = NotFound
        else:
            refusal = self.model.decommission_refusal(quantity, start)
        if self.expect(refusal, lambda: self.ledger.decommission(site_id=self.site_id, model=MODEL,
                                                                 quantity=quantity, at=hour(at), reason="failed")):
            self.model.in_service_changes[start] = self.model.in_service_changes.get(start, 0) - quantity

    # -- capacity out

    @rule(gpus=st.integers(1, 6), start=st.integers(-3, 12), length=st.integers(1, 12), backfill=st.booleans())
    def reserve(self, gpus: int, start: int, length: int, backfill: bool = False) -> None:
        """Book ``gpus`` for ``length`` hours starting ``start`` hours from the current hour; a
        start that has passed is refused unless ``backfill``."""
        first = self.now_index + start
        last = first + length
        ok = self.model.pool_exists and self.model.free(first, last) >= gpus
        refusal = (InvalidInput if hour_start(first) < self.clock() and not backfill
                   else None if ok else InsufficientCapacity)
        written = self.expect(refusal, lambda: self.ledger.confirm_reservation(
            tenant_id=self.tenant_id, site_id=self.site_id, model=MODEL, gpus=gpus,
            start=hour_start(first), end=hour_start(last), backfill=backfill))
        if written:
            self.model.reservations[written.id] = ReservationModel(gpus, first, last)
            self.model.book(first, last, gpus)

    @precondition(lambda self: self.model.reservations)
    @rule(index=indices, extra=st.integers(1, 6))
    def extend(self, index: int, extra: int) -> None:
        reservation_id, r = list(self.model.reservations.items())[index % len(self.model.reservations)]
        new_end = r.end + extra
        if r.cancelled or hour_start(r.end) < self.clock():
            refusal: type[LedgerError] | None = InvalidTransition
        else:
            refusal = None if self.model.free(r.end, new_end) >= r.gpus else InsufficientCapacity
        if self.expect(refusal, lambda: self.ledger.extend_reservation(reservation_id, end=hour_start(new_end))):
            self.model.book(r.end, new_end, r.gpus)
            r.end = new_end

    @precondition(lambda self: self.model.reservations)
    @rule(index=indices)
    def cancel(self, index: int) -> None:
        reservation_id, r = list(self.model.reservations.items())[index % len(self.model.reservations)]
        release_from = max(r.start, hour_index_ceil(self.clock()))
        refusal = InvalidTransition if r.cancelled or release_from >= r.end else None
        if self.expect(refusal, lambda: self.ledger.cancel_reservation(reservation_id)):
            fee = quantize(FEE_SHARE * RATE * r.gpus * (r.end - release_from), "USD")
            self.model.release(release_from, r.end, r.gpus)
            r.cancelled, r.end, r.fee = True, release_from, fee
            assert self.ledger.get_reservation(reservation_id).cancellation_fee == fee

    @precondition(lambda self: self.model.reservations)
    @rule(index=indices, offset=st.integers(-1, 13), centi_gpu_hours=st.integers(0, 700), aim=st.booleans())
    def record_usage(self, index: int, offset: int, centi_gpu_hours: int, aim: bool) -> None:
        """Meter an hour of a reservation: any hour near its window, or (``aim``) the first
        ended, unmetered hour inside it with at most its GPUs, so that valid usage is common."""
        reservation_id, r = list(self.model.reservations.items())[index % len(self.model.reservations)]
        h = r.start - 1 + offset % (r.end - r.start + 2)  # the window and one hour either side
        amount = Decimal(centi_gpu_hours) / 100
        if aim:
            ended = [h for h in range(r.start, min(r.end, self.now_index)) if h not in r.usage]
            h = ended[0] if ended else h
            amount = min(amount, Decimal(r.gpus))
        elif offset < 2 and r.usage:
            h = min(r.usage)  # another record for an hour already metered
        record_id = uuid4()
        if h in r.usage:
            refusal: type[LedgerError] | None = DuplicateUsage
        elif not r.start <= h < r.end or hour_start(h + 1) > self.clock() or amount > r.gpus:
            refusal = UsageOutsideReservation
        else:
            refusal = None
        receipt = self.expect(refusal, lambda: self.ledger.record_usage(
            [{"record_id": record_id, "reservation_id": reservation_id, "hour": hour_start(h), "gpu_hours": amount}]))
        if receipt:
            assert (receipt.recorded, receipt.duplicates) == (1, 0)
            r.usage[h] = (record_id, amount)

    @precondition(lambda self: any(r.usage for r in self.model.reservations.values()))
    @rule(index=indices)
    def retry_usage(self, index: int) -> None:
        metered = [(rid, h, u) for rid, r in self.model.reservations.items() for h, u in r.usage.items()]
        reservation_id, h, (record_id, amount) = metered[index % len(metered)]
        before = self.ledger.max_position()
        receipt = self.ledger.record_usage([{"record_id": record_id, "reservation_id": reservation_id,
                                             "hour": hour_start(h), "gpu_hours": amount}])
        assert (receipt.recorded, receipt.duplicates, receipt.position) == (0, 1, None)
        assert self.ledger.max_position() == before

    @rule(hours_=st.integers(0, 10), minutes=st.integers(0, 59))
    def advance_clock(self, hours_: int, minutes: int) -> None:
        self.clock.advance(timedelta(hours=hours_, minutes=minutes))

    # -- invariants

    @invariant()
    def never_overbooked(self) -> None:
        check_never_overbooked(self.model, self.pool())

    @invariant()
    def gpu_hours_conserve(self) -> None:
        check_gpu_hours_conserve(self.ledger, self.model, self.pool())

    @invariant()
    def money_conserves(self) -> None:
        check_money_conserves(self.ledger, self.model, self.round_id)

    @invariant()
    def every_aggregate_replays_to_its_live_state(self) -> None:
        ids = [self.site_id, self.round_id, self.tenant_id, *self.model.orders, *self.model.reservations]
        pool = self.pool()
        if pool is not None:
            ids.append(pool.id)
        check_reloads_equal_live(self.ledger, ids)

    def teardown(self) -> None:
        self.ledger.close()


# CI (HYPOTHESIS_PROFILE=ci, a fixed seed) always runs the same examples, so it runs more of them.
LedgerMachine.TestCase.settings = settings(max_examples=60 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 30,
                                           stateful_step_count=30, deadline=None)
TestLedgerStateMachine = LedgerMachine.TestCase


# ---- the checks can fail --------------------------------------------------------------------------


def _full_pool_machine() -> LedgerMachine:
    machine = LedgerMachine()
    machine.set_up()  # 8 GPUs in service
    machine.reserve(gpus=7, start=10, length=5)  # hours 10-14 from T0
    return machine


def test_the_machine_catches_an_overbooking_if_the_pool_check_is_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    def book_without_checking(self: GpuPool, *, reservation_id: UUID, start: datetime, end: datetime,
                              gpus: int) -> None:
        self._capacity_booked(reservation_id, start, end, gpus)

    machine = _full_pool_machine()
    monkeypatch.setattr(GpuPool, "book", book_without_checking)
    # The rule notices the ledger accepting what the model refuses...
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        machine.reserve(gpus=2, start=12, length=1)
    # ...and the invariant notices the overbooked pool itself.
    with pytest.raises(AssertionError, match="pool overbooked"):
        machine.never_overbooked()
    machine.teardown()


def test_the_machine_catches_lost_gpu_hours_and_a_replay_that_differs() -> None:
    machine = _full_pool_machine()
    machine.never_overbooked()
    machine.gpu_hours_conserve()
    machine.every_aggregate_replays_to_its_live_state()
    reservation_id = next(iter(machine.model.reservations))
    machine.model.reservations[reservation_id].gpus += 1  # the model now disagrees with the ledger
    with pytest.raises(AssertionError):
        machine.gpu_hours_conserve()
    cached = machine.ledger.repository.cache.get(reservation_id)
    cached.gpus += 1  # a live aggregate that drifted from its events
    with pytest.raises(AssertionError, match="differs when replayed"):
        machine.every_aggregate_replays_to_its_live_state()
    machine.teardown()
