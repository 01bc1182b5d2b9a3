"""The deferred revenue schedule: for any history of paid and granted credits bought, consumed
by invoices and expired, each tenant's schedule adds up to its closing deferred revenue in the
revenue report, every row holds credits still left, and expiries come in month order."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.timeutil import UTC
from tests.builders import fleet, reserve
from tests.commercial_helpers import opened


def at(month: int, day: int = 1, hours: int = 1) -> datetime:
    return datetime(2026, month, day, hours, tzinfo=UTC)


GRANT = st.tuples(st.booleans(), st.integers(1, 400), st.one_of(st.none(), st.integers(1, 4)))


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(grants=st.lists(GRANT, min_size=1, max_size=4), hours=st.lists(st.integers(0, 60), min_size=3, max_size=3))
def test_the_schedule_adds_up_to_the_closing_deferred_revenue(tmp_path_factory: pytest.TempPathFactory,
                                                              grants: list[tuple[bool, int, int | None]],
                                                              hours: list[int]) -> None:
    with opened(str(tmp_path_factory.mktemp("deferred") / "ledger.db")) as store:
        f = fleet(store.ledger, gpus=8, rate="2.50")
        for paid, amount, months in grants:  # bought on 1 January, expiring months later (or never)
            add = store.ledger.purchase_credits if paid else store.ledger.grant_credits
            add(f.tenant_id, amount=f"{amount}.00", expires_at=None if months is None else at(1 + months, 10))
        for index, count in enumerate(hours):  # usage in January to March, invoiced after each month
            if count:
                start = 24 * 31 * index + 24
                reserve(f, 1, start, start + count)
            store.clock.set(at(index + 2, 1, 2))
            store.ledger.expire_credits(f.tenant_id)
            store.issue(f.tenant_id, f"2026-0{index + 1}")
        schedule = store.report("deferred_schedule", tenant_id=str(f.tenant_id))
        revenue = store.report("revenue", tenant_id=str(f.tenant_id))
        closing = revenue[-1]["deferred_closing"] if revenue else Decimal(0)
        assert sum((row["deferred"] for row in schedule), Decimal(0)) == closing
        assert all(row["deferred"] > 0 for row in schedule)
        expiries = [row["expires"] for row in schedule]
        assert expiries == sorted(expiries, key=lambda e: (e == "never", e))
        left = closing
        for row in schedule:
            left -= row["deferred"]
            assert row["deferred_after"] == left
