"""The service's one retry loop: a unit of work runs until its save wins, at most
``max_attempts`` times, then ConcurrencyConflict with nothing recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError
from hypothesis import given
from hypothesis import strategies as st

from bootstrap import open_ledger
from domain import Ledger
from domain.errors import ConcurrencyConflict
from tests.builders import SimClock, fleet, hour, reserve


@given(max_attempts=st.integers(1, 6), failures=st.integers(0, 8))
def test_a_unit_is_retried_up_to_max_attempts(max_attempts: int, failures: int) -> None:
    ledger = Ledger.open(clock=SimClock())
    ledger.max_attempts = max_attempts
    reloads: list[bool] = []  # per attempt: is it a retry (the cache is bypassed)?

    def unit() -> str:
        reloads.append(bool(getattr(ledger._local, "retrying", False)))
        if len(reloads) <= failures:
            raise IntegrityError("another writer won")
        return "done"

    try:
        if failures < max_attempts:
            assert ledger._retrying(unit) == "done"
            assert len(reloads) == failures + 1
        else:
            with pytest.raises(ConcurrencyConflict, match=f"gave up after {max_attempts} "):
                ledger._retrying(unit)
            assert len(reloads) == max_attempts
        assert reloads == [False] + [True] * (len(reloads) - 1)
        assert not getattr(ledger._local, "retrying", False)
    finally:
        ledger.close()


def test_an_error_other_than_a_lost_race_is_not_retried(memory_ledger: Ledger) -> None:
    calls: list[int] = []

    def unit() -> None:
        calls.append(1)
        raise ValueError("a bug, not a race")

    with pytest.raises(ValueError):
        memory_ledger._retrying(unit)
    assert len(calls) == 1


def always_losing(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make every save of ``ledger`` lose its race; returns the list of save attempts."""
    attempts: list[int] = []

    def save(*aggregates: Any, **kwargs: Any) -> Any:
        attempts.append(len(aggregates))
        raise IntegrityError("another writer won")

    monkeypatch.setattr(ledger, "save", save)
    return attempts


@pytest.mark.parametrize(("command", "events"), [
    (lambda f: f.ledger.suspend_tenant(f.tenant_id, reason="arrears"), 1),
    (lambda f: reserve(f, 2, 1, 3), 2),
    (lambda f: f.ledger.decommission(site_id=f.site_id, model=f.model, quantity=1, at=hour(1), reason="failed"), 1),
], ids=["tenant", "pool and reservation", "pool"])
def test_a_command_that_always_loses_gives_up_and_records_nothing(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch, command: Callable[[Any], object], events: int) -> None:
    ledger = open_ledger(sqlite_url, clock=SimClock())
    try:
        f = fleet(ledger, gpus=8)
        ledger.max_attempts = 3
        before = ledger.max_position()
        pool_version = ledger.get_pool(f.site_id, f.model).version
        with monkeypatch.context() as patch:
            attempts = always_losing(ledger, patch)
            with pytest.raises(ConcurrencyConflict):
                command(f)
        assert len(attempts) == 3
        assert ledger.max_position() == before
        # Nothing of the lost attempts stays behind, in the store or in the cache: the same
        # command then succeeds from the state before them, recording only its own events.
        assert not ledger.get_tenant(f.tenant_id).suspended
        pool = ledger.get_pool(f.site_id, f.model, for_update=True)
        assert pool.version == pool_version
        assert pool.free_gpus(hour(0), hour(10)) == 8
        ledger.max_attempts = 1
        command(f)
        assert ledger.max_position() == before + events
    finally:
        ledger.close()


def test_a_retry_reloads_what_another_process_wrote(tmp_path: Any) -> None:
    """Two ledgers on one store, as two API processes: the first attempt starts from a stale
    cached copy and loses; the retry reloads from the store and wins. With one attempt only,
    the stale copy's loss is reported as ConcurrencyConflict."""
    url = str(tmp_path / "ledger.db")
    clock = SimClock()
    mine, theirs = open_ledger(url, clock=clock), open_ledger(url, clock=clock)
    try:
        f = fleet(mine, gpus=8)
        reservation_id = reserve(f, 1, 1, 3)
        mine.get_reservation(reservation_id)  # cached here
        theirs.extend_reservation(reservation_id, end=hour(4))  # ... and now stale
        before = mine.max_position()
        mine.max_attempts = 1
        with pytest.raises(ConcurrencyConflict):
            mine.extend_reservation(reservation_id, end=hour(5))
        assert mine.max_position() == before
        mine.max_attempts = 2
        theirs.extend_reservation(reservation_id, end=hour(5))
        mine.extend_reservation(reservation_id, end=hour(6))
        assert theirs.get_reservation(reservation_id).end == hour(6)
        assert theirs.get_pool(f.site_id, f.model).free_gpus(hour(1), hour(6)) == 7
    finally:
        mine.close()
        theirs.close()
