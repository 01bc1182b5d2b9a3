"""Helpers for the commercial-terms tests: a ledger and its projections on one store, invoices
issued the way finance issues them (lines from the billing projection), and the invariants."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from bootstrap import open_ledger
from domain import Ledger
from domain.aggregates import Invoice, Wallet
from domain.service.commercial import eligible_spend
from projections import Projections
from projections.journal_accounts import CREDIT, revenue_kind
from tests.builders import SimClock

ZERO = Decimal(0)


@dataclass
class Store:
    ledger: Ledger
    projections: Projections
    clock: SimClock

    def issue(self, tenant_id: UUID, month: str) -> Invoice:
        """Issue ``month``'s invoice from the billing projection once it has caught up."""
        self.projections.catch_up()
        lines, through = self.projections.invoice_lines(str(tenant_id), month)
        written = self.ledger.issue_invoice(tenant_id=tenant_id, month=month, lines=lines,
                                            billed_through_position=through)
        return self.ledger.get_invoice(written.id)

    def report(self, name: str, **filters: Any) -> list[dict[str, Any]]:
        self.projections.catch_up()
        return self.projections.report(name, filters)


@contextmanager
def opened(url: str, clock: SimClock | None = None) -> Iterator[Store]:
    clock = clock or SimClock()
    ledger = open_ledger(url, clock=clock)
    projections = Projections.open(url, app=ledger)
    try:
        yield Store(ledger, projections, clock)
    finally:
        projections.close()
        ledger.close()


def line(invoice: Invoice, kind: str) -> dict[str, Any] | None:
    found = [entry for entry in invoice.lines if entry.get("kind") == kind]
    assert len(found) <= 1, found
    return found[0] if found else None


def amount_of(invoice: Invoice, kind: str) -> Decimal:
    found = line(invoice, kind)
    return Decimal(str(found["amount"])) if found else ZERO


def check_wallet(wallet: Wallet) -> None:
    """A wallet's balance is never negative, and what it applied never exceeds what it got."""
    assert wallet.balance >= 0
    assert all(g.remaining >= 0 for g in wallet.grants.values())
    applied = wallet.total() - wallet.total(what="expired") - wallet.balance
    assert applied <= wallet.total() - wallet.total(what="expired")


def amount_due(invoices: list[Invoice]) -> Decimal:
    """What the revenue report's amounts due sum to over ``invoices`` (all of a tenant's), by the
    rules of ``projections.commercial``: each invoice not void adds its total less the credit-note
    lines it carries (counted when the notes were issued), and each credit note takes its amount
    off when issued. So, with no voids: the totals less the notes not yet carried onto an invoice."""
    due = ZERO
    for invoice in invoices:
        if invoice.status != "void":
            due += invoice.total - sum((Decimal(str(x["amount"])) for x in invoice.lines
                                        if revenue_kind(x) == CREDIT), ZERO)
        due -= invoice.credited
    return due


def check_recognition(store: Store, tenant_id: UUID, invoices: list[Invoice], purchased: Decimal) -> None:
    """sum(recognised) + closing deferred = sum(amounts due) + paid credits purchased, to the cent,
    and the report's amounts due are exactly ``amount_due(invoices)`` (as they stand now)."""
    invoices = [store.ledger.get_invoice(i.id) for i in invoices]
    rows = store.report("revenue", tenant_id=str(tenant_id))
    recognised = sum((r["recognised"] for r in rows), ZERO)
    deferred = rows[-1]["deferred_closing"] if rows else ZERO
    due = amount_due(invoices)
    assert sum((r["amount_due"] for r in rows), ZERO) == due, (rows, due)
    assert recognised + deferred == due + purchased, (recognised, deferred, due, purchased)
    for invoice in invoices:
        assert invoice.total >= 0 or eligible_spend(invoice.lines) < 0
