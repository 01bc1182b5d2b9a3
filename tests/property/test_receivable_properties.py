"""For any sequence of payments, credit notes and void attempts on an invoice: paid + outstanding
+ credited = total (a void invoice owes nothing), the status is the one its figures say, a
refusal records nothing, and a payment's excess is exactly what went beyond the outstanding."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bootstrap import open_ledger
from domain.errors import LedgerError
from tests.builders import SimClock, register_tenant

CENTS = st.integers(min_value=1, max_value=15_000).map(lambda c: Decimal(c).scaleb(-2))
STEPS = st.lists(st.one_of(st.tuples(st.just("pay"), CENTS), st.tuples(st.just("credit"), CENTS),
                           st.tuples(st.just("void"), st.just(Decimal(0)))), max_size=8)


def expected_status(paid: Decimal, outstanding: Decimal, void: bool) -> str:
    if void:
        return "void"
    if outstanding == 0:
        return "paid"
    return "partially_paid" if paid > 0 else "issued"


@settings(max_examples=40, deadline=None)
@given(total=CENTS, steps=STEPS)
def test_paid_plus_outstanding_plus_credited_is_the_total(total: Decimal, steps: list[tuple[str, Decimal]]) -> None:
    ledger = open_ledger("memory:", clock=SimClock(datetime(2026, 2, 10, tzinfo=UTC)))
    try:
        tenant = register_tenant(ledger)
        ident = ledger.issue_invoice(tenant_id=tenant, month="2026-01", billed_through_position=0,
                                     lines=[{"kind": "reservation", "amount": total}]).id
        excess = Decimal(0)
        for kind, amount in steps:
            before_position, before = ledger.max_position(), ledger.get_invoice(ident)
            try:
                if kind == "pay":
                    ledger.record_payment(ident, amount=amount, currency="USD", received_on="2026-02-10",
                                          reference="R")
                    after = ledger.get_invoice(ident)
                    assert after.payments[-1].amount == min(amount, before.outstanding)
                    assert after.payments[-1].excess == amount - after.payments[-1].amount
                    excess += after.payments[-1].excess
                elif kind == "credit":
                    ledger.credit_invoice(ident, amount=amount, reason="r")
                else:
                    ledger.void_invoice(ident, reason="r")
                    assert not before.payments and not before.credit_notes
            except LedgerError:
                assert ledger.max_position() == before_position
            invoice = ledger.get_invoice(ident)
            if invoice.voided_reason is None:
                assert invoice.paid + invoice.outstanding + invoice.credited == invoice.total
            else:  # a void invoice owes nothing (it had no payments nor credit notes: both refuse a void)
                assert invoice.outstanding == 0 and invoice.paid == invoice.credited == 0
            assert invoice.outstanding >= 0
            assert invoice.status == expected_status(invoice.paid, invoice.outstanding,
                                                     invoice.voided_reason is not None)
        wallet_balance = ledger.get_wallet(tenant).balance if excess else Decimal(0)
        assert wallet_balance == excess
    finally:
        ledger.close()
