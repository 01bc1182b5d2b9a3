"""The injected cross-process command lock and the backoff between attempts (in-process store;
the PostgreSQL lock itself: tests/integration/test_advisory_pool_lock.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from domain import Ledger
from domain.aggregates import pool_id
from domain.errors import ConcurrencyConflict
from tests.builders import SimClock, fleet, hour, reserve


class RecordingLock:
    """A CommandLock that records what it was asked to hold, and when."""

    def __init__(self, events: list[Any]) -> None:
        self.events = events
        self.closed = False

    @contextmanager
    def hold(self, key: UUID) -> Iterator[None]:
        self.events.append(("hold", key))
        try:
            yield
        finally:
            self.events.append(("release", key))

    def close(self) -> None:
        self.closed = True


def test_every_pool_command_holds_the_pool_lock_around_its_save() -> None:
    events: list[Any] = []
    lock = RecordingLock(events)
    ledger = Ledger.open(clock=SimClock(), command_lock=lock)
    try:
        f = fleet(ledger, gpus=8)
        pool = pool_id(f.site_id, f.model)
        save = ledger.save

        def recording_save(*aggregates: Any, **kwargs: Any) -> Any:
            events.append(("save", tuple(type(a).__name__ for a in aggregates)))
            return save(*aggregates, **kwargs)

        ledger.save = recording_save  # type: ignore[method-assign]
        events.clear()
        rid = reserve(f, 2, 1, 3)
        ledger.extend_reservation(rid, end=hour(4))
        ledger.cancel_reservation(rid)
        ledger.decommission(site_id=f.site_id, model=f.model, quantity=1, at=hour(50), reason="failed")
        assert events == [("hold", pool), ("save", ("GpuPool", "Reservation")), ("release", pool)] * 3 + [
            ("hold", pool), ("save", ("GpuPool",)), ("release", pool)]
        events.clear()
        ledger.suspend_tenant(f.tenant_id, reason="arrears")  # not a pool command: no lock
        assert [e[0] for e in events] == ["save"]
    finally:
        ledger.close()
    assert lock.closed


def test_commission_holds_the_lock_of_the_orders_pool() -> None:
    events: list[Any] = []
    ledger = Ledger.open(clock=SimClock(), command_lock=RecordingLock(events))
    try:
        f = fleet(ledger, gpus=8)  # commissions all 8 of its order
        assert ("hold", pool_id(f.site_id, f.model)) in events
    finally:
        ledger.close()


def test_a_retry_backs_off_with_jitter_and_without_the_lock() -> None:
    events: list[Any] = []
    ledger = Ledger.open(clock=SimClock(), command_lock=RecordingLock(events))
    ledger._sleep = lambda seconds: events.append(("sleep", seconds))
    key = UUID(int=7)
    attempts = [0]

    def unit() -> str:
        attempts[0] += 1
        if attempts[0] < 10:
            raise IntegrityError("another writer won")
        return "done"

    try:
        assert ledger._retrying(unit, pool=key) == "done"
    finally:
        ledger.close()
    sleeps = [e[1] for e in events if e[0] == "sleep"]
    assert len(sleeps) == 8  # none before the first retry: it reloads a stale cached copy
    for n, seconds in enumerate(sleeps):
        ceiling = min(0.050, 0.001 * 2 ** n)
        assert ceiling / 2 <= seconds <= ceiling
    # every attempt takes and releases the lock; no sleep happens while it is held
    held = False
    for event in events:
        if event[0] == "hold":
            assert not held
            held = True
        elif event[0] == "release":
            held = False
        else:
            assert not held, "slept while holding the pool lock"
    assert [e[0] for e in events].count("hold") == 10


def test_give_up_after_max_attempts_even_with_the_lock() -> None:
    ledger = Ledger.open(clock=SimClock(), command_lock=RecordingLock([]))
    ledger._sleep = lambda seconds: None
    ledger.max_attempts = 4

    def unit() -> None:
        raise IntegrityError("another writer won")

    try:
        with pytest.raises(ConcurrencyConflict, match="gave up after 4 "):
            ledger._retrying(unit, pool=UUID(int=1))
    finally:
        ledger.close()


def test_a_lock_refusal_is_not_retried() -> None:
    class BusyLock(RecordingLock):
        @contextmanager
        def hold(self, key: UUID) -> Iterator[None]:
            self.events.append(("hold", key))
            raise ConcurrencyConflict("pool busy")
            yield

    events: list[Any] = []
    ledger = Ledger.open(clock=SimClock(), command_lock=BusyLock(events))
    try:
        with pytest.raises(ConcurrencyConflict, match="pool busy"):
            ledger._retrying(lambda: None, pool=UUID(int=1))
    finally:
        ledger.close()
    assert len(events) == 1


def test_one_pool_lock_at_a_time_per_thread() -> None:
    ledger = Ledger.open(clock=SimClock())
    try:
        same = ledger._retrying(lambda: ledger._retrying(lambda: "nested", pool=UUID(int=1)), pool=UUID(int=1))
        assert same == "nested"
        with pytest.raises(RuntimeError, match="may not also lock"):
            ledger._retrying(lambda: ledger._retrying(lambda: None, pool=UUID(int=2)), pool=UUID(int=1))
        assert ledger._retrying(lambda: "free again", pool=UUID(int=2)) == "free again"
    finally:
        ledger.close()


def test_use_command_lock_replaces_and_closes_the_previous_one() -> None:
    first, second = RecordingLock([]), RecordingLock([])
    ledger = Ledger.open(clock=SimClock(), command_lock=first)
    ledger.use_command_lock(second)
    assert first.closed and not second.closed
    ledger.use_command_lock(None)
    assert second.closed
    ledger.close()
