"""Payments against invoices on SQLite, issued the way finance issues them (lines from the billing
projection): partial, full and over-payments, the overpayment's credit consumed by the next
invoice, each refusal recording nothing, and the number audit of `ledger audit verify`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from domain.aggregates import Invoice
from domain.errors import Conflict, InvalidInput, InvalidTransition, NotFound, UnknownCurrency
from domain.timeutil import UTC
from operations.numbering_audit import verify_numbering
from tests.builders import SimClock, fleet, refused, reserve
from tests.commercial_helpers import Store, amount_of, check_wallet, opened

JAN_HOURS = 10  # 4 GPUs x 10 hours x 2.50 = 100.00


def january_invoice(store: Store) -> tuple[Invoice, object]:
    f = fleet(store.ledger)
    reserve(f, 4, 1, 1 + JAN_HOURS)
    store.clock.set(datetime(2026, 2, 2, 10, tzinfo=UTC))
    return store.issue(f.tenant_id, "2026-01"), f


@pytest.fixture
def store(sqlite_url: str) -> Store:
    with opened(sqlite_url, SimClock()) as opened_store:
        yield opened_store  # type: ignore[misc]


def test_half_a_payment_then_the_rest(store: Store) -> None:
    invoice, _ = january_invoice(store)
    assert (invoice.number, invoice.total, invoice.status, invoice.due_date) == (
        "GL-2026-000001", Decimal("100.00"), "issued", "2026-03-04")
    half = store.ledger.record_payment(invoice.number, amount="50.00", currency="USD", received_on="2026-02-02",
                                       reference="BANK-1")
    paid = store.ledger.get_invoice(half.id)
    assert (paid.status, paid.paid, paid.outstanding) == ("partially_paid", Decimal("50.00"), Decimal("50.00"))
    store.ledger.record_payment(str(invoice.id), amount="50.00", currency="USD", received_on="2026-02-02",
                                reference="BANK-2")
    paid = store.ledger.get_invoice(invoice.id)
    assert (paid.status, paid.paid, paid.outstanding) == ("paid", Decimal("100.00"), Decimal("0.00"))
    assert [p.reference for p in paid.payments] == ["BANK-1", "BANK-2"] and paid.days_overdue(
        datetime(2026, 6, 1).date()) == 0
    with refused(store.ledger, InvalidTransition):
        store.ledger.record_payment(invoice.number, amount="1.00", currency="USD", received_on="2026-02-02",
                                    reference="BANK-3")
    assert verify_numbering(store.ledger).ok


def test_an_overpayment_pays_and_credits_the_wallet_which_the_next_invoice_consumes(store: Store) -> None:
    invoice, f = january_invoice(store)
    reserve(f, 4, 24 * 40, 24 * 40 + 20)  # February: 4 x 20 x 2.50 = 200.00
    store.ledger.record_payment(invoice.number, amount="130.00", currency="USD", received_on="2026-02-02",
                                reference="BANK-OVER")
    paid = store.ledger.get_invoice(invoice.id)
    assert (paid.status, paid.paid, paid.outstanding) == ("paid", Decimal("100.00"), Decimal("0.00"))
    assert (paid.payments[0].amount, paid.payments[0].excess) == (Decimal("100.00"), Decimal("30.00"))
    wallet = store.ledger.get_wallet(f.tenant_id)  # type: ignore[attr-defined]
    [grant] = wallet.grants.values()
    assert (wallet.balance, grant.paid, grant.priority) == (Decimal("30.00"), True, 0)
    store.clock.set(datetime(2026, 3, 2, tzinfo=UTC))
    march = store.issue(f.tenant_id, "2026-02")  # type: ignore[attr-defined]
    assert amount_of(march, "credits_applied") == Decimal("-30.00") and march.total == Decimal("170.00")
    assert march.number == "GL-2026-000002" and store.ledger.get_wallet(f.tenant_id).balance == 0  # type: ignore
    check_wallet(store.ledger.get_wallet(f.tenant_id))  # type: ignore[attr-defined]


def test_the_same_payment_id_again_records_nothing_and_returns_the_same_receipt(store: Store) -> None:
    invoice, _ = january_invoice(store)
    kwargs = {"amount": "40.00", "currency": "USD", "received_on": "2026-02-02", "reference": "BANK-1",
              "payment_id": "9b2f4c1e-1111-4a5b-8c9d-000000000001"}
    first = store.ledger.record_payment(invoice.number, **kwargs)  # type: ignore[arg-type]
    before = store.ledger.max_position()
    assert store.ledger.record_payment(invoice.id, **kwargs) == first  # type: ignore[arg-type]
    assert store.ledger.max_position() == before and len(store.ledger.get_invoice(invoice.id).payments) == 1
    with refused(store.ledger, Conflict, "payment_id"):
        store.ledger.record_payment(invoice.id, **{**kwargs, "amount": "41.00"})  # type: ignore[arg-type]


@pytest.mark.parametrize("change, error, field", [
    ({"currency": "GBP"}, InvalidInput, "currency"),
    ({"currency": "XXX"}, UnknownCurrency, "currency"),
    ({"received_on": "2026-02-01"}, InvalidInput, "received_on"),  # before the issue date
    ({"received_on": "2026-02-03"}, InvalidInput, "received_on"),  # after today (the ledger's clock)
    ({"received_on": "2026-02-30"}, InvalidInput, "received_on"),
    ({"amount": "0"}, InvalidInput, "amount"),
    ({"amount": "-5.00"}, InvalidInput, "amount"),
    ({"amount": "10.001"}, InvalidInput, "amount"),
    ({"reference": "  "}, InvalidInput, "reference"),
    ({"invoice": "GL-2026-000099"}, NotFound, "invoice"),
])
def test_each_refused_payment_names_its_field_and_records_nothing(store: Store, change: dict[str, str],
                                                                  error: type[Exception], field: str) -> None:
    invoice, _ = january_invoice(store)
    body = {"amount": "10.00", "currency": "USD", "received_on": "2026-02-02", "reference": "R", **change}
    ref = body.pop("invoice", invoice.number)
    with refused(store.ledger, error, field):  # type: ignore[arg-type]
        store.ledger.record_payment(ref, **body)
    assert store.ledger.get_invoice(invoice.id).payments == []


def test_a_void_invoice_takes_no_payment_and_a_paid_one_cannot_be_voided(store: Store) -> None:
    invoice, _ = january_invoice(store)
    store.ledger.record_payment(invoice.number, amount="1000.00", currency="USD", received_on="2026-02-02",
                                reference="PAY-REF")
    with refused(store.ledger, InvalidTransition):
        store.ledger.void_invoice(invoice.number, reason="wrong")
    note = store.ledger.credit_invoice  # a paid invoice has nothing outstanding to credit
    with refused(store.ledger, InvalidInput, "amount"):
        note(invoice.number, amount="1.00", reason="late")
    other = fleet(store.ledger)
    reserve(other, 1, 24 * 40, 24 * 40 + 2)
    store.clock.set(datetime(2026, 3, 2, tzinfo=UTC))
    second = store.issue(other.tenant_id, "2026-02")
    store.ledger.void_invoice(second.number, reason="duplicate")
    with refused(store.ledger, InvalidTransition):
        store.ledger.record_payment(second.number, amount="1.00", currency="USD", received_on="2026-03-02",
                                    reference="R")
    assert store.ledger.get_invoice(second.id).number == "GL-2026-000002"


def test_a_credit_note_and_a_payment_leave_the_rest_outstanding(store: Store) -> None:
    invoice, _ = january_invoice(store)
    store.ledger.credit_invoice(invoice.number, amount="20.00", reason="SLA")
    store.ledger.record_payment(invoice.number, amount="50.00", currency="USD", received_on="2026-02-02",
                                reference="R")
    found = store.ledger.get_invoice(invoice.number)
    assert (found.credited, found.paid, found.outstanding, found.status) == (
        Decimal("20.00"), Decimal("50.00"), Decimal("30.00"), "partially_paid")
    assert found.credit_notes[0].number == "CN-2026-000001"
    report = verify_numbering(store.ledger)
    assert report.ok and (report.numbers, report.sequences) == (2, 2)


def test_the_number_audit_names_a_gap_in_a_sequence(store: Store) -> None:
    import json

    from eventsourcing.persistence import StoredEvent

    from domain.aggregates import sequence_id

    invoice, _ = january_invoice(store)
    ident = sequence_id("GL", "invoice", 2026)
    forged = {"originator_id": {"_type_": "uuid_hex", "_data_": ident.hex}, "originator_version": 3,
              "timestamp": {"_type_": "datetime_iso", "_data_": "2026-02-02T10:00:00+00:00"},
              "sequence": 3, "number": "GL-2026-000003",
              "document_id": {"_type_": "uuid_hex", "_data_": invoice.id.hex}}
    store.ledger.recorder.insert_events([StoredEvent(originator_id=ident, originator_version=3,
                                                     topic="ledger:DocumentSequence.NumberAssigned",
                                                     state=json.dumps(forged).encode())])
    report = verify_numbering(store.ledger)
    assert not report.ok and report.reason == "sequence GL-2026 skips to 3 after 1"
