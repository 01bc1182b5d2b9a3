"""The ledger service end to end on each store (SQLite and PostgreSQL): the same commands,
the same refusals, and the same state after reopening the store."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

from eventsourcing.application import project_aggregate

from bootstrap import open_ledger
from domain.errors import (
    DuplicateUsage,
    ExceedsOrdered,
    InsufficientCapacity,
    InsufficientFunds,
    InvoiceAlreadyIssued,
    TenantSuspended,
    UsageOutsideReservation,
)
from tests.builders import SimClock, fleet, hour, refused, reserve


def test_a_month_of_capacity_and_billing_survives_reopening_the_store(database_url: str) -> None:
    clock = SimClock()
    ledger = open_ledger(database_url, clock=clock)
    f = fleet(ledger, gpus=8, rate="2.50", fee_share="0.25")
    long_run = reserve(f, 6, 1, 25)
    short = reserve(f, 2, 2, 4)
    ledger.extend_reservation(short, end=hour(10))
    clock.set(hour(3) + timedelta(minutes=5))
    ledger.cancel_reservation(short)  # keeps hours 2-3, releases 4-9
    clock.set(hour(30))
    receipt = ledger.record_usage([{"record_id": uuid4(), "reservation_id": long_run, "hour": hour(h),
                                    "gpu_hours": "5.5"} for h in range(1, 25)])
    assert receipt.recorded == 24 and receipt.position == ledger.max_position()
    clock.set(hour(24 * 32))
    invoice = ledger.issue_invoice(tenant_id=f.tenant_id, month="2026-01", billed_through_position=receipt.position,
                                   lines=[{"reservation": str(long_run), "amount": "360.00"},
                                          {"reservation": str(short), "amount": "13.00"}])
    position = ledger.max_position()
    ids = [f.site_id, f.round_id, f.order_id, f.tenant_id, long_run, short, invoice.id,
           ledger.get_pool(f.site_id, f.model).id]
    live = {i: {k: v for k, v in vars(ledger.repository.get(i)).items() if k != "_pending_events"} for i in ids}
    ledger.close()

    reopened = open_ledger(database_url, clock=clock)
    try:
        assert reopened.max_position() == position
        for aggregate_id in ids:
            stored = {k: v for k, v in vars(reopened.repository.get(aggregate_id)).items() if k != "_pending_events"}
            assert stored == live[aggregate_id]
            replayed = project_aggregate(None, reopened.events.get(aggregate_id))
            assert {k: v for k, v in vars(replayed).items() if k != "_pending_events"} == live[aggregate_id]
        cancelled = reopened.get_reservation(short)
        assert cancelled.cancellation_fee == Decimal("0.25") * Decimal("2.50") * 2 * 6
        assert reopened.get_reservation(long_run).gpu_hours_used == Decimal("132.0")
        pool = reopened.get_pool(f.site_id, f.model)
        assert pool.free_gpus(hour(2), hour(4)) == 0 and pool.free_gpus(hour(4), hour(10)) == 2
        notifications = reopened.recorder.select_notifications(start=1, limit=10_000)
        assert [n.id for n in notifications] == list(range(1, position + 1))
    finally:
        reopened.close()


def test_refusals_record_nothing_on_a_real_store(database_url: str) -> None:
    clock = SimClock()
    ledger = open_ledger(database_url, clock=clock)
    try:
        f = fleet(ledger, gpus=4)
        reservation = reserve(f, 3, 1, 5)
        with refused(ledger, InsufficientCapacity, "gpus"):
            reserve(f, 2, 4, 6)
        with refused(ledger, InsufficientCapacity, "gpus"):
            reserve(f, 5, 10, 11)
        with refused(ledger, InsufficientCapacity, "quantity"):
            ledger.decommission(site_id=f.site_id, model=f.model, quantity=2, at=hour(0), reason="failed")
        with refused(ledger, ExceedsOrdered, "quantity"):
            ledger.record_delivery(f.order_id, quantity=1, delivered_at=hour(0))
        with refused(ledger, InsufficientFunds, "amount"):
            ledger.record_tranche(f.round_id, investor="Fund A", amount="1", currency="USD", received_at=hour(0))
        clock.set(hour(10))
        ledger.record_usage([{"record_id": uuid4(), "reservation_id": reservation, "hour": hour(1), "gpu_hours": 3}])
        with refused(ledger, DuplicateUsage, "hour"):
            ledger.record_usage([{"record_id": uuid4(), "reservation_id": reservation, "hour": hour(1),
                                  "gpu_hours": 3}])
        with refused(ledger, UsageOutsideReservation, "records[1].hour"):
            ledger.record_usage([{"record_id": uuid4(), "reservation_id": reservation, "hour": hour(2), "gpu_hours": 1},
                                 {"record_id": uuid4(), "reservation_id": reservation, "hour": hour(5),
                                  "gpu_hours": 1}])
        ledger.suspend_tenant(f.tenant_id, reason="unpaid")
        with refused(ledger, TenantSuspended, "tenant_id"):
            reserve(f, 1, 20, 21)
        clock.set(hour(24 * 40))
        ledger.issue_invoice(tenant_id=f.tenant_id, month="2026-01", lines=[], billed_through_position=0)
        with refused(ledger, InvoiceAlreadyIssued, "month"):
            ledger.issue_invoice(tenant_id=f.tenant_id, month="2026-01", lines=[], billed_through_position=0)
        assert ledger.get_reservation(reservation).gpu_hours_used == 3
    finally:
        ledger.close()
