"""The journal and the trial balance on the in-process SQLite ledger: what a controller checks.

Scenario (USD, H100 plan rate 2.50): 100.00 paid credits, 50.00 granted (first), 40.00 paid
expiring 2026-01-15 (breakage). January bills 2 GPUs x 40 h = 200.00, issued on 2026-02-01: the
invoice posts in January dated 2026-01-31; credits pay 150.00 (granted 50.00, paid 100.00),
amount due 50.00.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import domain.service.commercial as commercial_service
from domain.errors import InvalidInput, InvalidTransition
from projections import billing
from projections.billing import BillingBatch
from projections.billing_rows import LineRow
from projections.journal_accounts import ACCOUNTS, CHART, UnknownLineKind, line_account
from tests.builders import Fleet, fleet, refused, reserve
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


def test_a_void_reverses_the_whole_invoice_and_the_paid_credits_it_consumed_are_forfeited(store: Store) -> None:
    f = january(store)
    store.clock.set(at("2026-03-02T00:00:00"))
    invoice = store.ledger.get_invoice(journal(store)[6]["reference"])
    store.ledger.void_invoice(invoice.id, reason="wrong rate")
    rows = journal(store, **{"from": "2026-03", "to": "2026-03"})
    check_entries_balance(rows)
    assert [(r["account_code"], r["debit"], r["credit"]) for r in rows] == [
        ("4000", D("200.00"), ZERO),  # what Issued credited to revenue
        ("1100", ZERO, D("50.00")),  # the amount due
        ("4900", ZERO, D("50.00")),  # the granted credits it consumed
        ("4110", ZERO, D("100.00"))]  # the paid credits it consumed: gone, so recognised
    assert {r["reference"] for r in rows} == {str(invoice.id)}
    assert rows[0]["description"] == "Invoice 2026-01 voided: wrong rate" and rows[0]["date"] == "2026-03-02"
    assert {(r["month"], r["period"]) for r in rows} == {("2026-03", "2026-03")}
    books = balances(store, f.tenant_id)["USD"]
    assert (books.of("1100"), books.of("4000"), books.of("4900"), books.of("4110")) == \
        (ZERO, ZERO, ZERO, D("-100.00"))
    assert books.revenue == D("140.00")  # 100.00 paid credits forfeited + 40.00 breakage
    march = store.report("revenue", tenant_id=str(f.tenant_id), **{"from": "2026-03", "to": "2026-03"})
    assert [(r["billed"], r["amount_due"], r["paid_credits_applied"], r["recognised"]) for r in march] == [
        (D("-200.00"), D("-50.00"), ZERO, D("-50.00"))]
    check_tie_out(store, f.tenant_id)
    check_trial_balance(store)


def test_a_credit_note_is_recognised_when_issued_on_both_sides_and_once(store: Store) -> None:
    f = january(store)
    reserve(f, 1, 800, 840)  # February: 40 h = 100.00
    store.clock.set(at("2026-02-10T00:00:00"))
    store.ledger.credit_invoice(store.ledger.get_invoice(journal(store)[6]["reference"]).id, amount="20.00",
                                reason="goodwill")
    note = journal(store, **{"from": "2026-02", "to": "2026-02"})
    assert [(r["date"], r["account_code"], r["debit"], r["credit"]) for r in note] == [
        ("2026-02-10", "4910", D("20.00"), ZERO), ("2026-02-10", "1100", ZERO, D("20.00"))]
    february = store.report("revenue", tenant_id=str(f.tenant_id), **{"from": "2026-02", "to": "2026-02"})
    assert [(r["billed"], r["amount_due"], r["recognised"]) for r in february] == [
        (D("-20.00"), D("-20.00"), D("-20.00"))]
    check_tie_out(store, f.tenant_id)  # the note lowers what January's invoice owes, at once
    store.clock.set(at("2026-03-01T01:00:00"))
    invoice = store.issue(f.tenant_id, "2026-02")
    assert invoice.total == D("100.00")  # the note is not carried onto February: it was settled on January's
    check_tie_out(store, f.tenant_id)
    february = store.report("revenue", tenant_id=str(f.tenant_id), **{"from": "2026-02", "to": "2026-02"})
    assert [(r["billed"], r["amount_due"]) for r in february] == [(D("80.00"), D("80.00"))]
    assert balances(store, f.tenant_id)["USD"].of("1100") == D("50.00") - D("20.00") + D("100.00")
    owed = {r["month"]: r["outstanding"] for r in store.report("receivables")}
    assert owed == {"2026-01": D("30.00"), "2026-02": D("100.00")}


def test_an_invoice_with_credit_notes_cannot_be_voided(store: Store) -> None:
    january(store)
    invoice = store.ledger.get_invoice(journal(store)[6]["reference"])
    store.ledger.credit_invoice(invoice.id, amount="10.00", reason="goodwill")
    with refused(store.ledger, InvalidTransition):
        store.ledger.void_invoice(invoice.id, reason="wrong rate")
    with pytest.raises(InvalidTransition, match="credit notes were issued against this invoice; credit the rest "
                                                "instead of voiding it"):
        store.ledger.void_invoice(invoice.id, reason="wrong rate")
    assert store.ledger.get_invoice(invoice.id).status == "issued"


def kinds_in(module: ModuleType) -> set[str]:
    """The invoice line kinds a module's code writes: the values of "kind" keys of dict literals,
    the constants assigned to a name ``kind`` (also by tuple unpacking, and through the return
    tuples of the function unpacked into it), and the ``kind`` argument of ``LineRow(...)`` and
    ``.line(...)`` calls (by position or by name)."""
    tree = ast.parse(Path(inspect.getfile(module)).read_text())
    found: set[str] = set()

    def constants(node: ast.AST | None) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
        elif isinstance(node, ast.IfExp):
            constants(node.body)
            constants(node.orelse)

    returns: dict[str, int] = {}  # function name -> index of kind in the tuple it returns
    positional = {"LineRow": [f.name for f in fields(LineRow)].index("kind"),
                  "line": list(inspect.signature(BillingBatch.line).parameters).index("kind") - 1}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "kind":
                    constants(value)
        elif isinstance(node, ast.Assign | ast.For):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            value = node.value if isinstance(node, ast.Assign) else None
            if isinstance(target, ast.Name) and target.id == "kind":
                constants(value)
            elif isinstance(target, ast.Tuple):
                names = [e.id if isinstance(e, ast.Name) else "" for e in target.elts]
                if "kind" in names:
                    index = names.index("kind")
                    if isinstance(value, ast.Tuple):
                        constants(value.elts[index])
                    call = value if isinstance(value, ast.Call) else getattr(node, "iter", None)
                    if isinstance(call, ast.Call):
                        name = getattr(call.func, "attr", getattr(call.func, "id", ""))
                        returns[name] = index
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in positional and len(node.args) > positional[name]:
                constants(node.args[positional[name]])
            for keyword in node.keywords:
                if keyword.arg == "kind":
                    constants(keyword.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in returns:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return | ast.Yield) and isinstance(inner.value, ast.Tuple) \
                        and len(inner.value.elts) > returns[node.name]:
                    constants(inner.value.elts[returns[node.name]])
    return found


def test_every_line_kind_the_billing_code_writes_has_an_account_and_an_unknown_one_raises() -> None:
    kinds = kinds_in(billing) | kinds_in(commercial_service)
    assert {"reservation", "on_demand", "cancellation_fee", "adjustment", "true_up", "termination_fee",
            "credits_applied"} <= kinds, kinds  # the finder finds them all (``credit``: stores before receivables)
    keys = ["reservation:r1", "adjustment:r1:2026-01", "adjustment-fee:r1:2026-01", "fee:r1",
            "reconciliation:2026-01:reservation:r1", "reconciliation:2026-01:fee:r1",
            "reconciliation:2026-02:reconciliation:2026-01:adjustment:r1:2025-12",
            "reconciliation:2026-01:credit:i1:7"]
    expected = {"reservation:r1": "4010", "adjustment:r1:2026-01": "4010", "adjustment-fee:r1:2026-01": "4020",
                "fee:r1": "4020", "reconciliation:2026-01:reservation:r1": "4010",
                "reconciliation:2026-01:fee:r1": "4020",
                "reconciliation:2026-02:reconciliation:2026-01:adjustment:r1:2025-12": "4010",
                "reconciliation:2026-01:credit:i1:7": None}
    for key in keys:  # an adjustment posts to what it adjusts (r1 is on demand)
        account = line_account({"kind": "adjustment", "line_key": key, "reservation_id": "r1"}, lambda _: "on_demand")
        assert (account.code if account else None) == expected[key], key
    for kind in kinds:
        line = {"kind": kind, "line_key": "reservation:r1", "reservation_id": "r1"}
        account = line_account(line, lambda _: "reserved")
        assert account is None or account.type == "revenue", kind
        assert (account is None) == (kind in ("credit", "credits_applied")), kind
    assert line_account({"kind": "true_up"}, lambda _: "reserved") == ACCOUNTS["4030"]
    assert line_account({"kind": "termination_fee"}, lambda _: "reserved") == ACCOUNTS["4020"]
    for unknown in ({"kind": "rebate"}, {"kind": "adjustment", "line_key": "mystery:1"},
                    {"kind": "adjustment", "line_key": "reconciliation:2026-01:true_up:c:2026-01"}):
        with pytest.raises(UnknownLineKind):
            line_account(unknown, lambda _: "reserved")


def test_the_chart_types_and_revenue_by_kind(store: Store) -> None:
    f = january(store)
    assert {a.type for a in CHART} <= {"asset", "liability", "revenue", "expense", "equity"}
    assert {a.code for a in CHART if a.type == "revenue" and a.normal == "debit"} == {"4900", "4910"}
    rows = store.report("trial_balance", to="2026-01")
    assert {r["account_code"]: r["account_type"] for r in rows} == {
        "1100": "asset", "1110": "asset", "2100": "liability", "4000": "revenue", "4100": "revenue",
        "4900": "revenue"}
    assert balances(store, f.tenant_id)["USD"].revenue == D("190.00")


def test_an_entry_for_a_closed_month_posts_in_the_next_open_month(store: Store) -> None:
    f = fleet(store.ledger)
    store.ledger.purchase_credits(f.tenant_id, amount="30.00", expires_at=at("2026-01-20T00:00:00"))
    store.clock.set(at("2026-03-02T00:00:00"))
    for month in ("2026-01", "2026-02"):
        store.ledger.close_month(month, journal_position=store.ledger.max_position(), invoices=0, balances=[])
    store.ledger.expire_credits(f.tenant_id)  # lapsed 2026-01-20, recorded in March: both months closed
    rows = journal(store, account="4100")
    assert [(r["month"], r["period"], r["date"], r["credit"], r["description"]) for r in rows] == [
        ("2026-03", "2026-01", "2026-03-01", D("30.00"),
         "Paid credits expired (breakage) (late: period 2026-01 closed)")]
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


def test_a_payment_moves_the_receivable_to_cash_and_an_overpayment_to_the_credit_balance(store: Store) -> None:
    f = january(store)
    invoice = store.ledger.get_invoice(store.report("receivables")[0]["invoice_id"])
    assert invoice.total == D("50.00")
    store.ledger.record_payment(invoice.id, amount="20.00", currency="USD", received_on="2026-02-01",
                                reference="BANK-1")
    store.clock.set(at("2026-02-03T09:00:00"))
    store.ledger.record_payment(invoice.number, amount="45.00", currency="USD", received_on="2026-02-03",
                                reference="BANK-2")  # 30.00 settles it, 15.00 is an overpayment
    rows = journal(store, **{"from": "2026-02", "to": "2026-02"})
    check_entries_balance(rows)
    cash = [(r["account_code"], r["debit"], r["credit"], r["date"]) for r in rows if r["account_code"] in
            ("1000", "1100", "1110")]
    assert cash == [("1000", D("20.00"), ZERO, "2026-02-01"), ("1100", ZERO, D("20.00"), "2026-02-01"),
                    ("1000", D("45.00"), ZERO, "2026-02-03"), ("1100", ZERO, D("30.00"), "2026-02-03"),
                    ("1110", ZERO, D("15.00"), "2026-02-03"),  # the overpayment pays for credits...
                    ("1110", D("15.00"), ZERO, "2026-02-03")]  # ...bought in the same save
    check_trial_balance(store)
    check_tie_out(store, f.tenant_id)
    [usd] = balances(store, f.tenant_id).values()
    assert (usd.of("1000"), usd.of("1100"), usd.of("1110")) == (D("65.00"), ZERO, D("100.00") + D("40.00"))
    assert store.report("receivables") == []
