"""For any sequence of dunning runs (on days that only move forward) and payments: each step is
recorded at most once per episode, never before its day (the oldest overdue invoice's days
overdue reach the step's), the suspension only after its day, an episode ends only on a run
that finds nothing overdue, and a tenant dunning suspended is reinstated once fully paid."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bootstrap import open_ledger
from operations.dunning import run_dunning
from tests.builders import SimClock, register_tenant

START = date(2026, 3, 2)  # the invoices of 2026-01 and 2026-02 are due 2026-03-03 and 2026-04-01
STEPS = st.lists(st.one_of(st.tuples(st.just("run"), st.integers(0, 20)),
                           st.tuples(st.just("pay"), st.integers(1, 2))), max_size=14)


@settings(max_examples=40, deadline=None)
@given(steps=STEPS, days=st.lists(st.integers(1, 20), min_size=1, max_size=3, unique=True).map(sorted),
       suspend=st.one_of(st.none(), st.integers(21, 40)))
def test_each_step_at_most_once_per_episode_never_early(steps: list[tuple[str, int]], days: list[int],
                                                         suspend: int | None) -> None:
    clock = SimClock(datetime(2026, 2, 1, tzinfo=UTC))
    ledger = open_ledger("memory:", clock=clock)
    try:
        tenant = register_tenant(ledger)
        first = ledger.issue_invoice(tenant_id=tenant, month="2026-01", billed_through_position=0,
                                     lines=[{"kind": "reservation", "amount": Decimal("100.00")}]).id
        clock.set(datetime(2026, 3, 2, tzinfo=UTC))
        second = ledger.issue_invoice(tenant_id=tenant, month="2026-02", billed_through_position=0,
                                      lines=[{"kind": "reservation", "amount": Decimal("50.00")}]).id
        clock.set(datetime(2026, 12, 1, tzinfo=UTC))
        ledger.set_dunning_policy(tenant, reminder_days=days, suspend_after_days=suspend)
        day = START
        for kind, value in steps:
            if kind == "run":
                day += timedelta(days=value)
                run_dunning(ledger, on=day)
            else:
                ref = first if value == 1 else second
                owed = ledger.get_invoice(ref).outstanding
                if owed > 0:
                    ledger.record_payment(ref, amount=owed, currency="USD", received_on=day.isoformat(),
                                          reference="P")
        case = ledger.get_dunning_case(tenant)
        assert case is not None
        history = case.history
        per_episode = Counter((e["episode"], e["step"]) for e in history if e["kind"] != "resolved")
        assert all(count == 1 for count in per_episode.values())
        for entry in history:
            if entry["kind"] == "reminder":
                assert entry["days_overdue"] >= days[entry["step"] - 1]
            elif entry["kind"] == "suspension":
                assert suspend is not None and entry["days_overdue"] >= suspend
                assert entry["step"] == len(days) + 1
        episodes = [e["episode"] for e in history]
        assert episodes == sorted(episodes)
        resolved = [e for e in history if e["kind"] == "resolved"]
        assert len({e["episode"] for e in resolved}) == len(resolved)  # an episode ends once
        suspended_by_dunning = any(e["kind"] == "suspension" and e["suspended"] for e in history
                                   if not any(r["episode"] == e["episode"] for r in resolved))
        assert ledger.get_tenant(tenant).suspended == suspended_by_dunning
        if history and history[-1]["kind"] != "resolved" and all(
                ledger.get_invoice(ref).outstanding == 0 for ref in (first, second)):
            run_dunning(ledger, on=day)  # fully paid: the next run resolves and reinstates
            assert ledger.get_dunning_case(tenant).history[-1]["kind"] == "resolved"  # type: ignore[union-attr]
            assert not ledger.get_tenant(tenant).suspended
    finally:
        ledger.close()
