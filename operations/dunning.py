"""Dunning: the ONE place that finds each tenant's overdue invoices on a day and records the
dunning steps they reach.

``ledger dunning run [--on D]`` and ``POST /v1/dunning/runs`` call :func:`run_dunning`. The
invoices are read from the ledger itself (every ``Invoice.Issued`` in the log, each invoice
loaded), never from a projection, so a run is right however far the read side lags. On the
day ``on`` (default today, UTC, by the ledger's clock; never after today) an invoice is overdue
when it was issued by then, is not void, has a due date before ``on`` and still owes something
on ``on``: its total less the credit notes issued and the payments received by then. Which
steps that reaches, once per episode, is the tenant's ``DunningCase``'s
(``domain.aggregates.dunning``), and the suspension and the reinstatement are saved with it.

Refused, recording nothing, naming ``on``: a day that is not YYYY-MM-DD, a day after today, a
day before a step some tenant's case already recorded. Rerunning on the same day or later
records only what is new.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from domain import Ledger
from domain.aggregates import Invoice
from domain.aggregates.dunning import Overdue
from domain.attachments import NO_CONTEXT, CommandContext
from domain.errors import InvalidInput
from domain.money import quantize
from domain.service.dunning import DunningReceipt, DunningRunReceipt

__all__ = ["DunningRun", "check_on", "overdue_on", "run_dunning", "tenants_invoices"]

PAGE = 1000


def check_on(ledger: Ledger, on: object) -> date:
    """``on`` as a day (default today, UTC, by the ledger's clock), refused after today."""
    today = ledger.now().date()
    if on is None:
        return today
    if isinstance(on, date):
        day = on
    else:
        try:
            day = date.fromisoformat(str(on))
        except ValueError:
            raise InvalidInput(f"on: expected a day YYYY-MM-DD, got {on!r}", field="on") from None
    if day > today:
        raise InvalidInput(f"on: {day.isoformat()} is after today ({today.isoformat()}, UTC)", field="on")
    return day


def _issued_ids(ledger: Ledger) -> Iterator[UUID]:
    start = 1
    while True:
        page = ledger.recorder.select_notifications(start, PAGE, topics=[Invoice.Issued.TOPIC])
        for notification in page:
            yield UUID(str(notification.originator_id))
        if len(page) < PAGE:
            return
        start = page[-1].id + 1


def tenants_invoices(ledger: Ledger) -> dict[UUID, list[Invoice]]:
    """Every invoice in the log, by tenant, in issue order (read from the log and the aggregates)."""
    found: dict[UUID, list[Invoice]] = defaultdict(list)
    for ident in dict.fromkeys(_issued_ids(ledger)):
        invoice = ledger.get_invoice(ident)
        found[invoice.tenant_id].append(invoice)
    return dict(found)


def outstanding_on(invoice: Invoice, on: date) -> Decimal:
    """What ``invoice`` still owed on ``on``: its total less the credit notes issued and the
    payments received by then (never negative); a void invoice owes nothing."""
    if invoice.voided_reason is not None:
        return quantize(Decimal(0), invoice.currency)
    credited = sum((n.amount for n in invoice.credit_notes if n.issued_at.date() <= on), Decimal(0))
    paid = sum((p.amount for p in invoice.payments if date.fromisoformat(p.received_on) <= on), Decimal(0))
    return quantize(max(Decimal(0), invoice.total - credited - paid), invoice.currency)


def overdue_on(invoices: list[Invoice], on: date) -> list[Overdue]:
    """The invoices overdue on ``on`` (see the module's rule), oldest due date first."""
    out: list[Overdue] = []
    for invoice in invoices:
        if invoice.due_date is None or invoice.voided_reason is not None or invoice.issued_at.date() > on:
            continue
        days = (on - date.fromisoformat(invoice.due_date)).days
        owed = outstanding_on(invoice, on)
        if days > 0 and owed > 0:
            out.append(Overdue(invoice.id, invoice.label, invoice.due_date, days, owed, invoice.currency))
    return sorted(out, key=lambda item: (item.due_date, item.number))


@dataclass
class DunningRun:
    """What :func:`run_dunning` did on ``on``: the ledger's receipt (one per tenant it recorded
    something for, the events, the position) and how many tenants had something overdue."""

    on: date
    receipt: DunningRunReceipt
    overdue_tenants: int = 0

    @property
    def recorded(self) -> list[DunningReceipt]:
        return self.receipt.recorded

    @property
    def position(self) -> int | None:
        return self.receipt.position

    def count(self, kind: str) -> int:
        return sum(r.outcome.kinds.count(kind) for r in self.recorded)

    def summary(self) -> str:
        return (f"dunning {self.on.isoformat()}: {self.overdue_tenants} tenants overdue, "
                f"{self.count('reminder')} reminders, {self.count('suspension')} suspensions, "
                f"{self.count('resolved')} resolved")


def run_dunning(ledger: Ledger, *, on: object = None, context: CommandContext = NO_CONTEXT) -> DunningRun:
    """Run dunning on ``on`` for every tenant with invoices (module docstring), in one
    transaction; idempotent."""
    day = check_on(ledger, on)
    overdue = {tenant_id: overdue_on(invoices, day) for tenant_id, invoices in tenants_invoices(ledger).items()}
    receipt = ledger.record_dunning(on=day.isoformat(), overdue=overdue, context=context)
    return DunningRun(day, receipt, sum(1 for items in overdue.values() if items))
