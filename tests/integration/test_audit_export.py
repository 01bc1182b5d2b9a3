"""Export as JSON Lines and import into an empty store: identical events, identical chain."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bootstrap import open_ledger, open_projections
from domain import Ledger
from domain.errors import InvalidInput
from projections.audit import AuditChain, export_events, import_events
from projections.audit.asof import scratch_store
from projections.audit.store import AuditStore
from tests.builders import SimClock, fleet, hour, reserve


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    clock = SimClock()
    ledger = open_ledger(database_url, clock=clock)
    f = fleet(ledger)
    reservation = reserve(f, 2, 1, 5)
    clock.advance(timedelta(hours=6))
    ledger.record_usage([{"record_id": uuid.uuid4(), "reservation_id": reservation, "hour": hour(h),
                          "gpu_hours": "1.25"} for h in range(1, 5)])
    ledger.cancel_reservation(reserve(f, 1, 10, 20))
    yield ledger
    ledger.close()


def stored(ledger: Ledger) -> list[tuple[object, ...]]:
    return [(n.id, str(n.originator_id), n.originator_version, n.topic, bytes(n.state))
            for n in AuditStore(ledger).notifications()]


def exported(ledger: Ledger, **kwargs: int) -> list[dict[str, object]]:
    out = io.StringIO()
    count = export_events(ledger, out, page_size=3, **kwargs)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(lines)
    return lines


def test_each_line_carries_the_event_decoded_for_people(ledger: Ledger) -> None:
    AuditChain(ledger).catch_up()
    lines = exported(ledger)
    assert [line["position"] for line in lines] == list(range(1, ledger.max_position() + 1))
    capex = next(line for line in lines if line["event_type"] == "ledger:FundingRound.CapexCommitted")
    assert capex["aggregate_type"] == "FundingRound" and capex["data"]["amount"] == "200000.00"
    uuid.UUID(str(capex["data"]["supply_order_id"]))
    usage = next(line for line in lines if line["event_type"] == "ledger:Reservation.UsageBatchRecorded")
    _, hour_text, gpu_hours = usage["data"]["records"][0]
    assert gpu_hours == "1.25" and hour_text == hour(1).isoformat()
    assert str(usage["timestamp"]).endswith("+00:00")
    assert lines[-1]["link"] == AuditChain(ledger).head().hex


def test_a_position_range_exports_only_that_range(ledger: Ledger) -> None:
    assert [line["position"] for line in exported(ledger, start=4, stop=9)] == list(range(4, 10))
    with pytest.raises(InvalidInput):
        exported(ledger, start=5, stop=2)


def test_round_trip_reproduces_identical_events_and_chain(ledger: Ledger) -> None:
    head = AuditChain(ledger).catch_up()
    out = io.StringIO()
    export_events(ledger, out)
    with scratch_store(ledger) as url:
        copy = open_ledger(url)
        report = import_events(copy, io.StringIO(out.getvalue()), batch_size=4)
        assert report.events == head.position and report.head_hex == head.hex
        assert stored(copy) == stored(ledger)
        assert AuditChain(copy).catch_up() == head
        # The imported store is a working ledger: new writes continue after the imported log.
        written = copy.register_tenant(name="After import", billing_currency="USD", rates={"H100-SXM": "2"})
        assert written.position == head.position + 1
        copy.close()


def test_an_edited_export_is_refused_on_import(ledger: Ledger) -> None:
    AuditChain(ledger).catch_up()
    out = io.StringIO()
    export_events(ledger, out)
    lines = out.getvalue().splitlines()
    edited = json.loads(lines[5])
    edited["data"]["amount"] = "1.00"
    with scratch_store(ledger) as url:
        copy = open_ledger(url)
        with pytest.raises(InvalidInput, match="line 6: position 6: 'data' does not match"):
            import_events(copy, [*lines[:5], json.dumps(edited), *lines[6:]])
        copy.close()
    with scratch_store(ledger) as url:
        copy = open_ledger(url)
        with pytest.raises(InvalidInput, match="line 5: position 6: the chain link"):
            import_events(copy, [*lines[:4], *lines[5:]])  # a line dropped
        copy.close()


def test_import_refuses_a_store_that_already_has_events(ledger: Ledger) -> None:
    with pytest.raises(InvalidInput, match="empty store"):
        import_events(ledger, [])


def test_round_trip_reproduces_identical_projections(ledger: Ledger, database_url: str) -> None:
    from projections.billing import Billing
    from projections.registry import PROJECTIONS  # table layouts: compare every row, not a report

    out = io.StringIO()
    export_events(ledger, out)
    with scratch_store(ledger) as url:
        copy = open_ledger(url)
        import_events(copy, io.StringIO(out.getvalue()))
        copy.close()
        with open_projections(database_url) as live, open_projections(url) as imported:
            assert live.catch_up() == imported.catch_up() == ledger.max_position()
            for projection in PROJECTIONS:
                for table in projection.tables:
                    query = f"SELECT * FROM {table.name} ORDER BY {', '.join(table.key)}"
                    rows = live.db.fetchall(query)
                    assert rows == imported.db.fetchall(query), table.name
            assert any(live.db.fetchall(f"SELECT * FROM {t.name}") for t in Billing.tables)
