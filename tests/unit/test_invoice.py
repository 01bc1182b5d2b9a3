"""Invoice: issued at most once per tenant and closed month; never changed, only voided or credited."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain import Ledger
from domain.errors import InvalidInput, InvalidTransition, InvoiceAlreadyIssued, NotFound
from tests.builders import SimClock, hour, refused, register_tenant

LINES = [{"description": "H100-SXM 4 GPUs x 10 h", "amount": "100.00"}, {"description": "credit", "amount": "-5.50"}]


@pytest.fixture
def tenant(memory_ledger: Ledger, clock: SimClock) -> object:
    clock.set(hour(24 * 40))  # 2026-02-10: January is closed
    return register_tenant(memory_ledger)


def test_an_invoice_totals_its_lines(memory_ledger: Ledger, tenant: object) -> None:
    invoice = memory_ledger.get_invoice(memory_ledger.issue_invoice(tenant_id=tenant, month="2026-01", lines=LINES,
                                                                    billed_through_position=7).id)
    assert (invoice.month, invoice.currency, invoice.total, invoice.status) == (
        "2026-01", "USD", Decimal("94.50"), "issued")


def test_at_most_one_invoice_per_tenant_and_month(memory_ledger: Ledger, tenant: object) -> None:
    first = memory_ledger.issue_invoice(tenant_id=tenant, month="2026-01", lines=LINES, billed_through_position=7)
    with refused(memory_ledger, InvoiceAlreadyIssued, "month"):
        memory_ledger.issue_invoice(tenant_id=tenant, month="2026-01", lines=[], billed_through_position=9)
    memory_ledger.void_invoice(first.id, reason="wrong rate")
    with refused(memory_ledger, InvoiceAlreadyIssued, "month"):  # a void invoice still occupies its month
        memory_ledger.issue_invoice(tenant_id=tenant, month="2026-01", lines=[], billed_through_position=9)
    other = register_tenant(memory_ledger, name="Other Lab")
    memory_ledger.issue_invoice(tenant_id=other, month="2026-01", lines=[], billed_through_position=9)
    assert memory_ledger.get_invoice(first.id).total == Decimal("94.50")


@pytest.mark.parametrize(("month", "field"), [("2026-02", "month"), ("2026-13", "month"), ("2026-1", "month"),
                                              ("January", "month"), (202601, "month")])
def test_open_or_malformed_months_are_refused(memory_ledger: Ledger, tenant: object, month: object, field: str) -> None:
    with refused(memory_ledger, InvalidInput, field):
        memory_ledger.issue_invoice(tenant_id=tenant, month=month, lines=[], billed_through_position=0)


def test_lines_must_be_exact_amounts_in_the_tenants_currency(memory_ledger: Ledger, tenant: object) -> None:
    with refused(memory_ledger, InvalidInput, "lines[1].amount"):
        memory_ledger.issue_invoice(tenant_id=tenant, month="2026-01", billed_through_position=0,
                                    lines=[{"amount": "1"}, {"amount": "0.001"}])
    with refused(memory_ledger, InvalidInput, "lines[0].amount"):
        memory_ledger.issue_invoice(tenant_id=tenant, month="2026-01", billed_through_position=0,
                                    lines=[{"amount": 1.5}])
    with refused(memory_ledger, NotFound, "tenant_id"):
        memory_ledger.issue_invoice(tenant_id="00000000-0000-0000-0000-00000000beef", month="2026-01",
                                    billed_through_position=0, lines=[])


def test_credit_notes_never_exceed_the_invoice_and_a_void_invoice_takes_none(memory_ledger: Ledger,
                                                                               tenant: object) -> None:
    invoice_id = memory_ledger.issue_invoice(tenant_id=tenant, month="2026-01", lines=LINES,
                                             billed_through_position=7).id
    memory_ledger.credit_invoice(invoice_id, amount="90.00", reason="outage")
    with refused(memory_ledger, InvalidInput, "amount"):
        memory_ledger.credit_invoice(invoice_id, amount="4.51", reason="outage")
    memory_ledger.credit_invoice(invoice_id, amount="4.50", reason="outage")
    invoice = memory_ledger.get_invoice(invoice_id)
    assert (invoice.total, invoice.credited) == (Decimal("94.50"), Decimal("94.50"))
    with refused(memory_ledger, InvalidTransition):  # credited: only more credit notes, never a void
        memory_ledger.void_invoice(invoice_id, reason="reissued")
    february = memory_ledger.issue_invoice(tenant_id=tenant, month="2025-12", lines=LINES,
                                           billed_through_position=8).id
    memory_ledger.void_invoice(february, reason="reissued")
    with refused(memory_ledger, InvalidTransition):
        memory_ledger.void_invoice(february, reason="again")
    with refused(memory_ledger, InvalidTransition):
        memory_ledger.credit_invoice(february, amount="0.01", reason="late")
