"""Upgrades: events written by an earlier event version still load (both stores).

tests/fixtures/events_v1.json holds a small history whose ``Tenant.Registered`` events have the
version-1 shape (no ``cancellation_fee_share``; see make_events_v1.py). Loaded as raw stored
events into a fresh store, they upcast to version 2 with the v1 fee share (0.25), the tenants
work as today's tenants do, new registrations are stored as version 2, and every projection
rebuilt over the old events equals its incremental catch-up.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from bootstrap import open_ledger, open_projections
from domain import Ledger
from domain.aggregates import Tenant
from projections import PROJECTION_NAMES

UTC = UTC
FIXTURE = Path(__file__).parent.parent / "fixtures" / "events_v1.json"


def fixture_events() -> list[StoredEvent]:
    rows = json.loads(FIXTURE.read_text())["events"]
    return [StoredEvent(originator_id=UUID(r["originator_id"]), originator_version=r["originator_version"],
                        topic=r["topic"], state=r["state"].encode()) for r in rows]


def load(url: str) -> tuple[Ledger, list[StoredEvent]]:
    ledger = open_ledger(url, clock=lambda: datetime(2025, 3, 3, 12, tzinfo=UTC))
    events = fixture_events()
    ledger.recorder.insert_events(events)
    return ledger, events


def test_the_fixture_really_holds_version_1_tenant_events() -> None:
    registered = [e for e in fixture_events() if e.topic == "ledger:Tenant.Registered"]
    assert len(registered) == 2
    for stored in registered:
        state = json.loads(stored.state)
        assert "cancellation_fee_share" not in state and "class_version" not in state
    assert Tenant.Registered.class_version == 2


def test_version_1_tenant_events_load_upcast_on_both_stores(database_url: str) -> None:
    ledger, events = load(database_url)
    try:
        assert ledger.max_position() == len(events)
        tenant_ids = [e.originator_id for e in events if e.topic == "ledger:Tenant.Registered"]
        for tenant_id in tenant_ids:
            tenant = ledger.get_tenant(tenant_id)
            assert tenant.cancellation_fee_share == Decimal("0.25")
            assert tenant.billing_currency == "USD" and not tenant.suspended
            first = ledger.mapper.to_domain_event(ledger.recorder.select_events(tenant_id, limit=1)[0])
            assert isinstance(first, Tenant.Registered) and first.cancellation_fee_share == Decimal("0.25")
        # The old tenants keep working: a plan change (a v1 tenant's next event) and a new tenant
        # (stored as version 2 with its own share).
        ledger.change_plan(tenant_ids[0], rates={"H100-SXM": "2.75"}, cancellation_fee_share="0.5")
        assert ledger.get_tenant(tenant_ids[0]).cancellation_fee_share == Decimal("0.5")
        fresh = ledger.register_tenant(name="Lab Three", billing_currency="USD", rates={"H100-SXM": "2"},
                                       cancellation_fee_share="0.1").id
        stored = json.loads(ledger.recorder.select_events(fresh, limit=1)[0].state)
        assert stored["class_version"] == 2 and stored["cancellation_fee_share"]["_data_"] == "0.1"
        assert ledger.get_tenant(fresh).cancellation_fee_share == Decimal("0.1")
        # The v1 reservations in the fixture still load with their locked terms.
        reservations = [e.originator_id for e in events if e.topic == "ledger:Reservation.Confirmed"]
        loaded = [ledger.get_reservation(r) for r in reservations]
        assert len(loaded) == 2 and "cancelled" in {r.status for r in loaded}
        assert all(r.cancellation_fee_share == Decimal("0.25") for r in loaded)
    finally:
        ledger.close()


def test_projections_rebuilt_over_version_1_events_equal_catch_up(database_url: str) -> None:
    ledger, events = load(database_url)
    projections = open_projections(database_url)
    try:
        assert projections.catch_up() == len(events)
        for name in PROJECTION_NAMES:
            assert projections.verify(name).ok, name
            assert projections.rebuild(name) == len(events)
        billing = projections.billing()
        assert billing, "the old reservations are billed"
        assert {row["tenant_id"] for row in billing} == {
            str(e.originator_id) for e in events if e.topic == "ledger:Tenant.Registered"}
        cancelled = [e.originator_id for e in events if e.topic == "ledger:Reservation.Cancelled"]
        assert len(cancelled) == 1
        assert ledger.get_reservation(cancelled[0]).cancellation_fee > 0
    finally:
        projections.close()
        ledger.close()
