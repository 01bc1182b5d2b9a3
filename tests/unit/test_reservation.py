"""Reservation: confirmation (rate locked), extension and cancellation (fee on released hours)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import pytest

from domain import Ledger
from domain.aggregates import Reservation
from domain.errors import (
    InsufficientCapacity,
    InvalidInput,
    InvalidTransition,
    NotFound,
    NotOnTheHour,
    UnknownGpuModel,
)
from domain.timeutil import hour_index
from tests.builders import T0, SimClock, fleet, hour, refused, register_site, reserve

MISSING = "00000000-0000-0000-0000-00000000beef"


def free(ledger: Ledger, f: object, start: int, end: int) -> list[int]:
    pool = ledger.get_pool(f.site_id, f.model)  # type: ignore[attr-defined]
    return pool.free_series(hour_index(hour(start)), hour_index(hour(end)))


def test_a_confirmed_reservation_locks_the_rate_and_books_the_pool(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger, gpus=8, rate="2.75")
    written = memory_ledger.confirm_reservation(tenant_id=f.tenant_id, site_id=f.site_id, model=f.model, gpus=3,
                                                start=hour(2), end=hour(5))
    assert written.position == memory_ledger.max_position()
    reservation = memory_ledger.get_reservation(written.id)
    assert (reservation.gpus, reservation.start, reservation.end) == (3, hour(2), hour(5))
    assert reservation.rate_per_gpu_hour == Decimal("2.75")
    assert reservation.gpu_hours_booked == 9
    assert free(memory_ledger, f, 1, 6) == [8, 5, 5, 5, 8]


def test_windows_in_other_offsets_are_normalised_to_utc(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger)
    oslo = timezone(timedelta(hours=1))
    reservation = reserve(f, 1, 0, 1) and memory_ledger.confirm_reservation(
        tenant_id=f.tenant_id, site_id=f.site_id, model=f.model, gpus=1,
        start=datetime(2026, 1, 1, 3, tzinfo=oslo), end="2026-01-01T04:00:00Z").id
    assert memory_ledger.get_reservation(reservation).start == hour(2)


@pytest.mark.parametrize(("change", "error", "field"), [
    ({"start": hour(1) + timedelta(minutes=30)}, NotOnTheHour, "start"),
    ({"end": hour(5) + timedelta(seconds=1)}, NotOnTheHour, "end"),
    ({"end": hour(5) + timedelta(microseconds=1)}, NotOnTheHour, "end"),
    ({"start": datetime(2026, 1, 1, 1)}, InvalidInput, "start"),
    ({"end": datetime(2026, 1, 1, 5)}, InvalidInput, "end"),
    ({"start": "yesterday"}, InvalidInput, "start"),
    ({"end": hour(1)}, InvalidInput, "end"),
    ({"end": hour(0)}, InvalidInput, "end"),
    ({"end": hour(1 + 24 * 366 * 3 + 1)}, InvalidInput, "end"),
    ({"gpus": 0}, InvalidInput, "gpus"),
    ({"gpus": -2}, InvalidInput, "gpus"),
    ({"gpus": True}, InvalidInput, "gpus"),
    ({"gpus": 2.0}, InvalidInput, "gpus"),
    ({"gpus": "2"}, InvalidInput, "gpus"),
    ({"model": "A100"}, UnknownGpuModel, "model"),
    ({"rate_per_gpu_hour": "-1"}, InvalidInput, "rate_per_gpu_hour"),
    ({"rate_per_gpu_hour": 2.5}, InvalidInput, "rate_per_gpu_hour"),
    ({"tenant_id": MISSING}, NotFound, "tenant_id"),
    ({"site_id": MISSING}, NotFound, "site_id"),
    ({"gpus": 9}, InsufficientCapacity, "gpus"),
])
def test_bad_reservations_are_refused(memory_ledger: Ledger, change: dict[str, object], error: type[Exception],
                                      field: str) -> None:
    f = fleet(memory_ledger, gpus=8)
    args = {"tenant_id": f.tenant_id, "site_id": f.site_id, "model": f.model, "gpus": 2,
            "start": hour(1), "end": hour(5)}
    with refused(memory_ledger, error, field):  # type: ignore[arg-type]
        memory_ledger.confirm_reservation(**{**args, **change})
    assert free(memory_ledger, f, 0, 6) == [8] * 6


def test_a_site_without_that_model_has_no_capacity(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger, model="H100-SXM")
    memory_ledger.change_plan(f.tenant_id, rates={"H200": "3"}, cancellation_fee_share="0.1")
    with refused(memory_ledger, InsufficientCapacity, "gpus"):
        memory_ledger.confirm_reservation(tenant_id=f.tenant_id, site_id=f.site_id, model="H200", gpus=1,
                                          start=hour(1), end=hour(2))
    with refused(memory_ledger, NotFound, "site_id"):
        memory_ledger.confirm_reservation(tenant_id=f.tenant_id, site_id=MISSING, model="H200", gpus=1,
                                          start=hour(1), end=hour(2))
    other_site = register_site(memory_ledger, "Stargate Norway")
    with refused(memory_ledger, InsufficientCapacity, "gpus"):
        memory_ledger.confirm_reservation(tenant_id=f.tenant_id, site_id=other_site, model="H100-SXM", gpus=1,
                                          start=hour(1), end=hour(2), rate_per_gpu_hour="2")


# ---- extension ---------------------------------------------------------------------------------


def test_an_extension_books_the_added_hours(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger, gpus=8)
    reservation = reserve(f, 3, 2, 5)
    memory_ledger.extend_reservation(reservation, end=hour(8))
    assert memory_ledger.get_reservation(reservation).end == hour(8)
    assert free(memory_ledger, f, 1, 9) == [8, 5, 5, 5, 5, 5, 5, 8]


def test_an_extension_into_full_hours_is_refused_and_changes_nothing(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger, gpus=8)
    reservation = reserve(f, 3, 2, 5)
    reserve(f, 6, 6, 7)
    with refused(memory_ledger, InsufficientCapacity, "gpus"):
        memory_ledger.extend_reservation(reservation, end=hour(8))
    assert memory_ledger.get_reservation(reservation).end == hour(5)
    assert free(memory_ledger, f, 4, 8) == [5, 8, 2, 8]


def test_bad_extensions_are_refused(memory_ledger: Ledger, clock: SimClock) -> None:
    f = fleet(memory_ledger, gpus=8)
    reservation = reserve(f, 3, 2, 5)
    with refused(memory_ledger, InvalidInput, "end"):
        memory_ledger.extend_reservation(reservation, end=hour(5))
    with refused(memory_ledger, InvalidInput, "end"):
        memory_ledger.extend_reservation(reservation, end=hour(4))
    with refused(memory_ledger, NotOnTheHour, "end"):
        memory_ledger.extend_reservation(reservation, end=hour(6) + timedelta(minutes=15))
    with refused(memory_ledger, InvalidInput, "end"):
        memory_ledger.extend_reservation(reservation, end=datetime(2026, 1, 1, 9))
    with refused(memory_ledger, NotFound, "reservation_id"):
        memory_ledger.extend_reservation(MISSING, end=hour(9))
    clock.set(hour(5) + timedelta(minutes=1))
    with refused(memory_ledger, InvalidTransition):
        memory_ledger.extend_reservation(reservation, end=hour(9))


def test_a_cancelled_reservation_cannot_be_extended(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger)
    reservation = reserve(f, 1, 2, 5)
    memory_ledger.cancel_reservation(reservation)
    with refused(memory_ledger, InvalidTransition):
        memory_ledger.extend_reservation(reservation, end=hour(9))


# ---- cancellation ------------------------------------------------------------------------------


def test_cancelling_before_the_start_releases_every_hour_for_the_locked_fee(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger, gpus=8, rate="2.50", fee_share="0.25")
    reservation = reserve(f, 4, 10, 20)
    memory_ledger.change_plan(f.tenant_id, rates={f.model: "9"}, cancellation_fee_share="1")  # not retroactive
    memory_ledger.cancel_reservation(reservation)
    cancelled = memory_ledger.get_reservation(reservation)
    assert cancelled.status == "cancelled"
    assert cancelled.cancellation_fee == Decimal("0.25") * Decimal("2.50") * 4 * 10  # 25.00
    assert cancelled.gpu_hours_booked == 0
    assert free(memory_ledger, f, 9, 21) == [8] * 12


def test_cancelling_mid_reservation_releases_from_the_next_whole_hour(memory_ledger: Ledger, clock: SimClock) -> None:
    f = fleet(memory_ledger, gpus=8, rate="3.00", fee_share="0.5")
    reservation = reserve(f, 2, 2, 10)
    clock.set(hour(5) + timedelta(minutes=30))
    memory_ledger.cancel_reservation(reservation)
    cancelled = memory_ledger.get_reservation(reservation)
    assert cancelled.end == hour(6)
    assert cancelled.gpu_hours_booked == 2 * 4
    assert cancelled.cancellation_fee == Decimal("12.00")  # 0.5 x 3.00 x 2 GPUs x 4 released hours
    assert free(memory_ledger, f, 5, 7) == [6, 8]
    reserve(f, 8, 6, 10)  # the released hours can be booked again


@pytest.mark.parametrize(("rate", "expected"), [
    ("0.05", "0.02"),   # 0.025 -> 0.02 (half to even; half-up would give 0.03)
    ("0.07", "0.04"),   # 0.035 -> 0.04
    ("0.01", "0.00"),   # 0.005 -> 0.00
    ("0.03", "0.02"),   # 0.015 -> 0.02
])
def test_the_cancellation_fee_is_rounded_half_to_even(memory_ledger: Ledger, rate: str, expected: str) -> None:
    f = fleet(memory_ledger, gpus=1, rate=rate, fee_share="0.5")
    reservation = reserve(f, 1, 3, 4)
    memory_ledger.cancel_reservation(reservation)
    fee = memory_ledger.get_reservation(reservation).cancellation_fee
    assert fee == Decimal(expected) and str(fee) == expected


def test_a_yen_fee_is_rounded_to_whole_yen(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger, gpus=1)
    tenant = memory_ledger.register_tenant(name="Tokyo Lab", billing_currency="JPY", rates={f.model: "375"},
                                           cancellation_fee_share="0.5").id
    reservation = memory_ledger.confirm_reservation(tenant_id=tenant, site_id=f.site_id, model=f.model, gpus=1,
                                                    start=hour(3), end=hour(4)).id
    memory_ledger.cancel_reservation(reservation)
    assert str(memory_ledger.get_reservation(reservation).cancellation_fee) == "188"  # 187.5 -> 188


def test_cancelling_twice_or_after_the_end_is_refused(memory_ledger: Ledger, clock: SimClock) -> None:
    f = fleet(memory_ledger)
    first = reserve(f, 1, 2, 5)
    second = reserve(f, 1, 2, 5)
    memory_ledger.cancel_reservation(first)
    with refused(memory_ledger, InvalidTransition):
        memory_ledger.cancel_reservation(first)
    clock.set(hour(4) + timedelta(seconds=1))  # the last hour has begun: nothing left to release
    with refused(memory_ledger, InvalidTransition):
        memory_ledger.cancel_reservation(second)
    assert memory_ledger.get_reservation(second).status == "confirmed"
    assert clock() > T0


def test_a_caller_may_choose_the_reservation_id(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger)
    chosen = uuid4()
    assert reserve(f, 2, 1, 3, reservation_id=chosen) == chosen
    assert memory_ledger.get_reservation(chosen).gpus == 2


def test_a_chosen_reservation_id_survives_reconstruction_from_the_log(memory_ledger: Ledger) -> None:
    """The id is given to the aggregate's constructor, not stored in the Confirmed event: the
    aggregate rebuilt from its events (no cache) has the same id, and an unchosen id is new."""
    f = fleet(memory_ledger)
    chosen = uuid4()
    reserve(f, 2, 1, 3, reservation_id=chosen)
    other = reserve(f, 1, 1, 3)
    rebuilt = memory_ledger.repository.get(chosen, version=1)
    assert isinstance(rebuilt, Reservation)
    assert (rebuilt.id, rebuilt.gpus, rebuilt.start) == (chosen, 2, hour(1))
    assert other not in (chosen, f.tenant_id) and memory_ledger.get_reservation(other).id == other
