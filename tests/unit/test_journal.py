"""The journal and the trial balance on the in-process SQLite ledger: what a controller checks.

Scenario (USD, H100 plan rate 2.50): 100.00 paid credits, 50.00 granted (first), 40.00 paid
expiring 2026-01-15 (breakage). January bills 2 GPUs x 40 h = 200.00, issued on 2026-02-01: the
invoice posts in January dated 2026-01-31; credits pay 150.00 (granted 50.00, paid 100.00),
amount due 50.00.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain.errors import InvalidInput
from tests.builders import Fleet, fleet, reserve
from tests.commercial_helpers import ZERO, Store, opened
from tests.journal_checks import balances, check_entries_balance, check_tie_out, check_trial_balance

D = Decimal


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    with opened(sqlite_url) as found:
        yield found


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def january(store: Store) -> Fleet:
    f = fleet(store.ledger, rate="2.50")
    store.ledger.purchase_credits(f.tenant_id, amount="100.00", priority=50)
    store.ledger.grant_credits(f.tenant_id, amount="50.00", priority=10)
    store.ledger.purchase_credits(f.tenant_id, amount="40.00", priority=90, expires_at=at("2026-01-15T00:00:00"))
    reserve(f, 2, 24, 64)  # 2 GPUs x 40 h in January
    store.clock.set(at("2026-01-16T00:00:00"))
    store.ledger.expire_credits(f.tenant_id)
    store.clock.set(at("2026-02-01T01:00:00"))
    invoice = store.issue(f.tenant_id, "2026-01")
    assert invoice.total == D("50.00")
    return f


def journal(store: Store, **filters: Any) -> list[dict[str, Any]]:
    return store.report("journal", **filters)


def test_every_entry_balances_and_the_postings_are_the_rules(store: Store) -> None:
    f = january(store)
    rows = journal(store)
    check_entries_balance(rows)
    posted = [(r["month"], r["date"], r["account_code"], r["debit"], r["credit"], r["description"]) for r in rows]
    assert posted == [
        ("2026-01", "2026-01-01", "1110", D("100.00"), ZERO, "Prepaid credits purchased"),
        ("2026-01", "2026-01-01", "2100", ZERO, D("100.00"), "Prepaid credits purchased"),
        ("2026-01", "2026-01-01", "1110", D("40.00"), ZERO, "Prepaid credits purchased"),
        ("2026-01", "2026-01-01", "2100", ZERO, D("40.00"), "Prepaid credits purchased"),
        ("2026-01", "2026-01-15", "2100", D("40.00"), ZERO, "Paid credits expired (breakage)"),
        ("2026-01", "2026-01-15", "4100", ZERO, D("40.00"), "Paid credits expired (breakage)"),
        ("2026-01", "2026-01-31", "1100", D("200.00"), ZERO, "Invoice 2026-01 issued"),
        ("2026-01", "2026-01-31", "4000", ZERO, D("200.00"), "Invoice 2026-01 issued"),
        ("2026-01", "2026-01-31", "2100", D("100.00"), ZERO, "Paid credits consumed on invoice 2026-01"),
        ("2026-01", "2026-01-31", "4900", D("50.00"), ZERO, "Granted credits consumed on invoice 2026-01 (discount)"),
        ("2026-01", "2026-01-31", "1100", ZERO, D("150.00"), "Credits applied to invoice 2026-01"),
    ]  # the grant posts nothing
    assert all(r["tenant_id"] == str(f.tenant_id) and r["currency"] == "USD" for r in rows)
    assert len({r["event_id"] for r in rows}) == len({r["entry_id"] for r in rows}) == 5
    invoice = store.ledger.get_invoice(rows[6]["reference"])
    assert (invoice.month, rows[6]["event_id"]) == ("2026-01", f"{invoice.id}:1")
    totals = check_trial_balance(store, to="2026-01")
    assert totals == {"USD": (D("530.00"), D("530.00"))}


def test_journal_ties_out_to_revenue_recognition(store: Store) -> None:
    f = january(store)
    check_tie_out(store, f.tenant_id)
    books = balances(store, f.tenant_id)["USD"]
    # 200.00 charged - 50.00 granted + 40.00 breakage = 190.00 (docs/finance.md's worked example's rule)
    assert (books.revenue, -books.of("2100"), books.of("1100"), books.of("1110")) == \
        (D("190.00"), ZERO, D("50.00"), D("140.00"))


def test_a_void_reverses_the_invoice_and_the_credits_it_consumed_stay_consumed(store: Store) -> None:
    f = january(store)
    reserve(f, 1, 800, 840)  # February: 40 h = 100.00
    store.clock.set(at("2026-03-02T00:00:00"))
    february = store.issue(f.tenant_id, "2026-02")
    assert february.total == D("100.00")  # no credits left
    store.ledger.void_invoice(february.id, reason="wrong rate")
    rows = [r for r in journal(store, **{"from": "2026-03", "to": "2026-03"})]
    check_entries_balance(rows)
    assert [(r["account_code"], r["debit"], r["credit"], r["reference"]) for r in rows] == [
        ("4000", D("100.00"), ZERO, str(february.id)), ("1100", ZERO, D("100.00"), str(february.id))]
    assert rows[0]["description"] == "Invoice 2026-02 voided: wrong rate" and rows[0]["date"] == "2026-03-02"
    books = balances(store, f.tenant_id)["USD"]
    assert (books.of("4000"), books.of("1100")) == (D("-200.00"), D("50.00"))  # as if February never was
    # The revenue report ignores voids: it still counts February's 100.00.
    check_tie_out(store, f.tenant_id, voided_charges=D("100.00"))
    check_trial_balance(store)


def test_a_credit_note_posts_when_issued_and_once(store: Store) -> None:
    f = january(store)
    reserve(f, 1, 800, 840)  # February: 40 h = 100.00
    store.clock.set(at("2026-02-10T00:00:00"))
    store.ledger.credit_invoice(store.ledger.get_invoice(journal(store)[6]["reference"]).id, amount="20.00",
                                reason="goodwill")
    note = journal(store, **{"from": "2026-02", "to": "2026-02"})
    assert [(r["date"], r["account_code"], r["debit"], r["credit"]) for r in note] == [
        ("2026-02-10", "4000", D("20.00"), ZERO), ("2026-02-10", "1100", ZERO, D("20.00"))]
    check_tie_out(store, f.tenant_id, uncarried_notes=D("20.00"))  # billed as a credit line on the next invoice
    store.clock.set(at("2026-03-01T01:00:00"))
    february = store.issue(f.tenant_id, "2026-02")
    assert february.total == D("80.00")  # 100.00 - the 20.00 credit line
    check_tie_out(store, f.tenant_id)  # the credit line did not post a second time
    assert balances(store, f.tenant_id)["USD"].of("1100") == D("50.00") - D("20.00") + D("100.00")


def test_an_entry_for_a_closed_month_posts_in_the_next_open_month(store: Store) -> None:
    f = fleet(store.ledger)
    store.ledger.purchase_credits(f.tenant_id, amount="30.00", expires_at=at("2026-01-20T00:00:00"))
    store.clock.set(at("2026-03-02T00:00:00"))
    for month in ("2026-01", "2026-02"):
        store.ledger.close_month(month, journal_position=store.ledger.max_position(), invoices=0, balances=[])
    store.ledger.expire_credits(f.tenant_id)  # lapsed 2026-01-20, recorded in March: both months closed
    rows = journal(store, account="4100")
    assert [(r["month"], r["date"], r["credit"], r["description"]) for r in rows] == [
        ("2026-03", "2026-03-01", D("30.00"), "Paid credits expired (breakage) (late: period 2026-01 closed)")]
    assert check_trial_balance(store, to="2026-02") == {"USD": (D("30.00"), D("30.00"))}  # the purchase only
    check_trial_balance(store)


def test_the_account_filter_names_the_field_and_the_known_codes(store: Store) -> None:
    january(store)
    with pytest.raises(InvalidInput) as refused:
        journal(store, account="9999")
    assert refused.value.field == "account"
    assert "9999" in refused.value.message and "1100" in refused.value.message and "4900" in refused.value.message
    only = journal(store, account="2100")
    assert only and {r["account_code"] for r in only} == {"2100"}
    assert sum((r["credit"] - r["debit"] for r in only), ZERO) == ZERO


def test_a_rebuild_posts_the_same_rows(store: Store) -> None:
    f = january(store)
    store.clock.set(at("2026-02-02T00:00:00"))
    store.ledger.close_month("2026-01", journal_position=store.ledger.max_position(), invoices=1, balances=[])
    store.ledger.purchase_credits(f.tenant_id, amount="10.00", expires_at=at("2026-02-05T00:00:00"))
    store.clock.set(at("2026-02-06T00:00:00"))
    store.ledger.expire_credits(f.tenant_id)
    before = journal(store)
    before_tb = store.report("trial_balance")
    store.projections.rebuild("journal")
    assert journal(store) == before and store.report("trial_balance") == before_tb
