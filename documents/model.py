"""The invoice document's view model: everything the paper shows, named and typed.

Built from the ledger alone (the ``Invoice`` aggregate, its tenant, the log position of its
``Invoice.Issued`` event and the audit chain's link there), so the HTTP API and the command line
render the same document. Lines are read defensively: a line kind this module has never heard
of is shown with its own kind as label, and carbon figures a line does not carry show as "--".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from domain import Ledger
from domain.aggregates import Invoice

# Labels of the line kinds the ledger bills today; any other kind is labelled from its name.
KIND_LABELS = {
    "reservation": "Reserved GPU-hours",
    "cancellation_fee": "Cancellation fee",
    "adjustment": "Adjustment",
    "credit": "Credit",
    "credits_applied": "Credits applied",
    "true_up": "True-up",
    "tax": "Tax",
}

# Carbon figures on a line or on the invoice: the first name found is used (helpers name them
# slightly differently; the README's carbon method defines them).
ENERGY_NAMES = ("energy_kwh", "kwh")
LOCATION_NAMES = ("location_kgco2e", "location_based_kgco2e", "location_kg")
MARKET_NAMES = ("market_kgco2e", "market_based_kgco2e", "market_kg")

DEFAULT_SELLER_NAME = "Fjordline AI Cloud Ltd (demo)"
DEFAULT_SELLER_ADDRESS = "1 Estuary Way, London E16 2QT, United Kingdom"


@dataclass(frozen=True)
class Seller:
    """Who issues the invoice (``LEDGER_SELLER_NAME`` / ``LEDGER_SELLER_ADDRESS``)."""

    name: str = DEFAULT_SELLER_NAME
    address: str = DEFAULT_SELLER_ADDRESS
    vat_number: str | None = None  # LEDGER_SELLER_VAT_NUMBER


@dataclass(frozen=True)
class TaxLine:
    """A ``tax`` line of the invoice (docs/finance.md, *Tax*), shown under the net total."""

    tax_name: str
    rate: Decimal
    treatment: str  # standard or reverse_charge
    taxable: Decimal
    amount: Decimal

    @property
    def percent(self) -> str:
        """``20``, ``7.5``: the rate in per cent, every decimal it has and none added."""
        value = (self.rate * 100).normalize()
        return f"{value:f}" if value != value.to_integral_value() else f"{value.quantize(Decimal(1))}"


@dataclass(frozen=True)
class Carbon:
    """Energy and operational emissions (README, *Carbon method*); None where not carried."""

    energy_kwh: Decimal | None = None
    location_kgco2e: Decimal | None = None
    market_kgco2e: Decimal | None = None

    @property
    def known(self) -> bool:
        return any(v is not None for v in (self.energy_kwh, self.location_kgco2e, self.market_kgco2e))


@dataclass(frozen=True)
class DocumentLine:
    kind: str
    label: str
    detail: str  # the reservation billed and the month a correction is for, if any
    gpu_hours: Decimal | None
    rate: Decimal | None  # per GPU-hour, in the invoice's currency
    amount: Decimal
    carbon: Carbon


@dataclass(frozen=True)
class CreditNote:
    amount: Decimal
    reason: str
    issued_at: datetime
    number: str | None = None


@dataclass(frozen=True)
class PaymentLine:
    """A payment received against the invoice (what was applied to it)."""

    received_on: str
    reference: str
    amount: Decimal


@dataclass(frozen=True)
class LogAnchor:
    """Where the invoice sits in the log: the position of its ``Invoice.Issued`` event and the
    audit chain's link after it (None until the chain reaches it)."""

    position: int | None
    link_hex: str | None
    billed_through_position: int

    @property
    def chain_text(self) -> str:
        if self.position is None:
            return "position unknown (this store keeps no log positions)"
        return self.link_hex if self.link_hex is not None else "not yet chained"


@dataclass(frozen=True)
class InvoiceDocument:
    invoice_id: str
    month: str
    currency: str
    issued_at: datetime
    status: str  # "issued", "partially_paid", "paid" or "void"
    void_reason: str | None
    seller: Seller
    tenant_id: str
    tenant_name: str
    lines: tuple[DocumentLine, ...]
    total: Decimal
    credit_notes: tuple[CreditNote, ...]
    credited: Decimal
    carbon: Carbon
    anchor: LogAnchor
    number: str | None = None  # None: issued before invoices were numbered
    due_date: str | None = None
    payment_terms_days: int = 30
    payments: tuple[PaymentLine, ...] = ()
    paid: Decimal = Decimal(0)
    taxes: tuple[TaxLine, ...] = ()  # the tax lines (not in ``lines``)
    tenant_vat_number: str | None = None

    @property
    def net(self) -> Decimal:
        """The total before tax."""
        return self.total - sum((tax.amount for tax in self.taxes), Decimal(0))

    @property
    def reverse_charge(self) -> bool:
        return any(tax.treatment == "reverse_charge" for tax in self.taxes)

    @property
    def title(self) -> str:
        """``Invoice GL-2026-000123`` (an invoice issued before numbering: ``Invoice``)."""
        return f"Invoice {self.number}" if self.number else "Invoice"

    @property
    def terms_text(self) -> str:
        """``Net 30, due 2026-12-31`` (without a due date: the terms alone)."""
        terms = f"Net {self.payment_terms_days}"
        return f"{terms}, due {self.due_date}" if self.due_date else terms

    @property
    def balance(self) -> Decimal:
        """What the tenant owes: the total less credit notes and payments (nothing once void)."""
        return Decimal(0) if self.status == "void" else max(Decimal(0), self.total - self.credited - self.paid)


def decimal_or_none(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def first_of(source: Mapping[str, Any], names: Sequence[str]) -> Decimal | None:
    for name in names:
        if name in source:
            return decimal_or_none(source[name])
    return None


def carbon_of(source: Mapping[str, Any]) -> Carbon:
    nested = source.get("carbon")
    if isinstance(nested, Mapping):
        source = {**source, **nested}
    return Carbon(first_of(source, ENERGY_NAMES), first_of(source, LOCATION_NAMES), first_of(source, MARKET_NAMES))


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ").strip().capitalize() or "Line")


def document_line(line: Mapping[str, Any]) -> DocumentLine:
    kind = str(line.get("kind") or "line")
    details = []
    if line.get("reservation_id"):
        details.append(f"reservation {str(line['reservation_id'])[:8]}")
    if line.get("origin_month") and not (kind == "true_up" and line.get("description")):  # it names the period
        details.append(f"for {line['origin_month']}")
    if line.get("description"):
        details.append(str(line["description"]))
    return DocumentLine(kind=kind, label=kind_label(kind), detail=", ".join(details),
                        gpu_hours=decimal_or_none(line.get("gpu_hours")), rate=decimal_or_none(line.get("rate")),
                        amount=decimal_or_none(line.get("amount")) or Decimal(0), carbon=carbon_of(line))


def summed_carbon(lines: Sequence[DocumentLine]) -> Carbon:
    """The lines' carbon summed over the lines that carry it (money-only lines such as credits
    carry none); None where no line carries the figure."""
    def total(pick: str) -> Decimal | None:
        values = [value for line in lines if (value := getattr(line.carbon, pick)) is not None]
        return sum(values, Decimal(0)) if values else None
    return Carbon(total("energy_kwh"), total("location_kgco2e"), total("market_kgco2e"))


def invoice_carbon(invoice: Invoice, lines: Sequence[DocumentLine]) -> Carbon:
    """The invoice's own carbon totals if it carries them, else the lines' sum."""
    attributes = {name: getattr(invoice, name) for name in (*ENERGY_NAMES, *LOCATION_NAMES, *MARKET_NAMES, "carbon")
                  if getattr(invoice, name, None) is not None}
    own = carbon_of(attributes)
    return own if own.known else summed_carbon(lines)


def log_anchor(ledger: Ledger, invoice: Invoice) -> LogAnchor:
    through = int(invoice.billed_through_position)
    if ledger.store_config.kind not in ("sqlite", "postgres"):
        return LogAnchor(None, None, through)
    from projections.audit.locate import chain_link_at, event_position

    position = event_position(ledger, UUID(str(invoice.id)), 1)
    link = chain_link_at(ledger, position) if position is not None else None
    return LogAnchor(position, link.hex() if link is not None else None, through)


def invoice_document(ledger: Ledger, invoice_ref: object, *, seller: Seller | None = None) -> InvoiceDocument:
    """The document of one invoice (``NotFound`` naming ``invoice_id`` if there is none)."""
    invoice = ledger.get_invoice(invoice_ref)
    return document_of(ledger, invoice, seller=seller)


def document_of(ledger: Ledger, invoice: Invoice, *, seller: Seller | None = None) -> InvoiceDocument:
    tenant = ledger.get_tenant(invoice.tenant_id)
    lines = tuple(document_line(line) for line in invoice.lines if line.get("kind") != "tax")
    taxes = tuple(TaxLine(str(line.get("tax_name") or "VAT"), Decimal(str(line.get("rate") or 0)),
                          str(line.get("treatment") or "standard"), Decimal(str(line.get("taxable") or 0)),
                          Decimal(str(line["amount"])))
                  for line in invoice.lines if line.get("kind") == "tax")
    numbers = [line.get("vat_number") for line in invoice.lines if line.get("kind") == "tax"]
    vat_number = next((str(n) for n in numbers if n), None) if numbers else tenant.tax.vat_number
    notes = tuple(CreditNote(note.amount, note.reason, note.issued_at, note.number) for note in invoice.credit_notes)
    payments = tuple(PaymentLine(p.received_on, p.reference, p.amount) for p in invoice.payments)
    return InvoiceDocument(
        invoice_id=str(invoice.id), month=invoice.month, currency=invoice.currency, issued_at=invoice.issued_at,
        status=invoice.status, void_reason=invoice.voided_reason, number=invoice.number,
        due_date=invoice.due_date, payment_terms_days=invoice.payment_terms_days, payments=payments,
        paid=invoice.paid,
        seller=seller or Seller(), tenant_id=str(invoice.tenant_id), tenant_name=tenant.name, lines=lines,
        total=Decimal(invoice.total), credit_notes=notes, credited=invoice.credited,
        carbon=invoice_carbon(invoice, lines), anchor=log_anchor(ledger, invoice), taxes=taxes,
        tenant_vat_number=vat_number)
