"""Usage: per-hour metering inside the window, <= reserved GPUs, once per hour, retries harmless."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from domain import Ledger, UsageRecord
from domain.errors import DuplicateUsage, InvalidInput, NotFound, NotOnTheHour, UsageOutsideReservation
from tests.builders import Fleet, SimClock, fleet, hour, refused, reserve


@pytest.fixture
def metered(memory_ledger: Ledger, clock: SimClock) -> tuple[Fleet, object]:
    """A 4-GPU reservation for hours [2, 6), with the clock at hour 10."""
    f = fleet(memory_ledger, gpus=8)
    reservation = reserve(f, 4, 2, 6)
    clock.set(hour(10))
    return f, reservation


def usage(reservation: object, at: int, gpu_hours: object, record_id: object = None) -> dict[str, object]:
    return {"record_id": record_id or uuid4(), "reservation_id": reservation, "hour": hour(at), "gpu_hours": gpu_hours}


def test_usage_inside_the_window_is_recorded(memory_ledger: Ledger, metered: tuple[Fleet, object]) -> None:
    _, reservation = metered
    receipt = memory_ledger.record_usage([usage(reservation, 2, "4"), usage(reservation, 3, "1.5"),
                                          UsageRecord(uuid4(), reservation, hour(5), Decimal("0"))])  # type: ignore[arg-type]
    assert (receipt.recorded, receipt.duplicates) == (3, 0)
    assert receipt.position == memory_ledger.max_position()
    assert memory_ledger.get_reservation(reservation).gpu_hours_used == Decimal("5.5")


@pytest.mark.parametrize("at", [1, 6, 7])
def test_usage_outside_the_window_is_refused(memory_ledger: Ledger, metered: tuple[Fleet, object], at: int) -> None:
    _, reservation = metered
    with refused(memory_ledger, UsageOutsideReservation, "hour"):
        memory_ledger.record_usage([usage(reservation, at, "1")])


def test_usage_above_the_reserved_gpus_is_refused(memory_ledger: Ledger, metered: tuple[Fleet, object]) -> None:
    _, reservation = metered
    with refused(memory_ledger, UsageOutsideReservation, "gpu_hours"):
        memory_ledger.record_usage([usage(reservation, 2, "4.000001")])


def test_usage_for_an_hour_not_yet_ended_is_refused(memory_ledger: Ledger, clock: SimClock) -> None:
    f = fleet(memory_ledger, gpus=8)
    reservation = reserve(f, 4, 2, 6)
    clock.set(hour(3) + timedelta(minutes=59))
    with refused(memory_ledger, UsageOutsideReservation, "hour"):
        memory_ledger.record_usage([usage(reservation, 3, "1")])
    memory_ledger.record_usage([usage(reservation, 2, "1")])
    clock.set(hour(4))
    memory_ledger.record_usage([usage(reservation, 3, "1")])


def test_a_second_record_for_the_same_hour_is_refused(memory_ledger: Ledger, metered: tuple[Fleet, object]) -> None:
    _, reservation = metered
    memory_ledger.record_usage([usage(reservation, 2, "4")])
    with refused(memory_ledger, DuplicateUsage, "hour"):
        memory_ledger.record_usage([usage(reservation, 2, "3")])
    with refused(memory_ledger, DuplicateUsage, "hour"):  # within one batch too
        memory_ledger.record_usage([usage(reservation, 3, "1"), usage(reservation, 3, "1")])


def test_a_retried_record_is_a_no_op(memory_ledger: Ledger, metered: tuple[Fleet, object]) -> None:
    _, reservation = metered
    record = usage(reservation, 2, "3.25")
    memory_ledger.record_usage([record])
    before = memory_ledger.max_position()
    receipt = memory_ledger.record_usage([{**record, "gpu_hours": "3.250"}])
    assert (receipt.recorded, receipt.duplicates, receipt.position) == (0, 1, None)
    assert memory_ledger.max_position() == before
    with refused(memory_ledger, DuplicateUsage, "hour"):  # same id, other amount: not a retry
        memory_ledger.record_usage([{**record, "gpu_hours": "3"}])
    assert memory_ledger.get_reservation(reservation).gpu_hours_used == Decimal("3.25")


def test_a_batch_is_all_or_nothing_and_names_the_bad_record(memory_ledger: Ledger,
                                                            metered: tuple[Fleet, object]) -> None:
    _, reservation = metered
    with refused(memory_ledger, UsageOutsideReservation, "records[1].gpu_hours"):
        memory_ledger.record_usage([usage(reservation, 2, "1"), usage(reservation, 3, "5")])
    assert memory_ledger.get_reservation(reservation).usage == {}


@pytest.mark.parametrize(("record", "error", "field"), [
    ({"gpu_hours": "-1"}, InvalidInput, "gpu_hours"),
    ({"gpu_hours": 1.0}, InvalidInput, "gpu_hours"),
    ({"gpu_hours": True}, InvalidInput, "gpu_hours"),
    ({"gpu_hours": "0.0000001"}, InvalidInput, "gpu_hours"),
    ({"hour": hour(2) + timedelta(minutes=1)}, NotOnTheHour, "hour"),
    ({"hour": datetime(2026, 1, 1, 2)}, InvalidInput, "hour"),
    ({"reservation_id": "00000000-0000-0000-0000-00000000beef"}, NotFound, "reservation_id"),
    ({"reservation_id": "nope"}, InvalidInput, "reservation_id"),
    ({"record_id": None}, InvalidInput, "record_id"),
])
def test_bad_records_are_refused(memory_ledger: Ledger, metered: tuple[Fleet, object], record: dict[str, object],
                                 error: type[Exception], field: str) -> None:
    _, reservation = metered
    with refused(memory_ledger, error, field):  # type: ignore[arg-type]
        memory_ledger.record_usage([{**usage(reservation, 2, "1"), **record}])


def test_an_empty_batch_is_refused(memory_ledger: Ledger) -> None:
    with refused(memory_ledger, InvalidInput, "records"):
        memory_ledger.record_usage([])


def test_usage_in_hours_released_by_a_cancellation_is_refused(memory_ledger: Ledger, clock: SimClock) -> None:
    f = fleet(memory_ledger, gpus=8)
    reservation = reserve(f, 4, 2, 6)
    clock.set(hour(3) + timedelta(minutes=10))
    memory_ledger.cancel_reservation(reservation)  # keeps hours 2 and 3
    clock.set(hour(10))
    memory_ledger.record_usage([usage(reservation, 3, "4")])
    with refused(memory_ledger, UsageOutsideReservation, "hour"):
        memory_ledger.record_usage([usage(reservation, 4, "1")])
