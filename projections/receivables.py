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


@dataclass(slots=True)
class StatementEntryRow:
    """One line of a tenant's statement of account: what changed what the tenant owes."""

    position: int  # the event's log position (the statement's order)
    tenant_id: str
    currency: str
    date: str  # YYYY-MM-DD (UTC)
    kind: str  # invoice | credit_note | payment | void
    number: str | None  # the invoice's (or the credit note's) number
    invoice_id: str
    reference: str | None  # a payment's bank reference
    amount: Decimal  # signed: + owed more (an invoice), - owed less (credit note, payment, void)
    note: str


RECEIVABLES = Table("ar_invoices", ReceivableRow, key=("invoice_id",), indexes=(("tenant_id",),))
ENTRIES = Table("ar_entries", StatementEntryRow, key=("position",), indexes=(("tenant_id", "position"),))


@dataclass
class ReceivablesBatch(Batch):
    invoices: RowSet[ReceivableRow]
    entries: RowSet[StatementEntryRow]

    def flush(self) -> None:
        self.invoices.flush()
        self.entries.flush()

    def entry(self, invoice: ReceivableRow, day: str, kind: str, number: str | None, reference: str | None,
              amount: Decimal, note: str) -> None:
        self.entries.put(StatementEntryRow(self.position, invoice.tenant_id, invoice.currency, day, kind, number,
                                           invoice.invoice_id, reference, amount, note))

    def invoice(self, invoice_id: object) -> ReceivableRow:
        row = self.invoices.require((text_id(invoice_id),), f"receivables: no Invoice.Issued seen for {invoice_id}")
        self.invoices.changed(row)
        return row


class Receivables(Projection):
    name = "receivables"
    title = "Receivables: every invoice with its credit notes, payments and what is still owed"
    tables = (RECEIVABLES, ENTRIES)

    def begin(self, db: Database, events: Sequence[Positioned]) -> ReceivablesBatch:
        return ReceivablesBatch(self.rows(db, RECEIVABLES), self.rows(db, ENTRIES))

    @singledispatchmethod
    def handle(self, event: object, batch: ReceivablesBatch) -> None:
        """Events without a handler are ignored."""

    @handle.register(Invoice.Issued)
    def _issued(self, event: Invoice.Issued, batch: ReceivablesBatch) -> None:
        issued_on = event.issued_at.date().isoformat()
        due = event.due_date
        row = batch.invoices.put(ReceivableRow(text_id(event.originator_id), event.number,
                                               text_id(event.tenant_id), event.month, event.currency, issued_on,
                                               str(due) if due else issued_on, Decimal(event.total), ZERO, ZERO, 0,
                                               0))
        batch.entry(row, issued_on, "invoice", row.number, None, row.total,
                    f"Invoice for {event.month}, due {row.due_date}")

    @handle.register(Invoice.CreditNoteIssued)
    def _credited(self, event: Invoice.CreditNoteIssued, batch: ReceivablesBatch) -> None:
        row = batch.invoice(event.originator_id)
        amount = Decimal(event.amount)
        row.credited += amount
        batch.entry(row, event.issued_at.date().isoformat(), "credit_note", event.number, None,
                    -amount, f"Credit note on {row.number or row.month}: {event.reason}")

    @handle.register(Invoice.Voided)
    def _voided(self, event: Invoice.Voided, batch: ReceivablesBatch) -> None:
        row = batch.invoice(event.originator_id)
        owed = row.outstanding
        row.void = 1
        batch.entry(row, event.timestamp.date().isoformat(), "void", row.number, None, -owed,
                    f"Invoice {row.number or row.month} voided: {event.reason}")

    @handle.register(Invoice.PaymentRecorded)
    def _paid(self, event: Invoice.PaymentRecorded, batch: ReceivablesBatch) -> None:
        row = batch.invoice(event.originator_id)
        amount, excess = Decimal(event.amount), Decimal(event.excess)
        row.paid += amount
        row.payments += 1
        extra = f"; {excess:f} beyond it to the credit balance" if excess else ""
        batch.entry(row, str(event.received_on), "payment", row.number, event.reference, -amount,
                    f"Payment on {row.number or row.month}{extra}")
