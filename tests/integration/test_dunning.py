"""Dunning on SQLite: reminders at the policy's days exactly once per overdue episode, the
suspension after its day (saved with the tenant's suspension), full payment reinstating the
tenant, a new overdue invoice starting a new episode, refusals naming the field and recording
nothing, the invoices read from the ledger even when the projections lag, and the `dunning`
report and reminder documents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from documents.dunning import reminder_document, render_reminder_html
from domain.errors import InvalidInput, NotFound
from operations.dunning import run_dunning
from tests.builders import SimClock, refused, register_tenant
from tests.commercial_helpers import Store, opened

# An invoice issued 2026-02-01 on net 30 is due 2026-03-03: 1 day overdue on 2026-03-04.
DUE = "2026-03-03"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    with opened(sqlite_url, SimClock(datetime(2026, 2, 1, tzinfo=UTC))) as opened_store:
        yield opened_store


def invoice(store: Store, tenant: UUID, month: str = "2026-01", amount: str = "100.00") -> UUID:
    return store.ledger.issue_invoice(tenant_id=tenant, month=month, billed_through_position=0,
                                      lines=[{"kind": "reservation", "amount": Decimal(amount)}]).id


def kinds(store: Store, tenant: UUID) -> list[tuple[str, int | None, int, str]]:
    case = store.ledger.get_dunning_case(tenant)
    return [] if case is None else [(e["kind"], e["step"], e["episode"], e["day"]) for e in case.history]


def test_reminders_at_their_days_once_then_suspension_and_reinstatement_on_full_payment(store: Store) -> None:
    tenant = register_tenant(store.ledger)
    first = invoice(store, tenant)
    assert store.ledger.get_invoice(first).due_date == DUE
    store.clock.set(datetime(2026, 5, 1, tzinfo=UTC))
    assert not run_dunning(store.ledger, on=DUE).recorded  # due today: not overdue yet
    for day in ("2026-03-04", "2026-03-04", "2026-03-09"):
        run_dunning(store.ledger, on=day)
    assert kinds(store, tenant) == [("reminder", 1, 1, "2026-03-04")]
    run_dunning(store.ledger, on="2026-03-10")
    run_dunning(store.ledger, on="2026-04-01")  # 29 days: the third reminder, not yet the suspension
    assert not store.ledger.get_tenant(tenant).suspended
    run_dunning(store.ledger, on="2026-04-02")
    run_dunning(store.ledger, on="2026-04-20")
    assert kinds(store, tenant) == [("reminder", 1, 1, "2026-03-04"), ("reminder", 2, 1, "2026-03-10"),
                                    ("reminder", 3, 1, "2026-04-01"), ("suspension", 4, 1, "2026-04-02")]
    assert store.ledger.get_tenant(tenant).suspended
    store.ledger.record_payment(first, amount="60.00", currency="USD", received_on="2026-04-21", reference="A")
    run_dunning(store.ledger, on="2026-04-22")  # something still overdue: still suspended, nothing new
    assert store.ledger.get_tenant(tenant).suspended and len(kinds(store, tenant)) == 4
    store.ledger.record_payment(first, amount="40.00", currency="USD", received_on="2026-04-23", reference="B")
    result = run_dunning(store.ledger, on="2026-04-23")
    assert result.count("resolved") == 1 and not store.ledger.get_tenant(tenant).suspended
    assert kinds(store, tenant)[-1] == ("resolved", None, 1, "2026-04-23")
    assert store.ledger.get_dunning_case(tenant).history[-1]["reinstated"] is True  # type: ignore[union-attr]
    assert not run_dunning(store.ledger, on="2026-04-30").recorded  # nothing overdue, nothing open


def test_a_new_overdue_invoice_after_payment_starts_a_new_episode(store: Store) -> None:
    tenant = register_tenant(store.ledger)
    first = invoice(store, tenant)
    store.clock.set(datetime(2026, 3, 2, tzinfo=UTC))
    second = invoice(store, tenant, "2026-02")  # due 2026-04-01
    store.clock.set(datetime(2026, 6, 1, tzinfo=UTC))
    run_dunning(store.ledger, on="2026-03-05")
    store.ledger.record_payment(first, amount="100.00", currency="USD", received_on="2026-03-06", reference="A")
    run_dunning(store.ledger, on="2026-03-07")
    run_dunning(store.ledger, on="2026-04-02")
    assert kinds(store, tenant) == [("reminder", 1, 1, "2026-03-05"), ("resolved", None, 1, "2026-03-07"),
                                    ("reminder", 1, 2, "2026-04-02")]
    assert store.ledger.get_dunning_case(tenant).history[-1]["invoices"][0]["number"] == (  # type: ignore[union-attr]
        store.ledger.get_invoice(second).number)


def test_a_tenant_already_suspended_is_not_suspended_again_nor_reinstated_by_dunning(store: Store) -> None:
    tenant = register_tenant(store.ledger)
    first = invoice(store, tenant)
    store.ledger.suspend_tenant(tenant, reason="fraud review")
    store.clock.set(datetime(2026, 6, 1, tzinfo=UTC))
    run_dunning(store.ledger, on="2026-04-10")
    assert store.ledger.get_dunning_case(tenant).history[-1]["suspended"] is False  # type: ignore[union-attr]
    store.ledger.record_payment(first, amount="100.00", currency="USD", received_on="2026-04-11", reference="A")
    run_dunning(store.ledger, on="2026-04-11")
    assert store.ledger.get_tenant(tenant).suspended  # not dunning's suspension to lift


def test_the_policy_days_and_never_suspending(store: Store) -> None:
    tenant = register_tenant(store.ledger)
    invoice(store, tenant)
    store.ledger.set_dunning_policy(tenant, reminder_days=[3], suspend_after_days=None)
    store.clock.set(datetime(2026, 9, 1, tzinfo=UTC))
    run_dunning(store.ledger, on="2026-03-05")
    assert kinds(store, tenant) == []
    run_dunning(store.ledger, on="2026-08-01")
    assert kinds(store, tenant) == [("reminder", 1, 1, "2026-08-01")]
    assert not store.ledger.get_tenant(tenant).suspended


@pytest.mark.parametrize("reminder_days, suspend, field", [
    ([], 30, "reminder_days"), ([1, 1], 30, "reminder_days"), ([7, 1], 30, "reminder_days"),
    ([0, 7], 30, "reminder_days"), ([-1], 30, "reminder_days"), ("1,7", 30, "reminder_days"),
    ([1, True], 30, "reminder_days"), ([1, 7, 14], 14, "suspend_after_days"),
    ([1, 7, 14], 0, "suspend_after_days"), ([1, 7, 14], "30", "suspend_after_days"),
])
def test_a_bad_policy_is_refused_naming_the_field(store: Store, reminder_days: object, suspend: object,
                                                    field: str) -> None:
    tenant = register_tenant(store.ledger)
    with refused(store.ledger, InvalidInput, field):
        store.ledger.set_dunning_policy(tenant, reminder_days=reminder_days, suspend_after_days=suspend)
    with refused(store.ledger, NotFound, "tenant_id"):
        store.ledger.set_dunning_policy(UUID(int=7))


def test_a_bad_day_is_refused_naming_on_and_records_nothing(store: Store) -> None:
    tenant = register_tenant(store.ledger)
    invoice(store, tenant)
    store.clock.set(datetime(2026, 4, 1, tzinfo=UTC))
    for bad in ("2026-04-02", "yesterday", "2026-13-01"):
        with refused(store.ledger, InvalidInput, "on"):
            run_dunning(store.ledger, on=bad)
    run_dunning(store.ledger, on="2026-03-20")
    with refused(store.ledger, InvalidInput, "on"):  # before a step already recorded
        run_dunning(store.ledger, on="2026-03-19")


def test_the_run_reads_the_ledger_not_a_lagging_projection_and_the_report_shows_the_steps(store: Store) -> None:
    tenant = register_tenant(store.ledger)
    invoice(store, tenant)
    store.clock.set(datetime(2026, 4, 5, tzinfo=UTC))
    assert store.projections.report("receivables") == []  # the read side has not caught up
    run_dunning(store.ledger)  # today: 33 days overdue
    assert [k for k, *_ in kinds(store, tenant)] == ["reminder", "reminder", "reminder", "suspension"]
    store.projections.catch_up()
    rows = store.projections.report("dunning", {"tenant_id": str(tenant)})
    assert [(r["day"], r["step"], r["kind"], r["invoices"], r["overdue"], r["currency"]) for r in rows] == [
        ("2026-04-05", step, kind, 1, Decimal("100.00"), "USD")
        for step, kind in ((1, "reminder"), (2, "reminder"), (3, "reminder"), (4, "suspension"))]
    assert store.projections.report("dunning", {"from": "2026-05"}) == []
    doc = reminder_document(store.ledger, tenant, 2)
    html = render_reminder_html(doc)
    assert doc.title == "Second reminder" and "GL-2026-000001" in html and "USD 100.00" in html and DUE in html
    assert "33" in html and "Total overdue USD" in html
    assert reminder_document(store.ledger, tenant, 4).title == "Suspension notice"
    with refused(store.ledger, NotFound, "step"):
        reminder_document(store.ledger, tenant, 5)
