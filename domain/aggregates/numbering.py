"""DocumentSequence: the gapless numbers of one seller's invoices (or credit notes) in one year.

One sequence per (seller, kind, year), its id derived from those. Each number is assigned in
the same save as the document it names (the invoice's ``Issued`` event, or a credit note), so
a refused or failed issue leaves no gap, and two concurrent issues conflict on the sequence's
version (the loser is retried, and takes the next number). A number is never reused: a void
invoice keeps its own.

The number's text is ``{prefix}-{year}-{sequence:06d}`` (``GL-2026-000123``); the prefixes and
the seller code are settings (``LEDGER_SELLER_CODE``, ``LEDGER_INVOICE_PREFIX``,
``LEDGER_CREDIT_NOTE_PREFIX``: see :class:`Numbering`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

SEQUENCE_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledger.example/document-sequence")
KINDS = ("invoice", "credit_note")
NUMBER_PATTERN = re.compile(r"^(?P<prefix>[A-Za-z0-9]{1,12})-(?P<year>[0-9]{4})-(?P<sequence>[0-9]{6,})$", re.ASCII)
PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9]{1,12}$", re.ASCII)


def sequence_id(seller: str, kind: str, year: int) -> UUID:
    """One sequence per seller, kind and year, by construction of its id."""
    return uuid5(SEQUENCE_NAMESPACE, f"{seller}/{kind}/{year}")


def format_number(prefix: str, year: int, sequence: int) -> str:
    return f"{prefix}-{year}-{sequence:06d}"


@dataclass(frozen=True)
class ParsedNumber:
    prefix: str
    year: int
    sequence: int


def parse_number(text: str) -> ParsedNumber | None:
    """``GL-2026-000123`` as its parts; None if it is not a document number."""
    found = NUMBER_PATTERN.match(text.strip())
    if found is None:
        return None
    return ParsedNumber(found["prefix"], int(found["year"]), int(found["sequence"]))


@dataclass(frozen=True)
class Numbering:
    """How document numbers are made: the seller's code (which sequences they are drawn from)
    and the prefix of each kind."""

    seller: str = "GL"
    invoice_prefix: str = "GL"
    credit_note_prefix: str = "CN"

    def __post_init__(self) -> None:
        for name in ("seller", "invoice_prefix", "credit_note_prefix"):
            if not PREFIX_PATTERN.match(getattr(self, name)):
                raise InvalidInput(f"{name}: expected 1 to 12 letters or digits, got {getattr(self, name)!r}",
                                   field=name)
        if self.invoice_prefix == self.credit_note_prefix:
            raise InvalidInput("credit_note_prefix: must differ from the invoice prefix", field="credit_note_prefix")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None) -> Numbering:
        """From ``SELLER_CODE``, ``INVOICE_PREFIX``, ``CREDIT_NOTE_PREFIX`` (the ledger's
        environment finds them as ``LEDGER_SELLER_CODE`` ...), else the defaults."""
        get = (env or {}).get
        return cls(seller=get("SELLER_CODE") or "GL", invoice_prefix=get("INVOICE_PREFIX") or "GL",
                   credit_note_prefix=get("CREDIT_NOTE_PREFIX") or "CN")

    def prefix(self, kind: str) -> str:
        return self.invoice_prefix if kind == "invoice" else self.credit_note_prefix


class DocumentSequence(Aggregate):
    TOPIC = "ledger:DocumentSequence"

    class Created(Aggregate.Created):  # unused; every event class needs an explicit topic
        TOPIC = "ledger:DocumentSequence.Created"

    @staticmethod
    def create_id(seller: str, kind: str, year: int, prefix: str) -> UUID:
        return sequence_id(seller, kind, year)

    class Started(Aggregate.Created):
        TOPIC = "ledger:DocumentSequence.Started"
        seller: str
        kind: str
        year: int
        prefix: str

    @event(Started)
    def __init__(self, seller: str, kind: str, year: int, prefix: str) -> None:
        if kind not in KINDS:
            raise InvalidInput(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}", field="kind")
        self.seller = seller
        self.kind = kind
        self.year = year
        self.prefix = prefix
        self.documents: list[UUID] = []  # documents[n - 1] is the document numbered n

    @classmethod
    def start(cls, numbering: Numbering, kind: str, year: int) -> DocumentSequence:
        return cls(numbering.seller, kind, year, numbering.prefix(kind))

    @property
    def last(self) -> int:
        return len(self.documents)

    def document_numbered(self, sequence: int) -> UUID | None:
        return self.documents[sequence - 1] if 1 <= sequence <= len(self.documents) else None

    def assign(self, document_id: UUID) -> str:
        """The next number, assigned to ``document_id``; returns its text."""
        sequence = self.last + 1
        number = format_number(self.prefix, self.year, sequence)
        self._assigned(sequence, number, document_id)
        return number

    class NumberAssigned(Aggregate.Event):
        TOPIC = "ledger:DocumentSequence.NumberAssigned"
        sequence: int
        number: str
        document_id: UUID

    @event(NumberAssigned)
    def _assigned(self, sequence: int, number: str, document_id: UUID) -> None:
        self.documents.append(document_id)
