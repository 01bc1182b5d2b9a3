"""Invoice and credit-note numbers, due dates and lookup by number (in-process store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from bootstrap import open_ledger
from domain import Ledger
from domain.aggregates import DocumentSequence, Invoice, sequence_id
from domain.aggregates.numbering import Numbering, parse_number
from domain.errors import InvalidInput, InvalidTransition, InvoiceAlreadyIssued, NotFound
from tests.builders import SimClock, refused, register_tenant

LINE = {"kind": "reservation", "amount": Decimal("100.00")}


def issue(ledger: Ledger, tenant: UUID, month: str = "2026-01", amount: str = "100.00") -> Invoice:
    written = ledger.issue_invoice(tenant_id=tenant, month=month, lines=[{**LINE, "amount": Decimal(amount)}],
                                   billed_through_position=0)
    return ledger.get_invoice(written.id)


@pytest.fixture
def ledger() -> Ledger:
    clock = SimClock(datetime(2026, 2, 10, 9, 30, tzinfo=UTC))
    opened = open_ledger("memory:", clock=clock)
    opened.test_clock = clock  # type: ignore[attr-defined]
    return opened


def test_invoice_numbers_are_consecutive_per_year_and_restart_each_year(ledger: Ledger) -> None:
    tenants = [register_tenant(ledger, name=f"Lab {i}") for i in range(3)]
    assert [issue(ledger, t).number for t in tenants] == ["GL-2026-000001", "GL-2026-000002", "GL-2026-000003"]
    ledger.test_clock.set(datetime(2027, 1, 5, tzinfo=UTC))  # type: ignore[attr-defined]
    assert [issue(ledger, t, "2026-12").number for t in tenants[:2]] == ["GL-2027-000001", "GL-2027-000002"]
    sequence = ledger.repository.get(sequence_id("GL", "invoice", 2026))
    assert isinstance(sequence, DocumentSequence) and sequence.last == 3


def test_credit_notes_have_their_own_sequence(ledger: Ledger) -> None:
    first = issue(ledger, register_tenant(ledger, name="A"))
    second = issue(ledger, register_tenant(ledger, name="B"))
    ledger.credit_invoice(first.number, amount="10.00", reason="SLA")
    ledger.credit_invoice(second.id, amount="5.00", reason="SLA")
    ledger.credit_invoice(first.id, amount="1.00", reason="goodwill")
    assert [n.number for n in ledger.get_invoice(first.id).credit_notes] == ["CN-2026-000001", "CN-2026-000003"]
    assert [n.number for n in ledger.get_invoice(second.id).credit_notes] == ["CN-2026-000002"]
    assert issue(ledger, register_tenant(ledger, name="C")).number == "GL-2026-000003"


def test_a_refused_issue_or_credit_note_takes_no_number(ledger: Ledger) -> None:
    tenant = register_tenant(ledger)
    first = issue(ledger, tenant)
    with refused(ledger, InvalidInput, "amount"):
        ledger.credit_invoice(first.id, amount="1000.00", reason="too much")
    with refused(ledger, InvoiceAlreadyIssued, "month"):
        issue(ledger, tenant)  # the month is invoiced already
    ledger.credit_invoice(first.id, amount="1.00", reason="ok")
    assert ledger.get_invoice(first.id).credit_notes[0].number == "CN-2026-000001"
    assert issue(ledger, register_tenant(ledger, name="B")).number == "GL-2026-000002"


def test_a_void_invoice_keeps_its_number_and_the_next_does_not_reuse_it(ledger: Ledger) -> None:
    voided = issue(ledger, register_tenant(ledger, name="A"))
    ledger.void_invoice(voided.number, reason="wrong tenant")
    again = ledger.get_invoice("GL-2026-000001")
    assert again.id == voided.id and again.status == "void" and again.number == "GL-2026-000001"
    assert issue(ledger, register_tenant(ledger, name="B")).number == "GL-2026-000002"


def test_lookup_by_number_refuses_malformed_unknown_and_credit_note_numbers(ledger: Ledger) -> None:
    invoice = issue(ledger, register_tenant(ledger))
    ledger.credit_invoice(invoice.id, amount="1.00", reason="x")
    assert ledger.get_invoice(" GL-2026-000001 ").id == invoice.id
    assert ledger.get_invoice(str(invoice.id)).id == invoice.id
    for ref in ("GL-2026-999999", "GL-2025-000001", "GL-2026-1", "CN-2026-000001", "nonsense", "XX-2026-000001",
                "GL-2026-0000001"):
        with pytest.raises(NotFound) as caught:
            ledger.get_invoice(ref)
        assert caught.value.message == f"invoice_id: no invoice numbered {ref!r}" and caught.value.field == "invoice_id"
    with pytest.raises(NotFound, match="invoice: no invoice numbered 'GL-2026-000002'"):
        ledger.record_payment("GL-2026-000002", amount="1.00", currency="USD", received_on="2026-02-10",
                              reference="R")


def test_the_due_date_is_the_issue_date_plus_the_tenants_terms_at_issue(ledger: Ledger) -> None:
    standard, slow = register_tenant(ledger, name="A"), register_tenant(ledger, name="B")
    ledger.set_payment_terms(slow, net_days=45)
    assert ledger.get_tenant(standard).payment_terms_days == 30
    first, second = issue(ledger, standard), issue(ledger, slow)
    assert (first.due_date, first.payment_terms_days) == ("2026-03-12", 30)
    assert (second.due_date, second.payment_terms_days) == ("2026-03-27", 45)
    ledger.set_payment_terms(slow, net_days=0)
    assert ledger.get_invoice(second.id).due_date == "2026-03-27"  # issued invoices keep their terms
    assert issue(ledger, slow, "2025-12").due_date == "2026-02-10"  # net 0: due the day it is issued
    for bad in (-1, 366, "30", True):
        with refused(ledger, InvalidInput, "net_days"):
            ledger.set_payment_terms(slow, net_days=bad)


def test_days_overdue_count_from_the_due_date_while_something_is_outstanding(ledger: Ledger) -> None:
    invoice = issue(ledger, register_tenant(ledger))
    due = datetime(2026, 3, 12, tzinfo=UTC).date()
    assert invoice.days_overdue(due) == 0 and invoice.days_overdue(due + timedelta(days=9)) == 9
    ledger.record_payment(invoice.id, amount="100.00", currency="USD", received_on="2026-02-10", reference="R")
    assert ledger.get_invoice(invoice.id).days_overdue(due + timedelta(days=9)) == 0


def test_numbering_follows_the_settings() -> None:
    ledger = open_ledger("memory:", clock=SimClock(datetime(2026, 2, 1, tzinfo=UTC)),
                         extra_env={"SELLER_CODE": "FJ", "INVOICE_PREFIX": "FJI", "CREDIT_NOTE_PREFIX": "FJC"})
    invoice = issue(ledger, register_tenant(ledger))
    ledger.credit_invoice(invoice.number, amount="1.00", reason="x")
    assert invoice.number == "FJI-2026-000001"
    assert ledger.get_invoice("FJI-2026-000001").credit_notes[0].number == "FJC-2026-000001"
    assert ledger.repository.get(sequence_id("FJ", "invoice", 2026)) is not None
    with pytest.raises(InvalidInput, match="credit_note_prefix"):
        Numbering(credit_note_prefix="GL")


def test_a_number_parses_into_its_parts() -> None:
    parsed = parse_number("GL-2026-000123")
    assert parsed is not None and (parsed.prefix, parsed.year, parsed.sequence) == ("GL", 2026, 123)
    assert parse_number("GL-26-000123") is None and parse_number("GL-2026-12") is None


def test_an_invoice_stored_before_numbering_is_upcast_without_number_or_due_date() -> None:
    state: dict[str, object] = {}
    Invoice.Issued.upcast_v2_v3(state)
    assert state == {"number": None, "due_date": None, "payment_terms_days": 30}
    note: dict[str, object] = {}
    Invoice.CreditNoteIssued.upcast_v1_v2(note)
    assert note == {"number": None}


def test_void_after_a_payment_is_refused_naming_the_credit_note(ledger: Ledger) -> None:
    invoice = issue(ledger, register_tenant(ledger), amount="2000.00")
    ledger.record_payment(invoice.number, amount="1000.00", currency="USD", received_on="2026-02-10",
                          reference="PAY-REF")
    before = ledger.max_position()
    with pytest.raises(InvalidTransition) as caught:
        ledger.void_invoice(invoice.number, reason="oops")
    assert ledger.max_position() == before
    assert caught.value.message == ("invoice GL-2026-000001 has payments (PAY-REF 1,000.00 on 2026-02-10); "
                                    "issue a credit note instead")
    assert ledger.get_invoice(invoice.id).status == "partially_paid"
