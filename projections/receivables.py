"""Receivables: each issued invoice with what was credited and paid on it, so what is still owed
and since when it is due (the ``receivables`` and ``receivables_aging`` reports age it at a day).

Per invoice: ``outstanding`` = total - credit notes - payments (never below 0: an overpayment's
excess is the tenant's credit balance, kept in its prepaid wallet, not here); a void invoice is
owed nothing. Invoices issued before numbering and payment terms existed have no number and no
due date: they are due on issue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import singledispatchmethod

from domain.aggregates import Invoice
from projections.projection import Batch, Positioned, Projection, text_id
from projections.rows import RowSet
from storage.database import Database
from storage.tables import Table

ZERO = Decimal(0)


@dataclass(slots=True)
class ReceivableRow:
    invoice_id: str
    number: str | None
    tenant_id: str
    month: str  # the period billed
    currency: str
    issued_on: str  # YYYY-MM-DD (UTC)
    due_date: str  # YYYY-MM-DD: issue + the tenant's payment terms (an unnumbered invoice: its issue day)
    total: Decimal
    credited: Decimal
    paid: Decimal
    void: int  # 1: voided (owes nothing)
    payments: int  # how many payments

    @property
    def outstanding(self) -> Decimal:
        return ZERO if self.void else max(ZERO, self.total - self.credited - self.paid)


RECEIVABLES = Table("ar_invoices", ReceivableRow, key=("invoice_id",), indexes=(("tenant_id",),))


@dataclass
class ReceivablesBatch(Batch):
    invoices: RowSet[ReceivableRow]

    def flush(self) -> None:
        self.invoices.flush()

    def invoice(self, invoice_id: object) -> ReceivableRow:
        row = self.invoices.require((text_id(invoice_id),), f"receivables: no Invoice.Issued seen for {invoice_id}")
        self.invoices.changed(row)
        return row


class Receivables(Projection):
    name = "receivables"
    title = "Receivables: every invoice with its credit notes, payments and what is still owed"
    tables = (RECEIVABLES,)

    def begin(self, db: Database, events: Sequence[Positioned]) -> ReceivablesBatch:
        return ReceivablesBatch(self.rows(db, RECEIVABLES))

    @singledispatchmethod
    def handle(self, event: object, batch: ReceivablesBatch) -> None:
        """Events without a handler are ignored."""

    @handle.register(Invoice.Issued)
    def _issued(self, event: Invoice.Issued, batch: ReceivablesBatch) -> None:
        issued_on = event.issued_at.date().isoformat()
        due: str | None = getattr(event, "due_date", None)
        batch.invoices.put(ReceivableRow(text_id(event.originator_id), getattr(event, "number", None),
                                         text_id(event.tenant_id), event.month, event.currency, issued_on,
                                         str(due) if due else issued_on, Decimal(event.total), ZERO, ZERO, 0, 0))

    @handle.register(Invoice.CreditNoteIssued)
    def _credited(self, event: Invoice.CreditNoteIssued, batch: ReceivablesBatch) -> None:
        batch.invoice(event.originator_id).credited += Decimal(event.amount)

    @handle.register(Invoice.Voided)
    def _voided(self, event: Invoice.Voided, batch: ReceivablesBatch) -> None:
        batch.invoice(event.originator_id).void = 1

    def _paid(self, event: object, batch: ReceivablesBatch) -> None:
        row = batch.invoice(getattr(event, "originator_id"))  # noqa: B009 - the payment event's invoice
        row.paid += Decimal(getattr(event, "amount"))  # noqa: B009
        row.payments += 1


_payment_recorded = getattr(Invoice, "PaymentRecorded", None)
if _payment_recorded is not None:  # payments (domain.aggregates.invoice): registered once they exist
    Receivables.__dict__["handle"].register(_payment_recorded)(Receivables._paid)
