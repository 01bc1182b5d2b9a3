"""Finance's month close on the in-process SQLite ledger: what it refuses (recording nothing),
that it records once, and that a closed month's journal exports the same bytes every time."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.timeutil import UTC
from operations.closing import MonthNotReady, close_month, describe
from operations.invoicing import ProjectionsBilling, issue_month
from operations.journal_export import HEADER, journal_csv
from tests.builders import fleet, refused, reserve
from tests.commercial_helpers import Store, opened


def at(month: int, day: int = 1, hours: int = 1) -> datetime:
    return datetime(2026, month, day, hours, tzinfo=UTC)


def close(store: Store, month: str):  # type: ignore[no-untyped-def]
    return close_month(store.ledger, ProjectionsBilling(store.projections), month)


def export(store: Store, month: str) -> bytes:
    store.projections.catch_up()
    rows = store.projections.report("journal", {"from": month, "to": month})
    return journal_csv(rows, lambda tenant_id: store.ledger.get_tenant(tenant_id).name)


def january_billed(store: Store) -> object:
    f = fleet(store.ledger, gpus=8, rate="2.50")
    reserve(f, 2, 0, 100)  # January: 200 GPU-hours x 2.50 = 500.00
    store.clock.set(at(2))
    return f


def test_a_month_closes_once_its_invoices_are_issued_and_the_books_balance(sqlite_url: str) -> None:
    with opened(sqlite_url) as store:
        f = january_billed(store)
        with refused(store.ledger, MonthNotReady, "month"):
            close(store, "2026-01")
        try:
            close(store, "2026-01")
        except MonthNotReady as error:  # the refusal names the tenant and says what to run
            assert "Lab" in error.message and "ledger invoice issue --month 2026-01" in error.message
        issue_month(store.ledger, ProjectionsBilling(store.projections), "2026-01")
        receipt = close(store, "2026-01")
        shown = describe(receipt)
        assert not receipt.already_closed and receipt.position == store.ledger.max_position()
        assert shown["invoices"] == 1
        [usd] = shown["balances"]
        assert usd["currency"] == "USD" and Decimal(str(usd["debit"])) == Decimal(str(usd["credit"])) >= Decimal("500")
        head = store.ledger.max_position()
        again = close(store, "2026-01")
        assert again.already_closed and again.position is None and store.ledger.max_position() == head
        assert store.ledger.get_month_close("2026-01") is not None and store.ledger.get_month_close("2026-02") is None
        del f


def test_a_month_that_has_not_ended_cannot_close(sqlite_url: str) -> None:
    with opened(sqlite_url) as store:
        january_billed(store)
        for month in ("2026-02", "2026-03", "2030-01"):
            with refused(store.ledger, InvalidInput, "month"):
                close(store, month)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(month=st.one_of(st.text(max_size=12), st.from_regex(r"\A[0-9]{4}-[0-9]{2}\Z"),
                       st.integers(), st.none()))
def test_any_malformed_or_future_month_is_refused_naming_month_and_records_nothing(
        tmp_path_factory: pytest.TempPathFactory, month: object) -> None:
    url = str(tmp_path_factory.mktemp("close") / "ledger.db")
    with opened(url) as store:
        store.clock.set(at(2))
        try:
            receipt = close(store, month)  # type: ignore[arg-type]
        except InvalidInput as error:
            assert error.field == "month" and store.ledger.max_position() == 0
        else:  # a well-formed month that has ended, with nothing to bill: it closes
            assert isinstance(month, str) and month < "2026-02" and receipt.position == store.ledger.max_position()


def test_a_closed_months_journal_exports_the_same_bytes_after_later_activity(sqlite_url: str) -> None:
    with opened(sqlite_url) as store:
        f = january_billed(store)
        issue_month(store.ledger, ProjectionsBilling(store.projections), "2026-01")
        close(store, "2026-01")
        first = export(store, "2026-01")
        reserve(f, 1, 24 * 40, 24 * 40 + 10)  # February activity, then February's invoice
        store.clock.set(at(3))
        issue_month(store.ledger, ProjectionsBilling(store.projections), "2026-02")
        assert export(store, "2026-01") == first
        rows = list(csv.DictReader(io.StringIO(first.decode())))
        assert tuple(rows[0]) == HEADER
        assert {r["Posting Period"] for r in rows} == {"Jan 2026"}
        debits = sum(Decimal(r["Debit"] or 0) for r in rows)
        credits = sum(Decimal(r["Credit"] or 0) for r in rows)
        assert debits == credits >= Decimal("500.00")
        assert {r["Name"] for r in rows if r["Name"]} == {"Lab"}
        for entry in {r["External ID"] for r in rows}:  # every entry balances on its own
            lines = [r for r in rows if r["External ID"] == entry]
            assert sum(Decimal(r["Debit"] or 0) for r in lines) == sum(Decimal(r["Credit"] or 0) for r in lines)


def test_the_close_report_lists_each_close_and_what_was_posted_for_it_afterwards(sqlite_url: str) -> None:
    with opened(sqlite_url) as store:
        f = fleet(store.ledger, gpus=8, rate="2.50")
        # Paid credits that lapse on 20 January; the expiry is recorded only in February.
        store.ledger.purchase_credits(f.tenant_id, amount="40.00", priority=1, expires_at=at(1, 20, 0))
        store.clock.set(at(2))
        close(store, "2026-01")
        [row] = store.report("close")
        assert (row["month"], row["currency"], row["invoices"], row["late_entries"]) == ("2026-01", "USD", 0, 0)
        assert row["debit"] == row["credit"] == Decimal("40.00")
        before = export(store, "2026-01")
        store.ledger.expire_credits(f.tenant_id)  # breakage for January, after its close
        [row] = store.report("close")
        assert (row["late_entries"], row["late_debit"]) == (1, Decimal("40.00"))
        assert export(store, "2026-01") == before  # the closed month's journal did not change
        late = [line for line in store.report("journal") if line["period"] != line["month"]]
        assert {(line["period"], line["month"], line["date"]) for line in late} == {("2026-01", "2026-02",
                                                                                     "2026-02-01")}
        assert all("late: period 2026-01 closed" in line["description"] for line in late)
