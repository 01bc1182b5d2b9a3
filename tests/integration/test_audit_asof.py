"""As of: an aggregate rebuilt for a past moment equals what the ledger held at that moment,
and projections rebuilt for a past position leave the live store alone."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bootstrap import open_ledger, open_projections
from domain import Ledger
from domain.errors import InvalidInput, NotFound
from projections.audit.asof import aggregate_as_of, ledger_as_of, parse_as_of, public_state
from projections.audit.store import AuditStore
from tests.builders import SimClock, fleet, reserve


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    ledger = open_ledger(database_url, clock=SimClock())
    yield ledger
    ledger.close()


def now(ledger: Ledger) -> datetime:
    """A moment strictly between the events recorded before and after: events carry the time of
    the ledger's (simulated) clock."""
    clock: Any = ledger.clock
    clock.advance(timedelta(seconds=1))
    moment: datetime = clock.now
    clock.advance(timedelta(seconds=1))
    return moment


def test_a_tenant_as_of_each_past_moment_equals_what_was_recorded_then(ledger: Ledger) -> None:
    tenant_id = ledger.register_tenant(name="Lab", billing_currency="USD", rates={"H100-SXM": "2.50"}).id
    seen: list[tuple[datetime, int, dict[str, Any]]] = []

    def record() -> None:
        tenant = ledger.get_tenant(tenant_id)
        seen.append((now(ledger), tenant.version, copy.deepcopy(public_state(tenant))))

    record()
    ledger.change_plan(tenant_id, rates={"H100-SXM": "2.10", "B200": "4.00"}, cancellation_fee_share="0.5")
    record()
    ledger.suspend_tenant(tenant_id, reason="unpaid invoice")
    record()
    ledger.reinstate_tenant(tenant_id)
    record()
    assert len({v for _, v, _ in seen}) == 4
    for moment, version, state in seen:
        by_time = aggregate_as_of(ledger, tenant_id, moment)
        assert (by_time.version, by_time.state) == (version, state)
        assert by_time.type == "Tenant" and by_time.recorded_at <= moment
        assert aggregate_as_of(ledger, tenant_id, version).state == state


def test_a_reservation_as_of_a_version_replays_only_that_far(ledger: Ledger) -> None:
    f = fleet(ledger)
    reservation_id = reserve(f, 2, 10, 20)
    before = copy.deepcopy(public_state(ledger.get_reservation(reservation_id)))
    ledger.extend_reservation(reservation_id, end=f.ledger.get_reservation(reservation_id).end + timedelta(hours=5))
    assert aggregate_as_of(ledger, reservation_id, 1).state == before
    assert aggregate_as_of(ledger, reservation_id).version == 2


def test_before_its_first_event_an_aggregate_is_not_found(ledger: Ledger) -> None:
    moment = now(ledger)
    tenant_id = ledger.register_tenant(name="Lab", billing_currency="USD", rates={"H100-SXM": "2.50"}).id
    with pytest.raises(NotFound, match="as of"):
        aggregate_as_of(ledger, tenant_id, moment)
    with pytest.raises(NotFound, match="no version 7"):
        aggregate_as_of(ledger, tenant_id, 7)


def test_as_of_parses_a_version_or_an_aware_timestamp() -> None:
    assert parse_as_of("3") == 3
    assert parse_as_of("2026-02-01T10:00:00Z") == datetime(2026, 2, 1, 10, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        parse_as_of("2026-02-01T10:00:00")  # naive: refused


def test_a_past_position_gets_a_scratch_copy_and_the_live_store_is_untouched(ledger: Ledger) -> None:
    fleet(ledger)
    middle = ledger.max_position() // 2
    live_before = [(n.id, n.state) for n in AuditStore(ledger).notifications()]
    with ledger_as_of(ledger, middle) as (url, last):
        past = open_ledger(url)
        assert last == middle == past.max_position()
        assert [(n.id, n.state) for n in AuditStore(past).notifications()] == live_before[:middle]
        past.close()
    assert [(n.id, n.state) for n in AuditStore(ledger).notifications()] == live_before


def reports(projections: Any) -> dict[str, Any]:
    return {"utilisation": projections.utilisation(granularity="hour"), "billing": projections.billing(),
            "sustainability": projections.sustainability(), "capex": projections.capex()}


def test_reports_as_of_a_past_position_equal_the_reports_of_that_time(ledger: Ledger, database_url: str) -> None:
    from projections.audit.asof import projections_as_of

    f = fleet(ledger)
    reserve(f, 2, 1, 5)
    with open_projections(database_url) as live:
        then_position = live.catch_up()
        then = reports(live)
        reserve(f, 3, 2, 9)
        ledger.register_site(name="Stargate Norway", country="NO", grid_intensity_g_per_kwh="8", pue="1.1",
                             carbon_free_share="0.95", effective_from=f.ledger.now())
        live.catch_up()
        assert reports(live) != then
        tables_before = reports(live)
        with projections_as_of(ledger, then_position) as past:
            assert reports(past) == then
        assert reports(live) == tables_before  # the live tables were not touched
