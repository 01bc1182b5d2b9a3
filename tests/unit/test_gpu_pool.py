"""GpuPool: for every hour, GPUs booked <= GPUs in service (bookings and decommissioning)."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import Ledger
from domain.aggregates import GpuPool
from domain.errors import InsufficientCapacity, InvalidInput, NotFound, UnknownGpuModel
from domain.timeutil import hour_index
from tests.builders import fleet, hour, refused, register_site, reserve


def free_series(pool: GpuPool, start: int, end: int) -> list[int]:
    """Free GPUs for each hour [start, end) counted from T0."""
    return pool.free_series(hour_index(hour(start)), hour_index(hour(end)))


def test_bookings_fill_a_pool_hour_by_hour(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger, gpus=8)
    reserve(f, 5, 0, 10)
    reserve(f, 3, 5, 20)
    with refused(memory_ledger, InsufficientCapacity, "gpus"):
        reserve(f, 1, 9, 10)
    reserve(f, 1, 10, 11)
    reserve(f, 5, 20, 30)
    pool = memory_ledger.get_pool(f.site_id, f.model)
    assert free_series(pool, 0, 12) == [3] * 5 + [0] * 5 + [4] + [5]
    assert pool.free_gpus(hour(0), hour(30)) == 0


def test_no_booking_before_gpus_are_in_service(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger, gpus=2)
    order = memory_ledger.place_supply_order(funding_round_id=f.round_id, site_id=f.site_id, model=f.model,
                                             quantity=2, unit_price="1", currency="USD", placed_at=hour(0)).id
    memory_ledger.record_delivery(order, quantity=2, delivered_at=hour(0))
    memory_ledger.commission(order, quantity=2, commissioned_at=hour(100))
    with refused(memory_ledger, InsufficientCapacity, "gpus"):
        reserve(f, 4, 99, 101)
    reserve(f, 4, 100, 101)


def test_decommissioning_that_would_overbook_is_refused(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger, gpus=8)
    reserve(f, 6, 10, 20)
    with refused(memory_ledger, InsufficientCapacity, "quantity"):
        memory_ledger.decommission(site_id=f.site_id, model=f.model, quantity=3, at=hour(5), reason="failed")
    with refused(memory_ledger, InsufficientCapacity, "quantity"):  # takes effect mid-reservation
        memory_ledger.decommission(site_id=f.site_id, model=f.model, quantity=3, at=hour(19), reason="failed")
    memory_ledger.decommission(site_id=f.site_id, model=f.model, quantity=2, at=hour(5), reason="failed")
    memory_ledger.decommission(site_id=f.site_id, model=f.model, quantity=6, at=hour(20), reason="retired")
    pool = memory_ledger.get_pool(f.site_id, f.model)
    assert free_series(pool, 4, 6) == [8, 6]
    assert free_series(pool, 19, 21) == [0, 0]
    assert pool.in_service_now_total == 0


def test_decommissioning_takes_effect_from_the_next_whole_hour(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger, gpus=8)
    reserve(f, 8, 10, 11)
    with refused(memory_ledger, InsufficientCapacity, "quantity"):
        memory_ledger.decommission(site_id=f.site_id, model=f.model, quantity=1,
                                   at=hour(9) + timedelta(minutes=1), reason="failed")
    memory_ledger.decommission(site_id=f.site_id, model=f.model, quantity=1,
                               at=hour(10) + timedelta(minutes=1), reason="failed")
    assert free_series(memory_ledger.get_pool(f.site_id, f.model), 10, 12) == [0, 7]


def test_decommissioning_more_than_in_service_is_refused(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger, gpus=4)
    with refused(memory_ledger, InvalidInput, "quantity"):
        memory_ledger.decommission(site_id=f.site_id, model=f.model, quantity=5, at=hour(1), reason="x")
    for bad in (0, -1, True, 1.0):
        with refused(memory_ledger, InvalidInput, "quantity"):
            memory_ledger.decommission(site_id=f.site_id, model=f.model, quantity=bad, at=hour(1), reason="x")
    with refused(memory_ledger, InvalidInput, "at"):
        memory_ledger.decommission(site_id=f.site_id, model=f.model, quantity=1, at=datetime(2026, 1, 2),
                                   reason="x")
    with refused(memory_ledger, InvalidInput, "reason"):
        memory_ledger.decommission(site_id=f.site_id, model=f.model, quantity=1, at=hour(1), reason=" ")


def test_decommissioning_a_pool_that_does_not_exist_is_not_found(memory_ledger: Ledger) -> None:
    site_id = register_site(memory_ledger)
    with refused(memory_ledger, NotFound, "site_id"):
        memory_ledger.decommission(site_id=site_id, model="B200", quantity=1, at=hour(1), reason="x")
    with refused(memory_ledger, UnknownGpuModel, "model"):
        memory_ledger.decommission(site_id=site_id, model="b200", quantity=1, at=hour(1), reason="x")
