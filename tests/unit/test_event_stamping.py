"""Events carry the time of the ledger's clock: a simulated one in the demo, the wall clock by
default; aggregates changed outside a command keep the library's own stamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bootstrap import open_ledger
from domain.aggregates import Site
from tests.builders import T0, SimClock, fleet, reserve


def stamps(ledger: object) -> list[datetime]:
    recorder, mapper = ledger.recorder, ledger.mapper  # type: ignore[attr-defined]
    return [mapper.to_domain_event(n).timestamp for n in recorder.select_notifications(1, 1000)]


def test_every_event_of_a_command_carries_the_ledgers_clock() -> None:
    clock = SimClock(datetime(2030, 5, 1, tzinfo=UTC))
    ledger = open_ledger("memory:", clock=clock)
    try:
        f = fleet(ledger)
        clock.advance(timedelta(days=3))
        reserve(f, 2, 10, 20, backfill=True)  # hours of T0 (2026), before the clock
        found = stamps(ledger)
        assert found[0] == datetime(2030, 5, 1, tzinfo=UTC)
        assert found[-2:] == [datetime(2030, 5, 4, tzinfo=UTC)] * 2  # pool booking + reservation, one save
    finally:
        ledger.close()


def test_the_default_clock_is_the_wall_clock() -> None:
    ledger = open_ledger("memory:")
    try:
        before = datetime.now(UTC)
        fleet(ledger)
        after = datetime.now(UTC)
        assert all(before <= t <= after for t in stamps(ledger))
    finally:
        ledger.close()


def test_outside_a_command_the_library_stamps_as_before() -> None:
    before = datetime.now(UTC)
    site = Site(name="X", country="GB", grid_intensity_g_per_kwh=1, pue=1, carbon_free_share=0, effective_from=T0,
                factor_source="")
    assert site.created_on >= before


def test_the_save_stamps_with_the_clock_of_the_ledger_that_saves() -> None:
    """The clock is the ledger's attribute, read by its save: two ledgers with their own clocks
    in one thread stamp their own events, with no state shared between them."""
    early, late = SimClock(datetime(2031, 1, 1, tzinfo=UTC)), SimClock(datetime(2032, 1, 1, tzinfo=UTC))
    first, second = open_ledger("memory:", clock=early), open_ledger("memory:", clock=late)
    try:
        fleet(first)
        fleet(second)
        assert set(stamps(first)) == {datetime(2031, 1, 1, tzinfo=UTC)}
        assert set(stamps(second)) == {datetime(2032, 1, 1, tzinfo=UTC)}
    finally:
        first.close()
        second.close()
