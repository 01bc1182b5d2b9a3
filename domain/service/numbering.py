"""Document numbers: drawing the next number of a sequence inside a command's unit of work, and
finding an invoice by its number (``get_invoice`` takes an id or a number).

A number is drawn from the sequence of (seller, kind, year of issue) and saved with the document
it names, in one transaction (``domain.aggregates.numbering``): a refused or failed issue leaves
no gap, and a concurrent issue conflicts on the sequence's version and is retried.
"""

from __future__ import annotations

import functools
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.aggregates import DocumentSequence, Invoice, Numbering, sequence_id
from domain.aggregates.numbering import parse_number
from domain.checks import uuid_of
from domain.errors import NotFound
from domain.service.core import LedgerCore


class NumberingCommands(LedgerCore):
    @functools.cached_property
    def numbering(self) -> Numbering:
        """The seller code and prefixes (``LEDGER_SELLER_CODE``, ``LEDGER_INVOICE_PREFIX``,
        ``LEDGER_CREDIT_NOTE_PREFIX``; defaults GL, GL, CN)."""
        return Numbering.from_env(self.env)

    def get_invoice(self, invoice_ref: object, *, field: str = "invoice_id", for_update: bool = False) -> Invoice:
        """The invoice with this id or this number (``GL-2026-000123``)."""
        if isinstance(invoice_ref, str):
            try:
                ident: object = UUID(invoice_ref.strip())
            except ValueError:
                return self._numbered(invoice_ref, field=field, for_update=for_update)
        else:
            ident = uuid_of(invoice_ref, field=field)
        return self._get(Invoice, ident, what="invoice", field=field, for_update=for_update)

    def _numbered(self, number: str, *, field: str, for_update: bool) -> Invoice:
        """Resolve a number through its sequence: the year from the number, the document from
        the sequence; anything else (malformed, a credit note's, unknown) is NotFound."""
        missing = NotFound(f"{field}: no invoice numbered {number!r}", field=field)
        parsed = parse_number(number)
        if parsed is None or parsed.prefix == self.numbering.credit_note_prefix:
            raise missing
        sequence = self._sequence(sequence_id(self.numbering.seller, "invoice", parsed.year))
        document = sequence.document_numbered(parsed.sequence) if sequence is not None else None
        if sequence is None or document is None or sequence.prefix != parsed.prefix:
            raise missing
        invoice = self._get(Invoice, document, what="invoice", field=field, for_update=for_update)
        if invoice.number != number.strip():
            raise missing
        return invoice

    def _sequence(self, ident: UUID, *, for_update: bool = False) -> DocumentSequence | None:
        try:
            found = self._load(ident, for_update)
        except AggregateNotFoundError:
            return None
        assert isinstance(found, DocumentSequence)
        return found

    def _sequence_for_update(self, kind: str, year: int) -> DocumentSequence:
        """The sequence to draw the next number from (started here if it is the year's first)."""
        numbering = self.numbering
        found = self._sequence(sequence_id(numbering.seller, kind, year), for_update=True)
        return found if found is not None else DocumentSequence.start(numbering, kind, year)
