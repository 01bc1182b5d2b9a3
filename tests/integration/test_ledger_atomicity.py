"""A command that changes several aggregates writes all of them or none (one transaction)."""

from __future__ import annotations

import pytest

from bootstrap import open_ledger
from domain.errors import ConcurrencyConflict
from tests.builders import SimClock, fleet, hour, reserve


def test_a_reservation_whose_save_fails_leaves_the_pool_unbooked(database_url: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Confirming saves the pool's booking and the new reservation together. Reusing an existing
    reservation's id makes the reservation's insert fail *after* the pool's event was written in
    the same transaction: the store must roll the booking back."""
    ledger = open_ledger(database_url, clock=SimClock())
    try:
        f = fleet(ledger, gpus=8)
        existing = reserve(f, 1, 1, 2)
        before = ledger.max_position()
        pool_before = ledger.get_pool(f.site_id, f.model)
        ledger.max_attempts = 2  # the clash is permanent; don't spin
        # The service refuses a known id up front (a plain Conflict); hide it, so that the clash
        # happens inside the store's transaction, after the pool's event was written.
        monkeypatch.setattr(type(ledger.repository), "__contains__", lambda self, item: False)
        with pytest.raises(ConcurrencyConflict):
            reserve(f, 5, 3, 4, reservation_id=existing)
        assert ledger.max_position() == before
        fresh = open_ledger(database_url, clock=SimClock())
        try:
            pool_after = fresh.get_pool(f.site_id, f.model)
            assert pool_after.version == pool_before.version
            assert pool_after.booked == pool_before.booked
            assert pool_after.free_gpus(hour(3), hour(4)) == 8
            assert fresh.get_reservation(existing).gpus == 1
        finally:
            fresh.close()
    finally:
        ledger.close()
