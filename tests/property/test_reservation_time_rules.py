"""The reservation time rule, for start times around the ledger's now: without ``backfill`` a
start that has passed is refused naming ``start`` and records nothing; a start at or after now is
booked; with ``backfill`` any start is recorded, and the Confirmed event says so."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bootstrap import open_ledger
from domain.aggregates import Reservation
from domain.errors import InvalidInput
from tests.builders import T0, SimClock, fleet, refused


@settings(max_examples=60, deadline=None)
@given(now_minutes=st.integers(min_value=24 * 60, max_value=24 * 60 + 180),
       start_hours=st.integers(min_value=-6, max_value=6), backfill=st.booleans())
def test_a_past_start_needs_backfill(now_minutes: int, start_hours: int, backfill: bool) -> None:
    clock = SimClock(T0)
    ledger = open_ledger("memory:", clock=clock)
    try:
        f = fleet(ledger, gpus=4)  # in service from T0
        clock.set(T0 + timedelta(minutes=now_minutes))
        start = (clock.now + timedelta(hours=start_hours)).replace(minute=0, second=0, microsecond=0)
        book = {"tenant_id": f.tenant_id, "site_id": f.site_id, "model": f.model, "gpus": 1, "start": start,
                "end": start + timedelta(hours=3), "backfill": backfill}
        if start < clock.now and not backfill:
            with refused(ledger, InvalidInput, "start"):
                ledger.confirm_reservation(**book)
            return
        written = ledger.confirm_reservation(**book)
        reservation = ledger.get_reservation(written.id)
        assert reservation.backfill is backfill and reservation.start == start
        [confirmed] = [e for e in ledger.events.get(written.id) if isinstance(e, Reservation.Confirmed)]
        assert confirmed.backfill is backfill
    finally:
        ledger.close()


def test_backfill_must_be_a_boolean(memory_ledger: object) -> None:
    from domain import Ledger

    assert isinstance(memory_ledger, Ledger)
    f = fleet(memory_ledger)
    with refused(memory_ledger, InvalidInput, "backfill"):
        memory_ledger.confirm_reservation(tenant_id=f.tenant_id, site_id=f.site_id, model=f.model, gpus=1,
                                          start=T0 + timedelta(hours=5), end=T0 + timedelta(hours=6), backfill="yes")
