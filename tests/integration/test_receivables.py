"""Receivables on the in-process SQLite ledger: open invoices aged at a day, and the aging
buckets: for any history of invoices, credit notes and voids and any aging day, each tenant's
buckets add up to its outstanding, the aging report adds up to the receivables report, and a
day before the due date nothing is overdue."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.timeutil import UTC
from projections.reports.receivables_aging import BUCKETS
from tests.builders import fleet, reserve
from tests.commercial_helpers import Store, opened

D = Decimal
BUCKET_NAMES = [name for name, _, _ in BUCKETS]


def at(month: int, day: int = 1, hours: int = 1) -> datetime:
    return datetime(2026, month, day, hours, tzinfo=UTC)


def history(store: Store, hours: list[int], credit_cents: int, void_first: bool) -> None:
    f = fleet(store.ledger, gpus=8, rate="2.50")
    for index, count in enumerate(hours):  # usage in January.., each month invoiced on the 1st after
        if count:
            start = 24 * 31 * index + 24
            reserve(f, 1, start, start + count)
        store.clock.set(at(index + 2, 1, 2))
        store.issue(f.tenant_id, f"2026-0{index + 1}")
    invoices = [r for r in store.report("receivables")]
    if invoices and credit_cents:
        last = invoices[-1]
        amount = min(D(credit_cents) / 100, last["outstanding"])
        if amount > 0:
            store.ledger.credit_invoice(last["invoice_id"], amount=f"{amount:.2f}", reason="goodwill")
    if void_first and len(invoices) > 1:
        store.ledger.void_invoice(invoices[0]["invoice_id"], reason="issued in error")


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(hours=st.lists(st.integers(0, 60), min_size=1, max_size=3), credit_cents=st.integers(0, 20_000),
       void_first=st.booleans(), offset=st.integers(-40, 200))
def test_aging_buckets_add_up_to_what_is_outstanding(tmp_path_factory: pytest.TempPathFactory, hours: list[int],
                                                     credit_cents: int, void_first: bool, offset: int) -> None:
    with opened(str(tmp_path_factory.mktemp("ar") / "ledger.db")) as store:
        history(store, hours, credit_cents, void_first)
        on = (date(2026, 2, 1) + timedelta(days=offset)).isoformat()
        items = store.report("receivables", on=on)
        aging = store.report("receivables_aging", on=on)
        assert all(r["outstanding"] > 0 for r in items)
        for row in aging:
            assert sum((row[name] for name in BUCKET_NAMES), D(0)) == row["outstanding"]
            mine = [r for r in items if (r["tenant_id"], r["currency"]) == (row["tenant_id"], row["currency"])]
            assert row["outstanding"] == sum((r["outstanding"] for r in mine), D(0))
            assert row["invoices"] == len(mine)
            overdue = sum((r["outstanding"] for r in mine if r["days_overdue"] > 0), D(0))
            assert row["outstanding"] - row["current"] == overdue
        statement = store.report("statement")  # the whole history: its last balance is what is owed
        owed = sum((r["outstanding"] for r in store.report("receivables", on=on)), D(0))
        assert (statement[-1]["balance"] if statement else D(0)) == owed
        later = store.report("statement", **{"from": "2026-03"})  # opening + the entries = the closing
        if later:
            assert later[0]["kind"] == "opening"
            assert later[0]["balance"] + sum((r["amount"] for r in later[1:]), D(0)) == later[-1]["balance"] == owed
        for item in items:
            due = date.fromisoformat(item["due_date"])
            assert item["days_overdue"] == max(0, (date.fromisoformat(on) - due).days)
            assert item["outstanding"] == item["total"] - item["credited"] - item["paid"]


def test_a_voided_or_fully_credited_invoice_is_owed_nothing_and_a_bad_day_is_refused(sqlite_url: str) -> None:
    with opened(sqlite_url) as store:
        history(store, [40, 30], 0, void_first=True)
        items = store.report("receivables", on="2026-03-01")
        assert [r["month"] for r in items] == ["2026-02"]  # January's invoice was voided
        store.ledger.credit_invoice(items[0]["invoice_id"], amount=f"{items[0]['outstanding']:.2f}", reason="waived")
        assert store.report("receivables", on="2026-03-01") == []
        assert store.report("receivables_aging", on="2026-03-01") == []
        for bad in ("2026-13-01", "1 March", "2026-03"):
            with pytest.raises(InvalidInput) as refused:
                store.report("receivables", on=bad)
            assert refused.value.field == "on"
