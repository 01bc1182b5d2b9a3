"""The document-number audit (``ledger audit verify``): from the log alone, each sequence of
numbers is 1..n without gaps or repeats, each number has the sequence's format, and each names
a document issued with that number -- an invoice (``Invoice.Issued``) or a credit note
(``Invoice.CreditNoteIssued``) -- while every numbered document got its number from a sequence.

One pass over the log's numbering and invoice events, in log order, decoded (and upcast) by the
ledger's own mapper; memory grows with the number of documents, not of events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain import Ledger
from domain.aggregates import DocumentSequence, Invoice
from domain.aggregates.numbering import format_number

TOPICS = [DocumentSequence.Started.TOPIC, DocumentSequence.NumberAssigned.TOPIC, Invoice.Issued.TOPIC,
          Invoice.CreditNoteIssued.TOPIC]
PAGE = 1000


@dataclass(frozen=True)
class NumberingReport:
    """``ok``, how many numbers in how many sequences were checked, and the first break."""

    ok: bool
    numbers: int
    sequences: int
    position: int | None = None
    reason: str = ""


@dataclass
class SequenceSeen:
    kind: str
    year: int
    prefix: str
    last: int = 0


@dataclass
class Seen:
    sequences: dict[UUID, SequenceSeen] = field(default_factory=dict)
    numbers: dict[str, tuple[str, UUID, int]] = field(default_factory=dict)  # number -> kind, document, position
    invoices: dict[str, UUID] = field(default_factory=dict)  # invoice number -> invoice id
    credit_notes: dict[str, UUID] = field(default_factory=dict)  # credit-note number -> invoice id


def _events(ledger: Ledger) -> Iterator[tuple[int, UUID, Any]]:
    start = 1
    while True:
        page = ledger.recorder.select_notifications(start, PAGE, topics=TOPICS)
        for notification in page:
            yield int(notification.id), UUID(str(notification.originator_id)), ledger.mapper.to_domain_event(
                notification)
        if len(page) < PAGE:
            return
        start = page[-1].id + 1


def verify_numbering(ledger: Ledger) -> NumberingReport:
    seen = Seen()

    def bad(position: int | None, reason: str) -> NumberingReport:
        return NumberingReport(False, len(seen.numbers), len(seen.sequences), position, reason)

    for position, originator, event in _events(ledger):
        if isinstance(event, DocumentSequence.Started):
            seen.sequences[originator] = SequenceSeen(event.kind, event.year, event.prefix)
        elif isinstance(event, DocumentSequence.NumberAssigned):
            sequence = seen.sequences.get(originator)
            if sequence is None:
                return bad(position, f"number {event.number} was assigned by sequence {originator}, never started")
            if event.sequence != sequence.last + 1:
                what = "repeats" if event.sequence <= sequence.last else "skips to"
                return bad(position, f"sequence {sequence.prefix}-{sequence.year} {what} {event.sequence} after "
                                     f"{sequence.last}")
            if event.number != format_number(sequence.prefix, sequence.year, event.sequence):
                return bad(position, f"number {event.number!r} is not number {event.sequence} of sequence "
                                     f"{sequence.prefix}-{sequence.year}")
            if event.number in seen.numbers:
                return bad(position, f"number {event.number} was assigned twice")
            sequence.last = event.sequence
            seen.numbers[event.number] = (sequence.kind, event.document_id, position)
        elif isinstance(event, Invoice.Issued) and event.number is not None:
            if event.number in seen.invoices:
                return bad(position, f"invoice number {event.number} was issued twice")
            seen.invoices[event.number] = originator
        elif isinstance(event, Invoice.CreditNoteIssued) and event.number is not None:
            if event.number in seen.credit_notes:
                return bad(position, f"credit-note number {event.number} was issued twice")
            seen.credit_notes[event.number] = originator
    for number, (kind, document, position) in seen.numbers.items():
        issued = seen.invoices if kind == "invoice" else seen.credit_notes
        if issued.get(number) != document:
            what = "an invoice" if kind == "invoice" else "a credit note"
            return bad(position, f"number {number} names {what} ({document}) that was never issued with it")
    for issued, what in ((seen.invoices, "invoice"), (seen.credit_notes, "credit note")):
        for number in issued:
            if number not in seen.numbers:
                return bad(None, f"{what} {number} has a number no sequence assigned")
    return NumberingReport(True, len(seen.numbers), len(seen.sequences))
