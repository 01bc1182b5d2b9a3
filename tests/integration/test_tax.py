"""Tax on invoices (docs/finance.md, *Tax*): a tax line on the net total, rounded once per
invoice and rate; reverse charge a 0.00 line with its note; exempt no line; the journal posts tax
to 2200 (never revenue) and ties out to the revenue and tax reports; refusals name the field and
record nothing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from documents.model import document_of
from documents.render import render_html
from domain.errors import InvalidInput, LedgerError
from domain.money import quantize
from domain.timeutil import UTC
from tests.builders import Fleet, fleet, refused, reserve
from tests.commercial_helpers import Store, line, opened
from tests.journal_checks import balances, check_tie_out

D = Decimal


def at(month: int, day: int = 1, hours: int = 2) -> datetime:
    return datetime(2026, month, day, hours, tzinfo=UTC)


def january(store: Store, *, rate: str = "2.50", usage: tuple[tuple[int, int], ...] = ((2, 200),)) -> Fleet:
    """A fleet whose tenant books ``usage`` (gpus, hours) in January."""
    f = fleet(store.ledger, gpus=16, rate=rate)
    start = 24
    for gpus, hours in usage:
        reserve(f, gpus, start, start + hours)
        start += hours
    return f


def tax_total(store: Store, currency: str = "USD", **filters: Any) -> D:
    return sum((r["tax"] for r in store.report("tax", **filters) if r["currency"] == currency), D(0))


def test_a_standard_rate_invoice_carries_its_vat_line_and_the_books_keep_tax_out_of_revenue(sqlite_url: str) -> None:
    with opened(sqlite_url) as store:
        f = january(store)  # 2 GPUs x 200 h x 2.50 = 1,000.00
        store.ledger.set_tax_treatment(f.tenant_id, treatment="standard", rate="0.20", tax_name="VAT",
                                       vat_number="GB123456789")
        store.clock.set(at(2))
        invoice = store.issue(f.tenant_id, "2026-01")
        tax = line(invoice, "tax")
        assert tax is not None and invoice.lines[-1] is tax
        assert (tax["rate"], tax["tax_name"], tax["treatment"]) == (D("0.20"), "VAT", "standard")
        assert (tax["taxable"], tax["amount"]) == (D("1000.00"), D("200.00"))
        assert invoice.total == D("1200.00")
        revenue = store.report("revenue", tenant_id=str(f.tenant_id))
        assert [(r["billed"], r["amount_due"], r["tax"], r["recognised"]) for r in revenue] == [
            (D("1000.00"), D("1200.00"), D("200.00"), D("1000.00"))]
        books = balances(store, f.tenant_id)["USD"]
        assert (books.of("2200"), books.of("1100"), books.revenue) == (D("-200.00"), D("1200.00"), D("1000.00"))
        assert store.report("tax") == [{"month": "2026-01", "tax_name": "VAT", "rate": D("0.20"),
                                        "treatment": "standard", "currency": "USD", "taxable": D("1000.00"),
                                        "tax": D("200.00")}]
        assert store.report("receivables")[0]["total"] == D("1200.00")
        check_tie_out(store, f.tenant_id)
        html = render_html(document_of(store.ledger, invoice))
        assert "VAT 20 % on 1,000.00: 200.00" in html and "GB123456789" in html

        # A credit note is gross: its tax part is 120.00 x 0.20 / 1.20 = 20.00, out of 2200.
        store.clock.set(at(2, 10))
        store.ledger.credit_invoice(invoice.id, amount="120.00", reason="goodwill")
        assert store.ledger.get_invoice(invoice.id).credit_notes[0].tax == D("20.00")
        books = balances(store, f.tenant_id)["USD"]
        assert (books.of("2200"), books.revenue) == (D("-180.00"), D("900.00"))
        assert tax_total(store) == D("180.00")
        feb = store.report("tax", **{"from": "2026-02"})
        assert [(r["taxable"], r["tax"]) for r in feb] == [(D("-100.00"), D("-20.00"))]
        check_tie_out(store, f.tenant_id)


def test_reverse_charge_is_a_zero_line_with_its_note_and_exempt_has_no_line(sqlite_url: str) -> None:
    with opened(sqlite_url) as store:
        f = january(store)
        store.ledger.set_tax_treatment(f.tenant_id, treatment="reverse_charge", vat_number="DE811907980")
        store.clock.set(at(2))
        invoice = store.issue(f.tenant_id, "2026-01")
        tax = line(invoice, "tax")
        assert tax is not None and (tax["amount"], tax["treatment"], tax["rate"]) == (D("0.00"), "reverse_charge",
                                                                                       D(0))
        assert invoice.total == D("1000.00")
        html = render_html(document_of(store.ledger, invoice))
        assert "Reverse charge: the customer accounts for the VAT" in html and "DE811907980" in html
        assert [(r["treatment"], r["taxable"], r["tax"]) for r in store.report("tax")] == [
            ("reverse_charge", D("1000.00"), D("0.00"))]
        check_tie_out(store, f.tenant_id)

        store.ledger.set_tax_treatment(f.tenant_id, treatment="exempt")
        reserve(f, 1, 24 * 40, 24 * 40 + 10)  # February
        store.clock.set(at(3))
        february = store.issue(f.tenant_id, "2026-02")
        assert line(february, "tax") is None and february.total == D("25.00")
        assert "Reverse charge" not in render_html(document_of(store.ledger, february))
        check_tie_out(store, f.tenant_id)


def test_a_tenant_without_a_treatment_is_exempt(sqlite_url: str) -> None:
    with opened(sqlite_url) as store:
        f = january(store)
        assert store.ledger.get_tenant(f.tenant_id).tax.treatment == "exempt"
        store.clock.set(at(2))
        invoice = store.issue(f.tenant_id, "2026-01")
        assert line(invoice, "tax") is None and invoice.total == D("1000.00")
        assert store.report("tax") == []


def test_a_void_reverses_the_tax_in_the_month_voided(sqlite_url: str) -> None:
    with opened(sqlite_url) as store:
        f = january(store)
        store.ledger.set_tax_treatment(f.tenant_id, treatment="standard", rate="0.25", tax_name="MVA")
        store.clock.set(at(2))
        invoice = store.issue(f.tenant_id, "2026-01")
        store.clock.set(at(3, 5))
        store.ledger.void_invoice(invoice.id, reason="issued in error")
        assert balances(store, f.tenant_id)["USD"].of("2200") == 0
        assert [(r["month"], r["tax"]) for r in store.report("tax")] == [("2026-01", D("250.00")),
                                                                          ("2026-03", D("-250.00"))]
        check_tie_out(store, f.tenant_id)


@pytest.mark.parametrize(("fields", "field"), [
    ({"treatment": "zero_rated"}, "treatment"),
    ({"treatment": "standard"}, "rate"),
    ({"treatment": "standard", "rate": "0"}, "rate"),
    ({"treatment": "standard", "rate": "1.5"}, "rate"),
    ({"treatment": "standard", "rate": "0.123456"}, "rate"),
    ({"treatment": "standard", "rate": "twenty"}, "rate"),
    ({"treatment": "exempt", "rate": "0.20"}, "rate"),
    ({"treatment": "reverse_charge", "rate": "0.1"}, "rate"),
    ({"treatment": "standard", "rate": "0.20", "tax_name": " "}, "tax_name"),
    ({"treatment": "standard", "rate": "0.20", "vat_number": "GB 123/456"}, "vat_number"),
])
def test_a_bad_treatment_is_refused_naming_the_field(sqlite_url: str, fields: dict[str, Any], field: str) -> None:
    with opened(sqlite_url) as store:
        f = january(store)
        with refused(store.ledger, InvalidInput, field):
            store.ledger.set_tax_treatment(f.tenant_id, **fields)
        assert store.ledger.get_tenant(f.tenant_id).tax.treatment == "exempt"


def test_an_unknown_tenant_is_refused(sqlite_url: str) -> None:
    with opened(sqlite_url) as store, pytest.raises(LedgerError):
        store.ledger.set_tax_treatment("3fa85f64-5717-4562-b3fc-2c963f66afa6", treatment="exempt")


RATES = st.sampled_from(["0.20", "0.25", "0.075", "0.125", "0.05", "0.1925"])


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(plan_rate=st.sampled_from(["2.37", "1.99", "3.1415", "2.50"]), tax_rate=RATES,
       usage=st.lists(st.tuples(st.integers(1, 3), st.integers(1, 37)), min_size=1, max_size=4),
       credit=st.integers(0, 5_000))
def test_tax_is_rounded_once_per_invoice_and_never_revenue(tmp_path_factory: pytest.TempPathFactory, plan_rate: str,
                                                           tax_rate: str, usage: list[tuple[int, int]],
                                                           credit: int) -> None:
    with opened(str(tmp_path_factory.mktemp("tax") / "ledger.db")) as store:
        f = january(store, rate=plan_rate, usage=tuple(usage))
        store.ledger.set_tax_treatment(f.tenant_id, treatment="standard", rate=tax_rate)
        store.clock.set(at(2))
        invoice = store.issue(f.tenant_id, "2026-01")
        tax = line(invoice, "tax")
        assert tax is not None
        net = sum((D(str(entry["amount"])) for entry in invoice.lines if entry.get("kind") != "tax"), D(0))
        assert tax["taxable"] == net and tax["amount"] == quantize(net * D(tax_rate), "USD")
        assert invoice.total == net + tax["amount"]
        amount = min(D(credit) / 100, invoice.outstanding)
        if amount > 0:
            store.ledger.credit_invoice(invoice.id, amount=f"{amount:.2f}", reason="goodwill")
            note = store.ledger.get_invoice(invoice.id).credit_notes[0]
            assert note.tax == quantize(amount * D(tax_rate) / (1 + D(tax_rate)), "USD")
        books = balances(store, f.tenant_id)["USD"]
        assert -books.of("2200") == tax_total(store)
        assert books.revenue == sum((r["recognised"] for r in store.report("revenue")), D(0))
        check_tie_out(store, f.tenant_id)
