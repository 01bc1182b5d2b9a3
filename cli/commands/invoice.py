"""`ledger invoice issue|void|credit|list|show` (finance).

``issue`` calls ``operations.invoicing`` -- the functions ``POST /v1/invoices`` calls -- with the
billing projection brought up to date here. ``show`` prints one invoice in a :class:`ShowFormat`;
each format is one renderer in ``SHOW_RENDERERS`` (a new format is one member and one function).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bootstrap import open_projections
from cli.commands.common import invoice_ref, tenant_id, written
from cli.documents import write_invoice_document
from cli.names import Names, is_id_prefix, with_names
from cli.options import (
    DEFAULT_DATABASE,
    DbOption,
    FormatOption,
    checked,
    counting,
    month_option,
    opened_ledger,
    stderr_console,
    stdout_console,
)
from cli.render import Format, render, to_json
from domain import Ledger
from domain.aggregates import Invoice
from domain.errors import InvalidInput
from operations.invoicing import ProjectionsBilling, issue_invoice, issue_month

NAME = "invoice"
HELP = "Invoices: issue for a closed month, void, credit, list, show."
app = typer.Typer(no_args_is_help=True, help=HELP)

InvoiceRef = Annotated[str, typer.Argument(help="Invoice number (GL-2026-000123), id or id prefix (8+ hex digits)")]


@app.command("issue")
def issue(month: Annotated[str, typer.Option(callback=month_option, help="The closed month, YYYY-MM")],
          tenant: Annotated[str | None, typer.Option(help="Only this tenant (name, id or id prefix); default: "
                                                          "every tenant with billing lines in the month")] = None,
          db: DbOption = DEFAULT_DATABASE) -> None:
    """Issue invoices for a closed month from the billing projection (POST /v1/invoices).

    Without --tenant, every tenant with billing lines in the month that has no invoice for it
    yet gets one (tenants with nothing to bill get none); running it again issues nothing."""
    checked(db)
    with opened_ledger(db) as ledger:
        projections = open_projections(db)
        try:
            billing = ProjectionsBilling(projections)
            if tenant is not None:
                receipt = issue_invoice(ledger, billing, tenant_id=tenant_id(ledger, tenant, "--tenant"), month=month)
                invoice = ledger.get_invoice(receipt.id)
                written("invoice issued", receipt, tenant=invoice.tenant_id, month=invoice.month,
                        total=f"{invoice.total}", currency=invoice.currency)
                return
            with counting("issuing invoices", stderr_console()) as progress:
                result = issue_month(ledger, billing, month, on_tenant=progress)
        finally:
            projections.close()
    for issued in result.issued:
        typer.echo(f"invoice issued: id={issued.invoice_id} position={issued.position} tenant={issued.tenant_id}")
    typer.echo(result.summary())


@app.command("void")
def void(invoice: InvoiceRef, reason: Annotated[str, typer.Option(help="Why")],
         db: DbOption = DEFAULT_DATABASE) -> None:
    """Void an invoice; it stays in the log with status void (POST /v1/invoices/{id}/void)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.void_invoice(invoice_ref(ledger, invoice), reason=reason)
    written("invoice voided", receipt)


@app.command("credit")
def credit(invoice: InvoiceRef, amount: Annotated[str, typer.Option(help="In the invoice's currency")],
           reason: Annotated[str, typer.Option(help="Why")], db: DbOption = DEFAULT_DATABASE) -> None:
    """Issue a credit note against an invoice (POST /v1/invoices/{id}/credit-notes)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.credit_invoice(invoice_ref(ledger, invoice), amount=amount, reason=reason)
    written("credit note issued", receipt, amount=amount)


# What people see (a table, CSV): the number first; the ids only in JSON.
LIST_COLUMNS = ["number", "tenant", "month", "currency", "status", "due_date", "total", "paid", "outstanding",
                "days_overdue"]
JSON_COLUMNS = [*LIST_COLUMNS, "credited", "lines", "id", "tenant_id"]
# At a narrow width, what goes first: the number, tenant, status and what is owed and overdue stay.
DROP_ORDER = ["month", "paid", "total", "days_overdue", "currency", "due_date"]
# Never split: the number, like the amounts (a number wrapped over two lines cannot be copied).
UNBROKEN = ["number", "total", "paid", "outstanding", "days_overdue"]


def list_row(invoice: Invoice, billed: Mapping[str, Any], today: date) -> dict[str, Any]:
    """One invoice as `ledger invoice list` shows it: the month's row of the billing projection,
    with the receivable from the invoice itself."""
    return {"number": invoice.number, "tenant_id": str(invoice.tenant_id), "month": invoice.month,
            "currency": invoice.currency, "status": invoice.status, "due_date": invoice.due_date,
            "total": invoice.total, "paid": invoice.paid, "outstanding": invoice.outstanding,
            "days_overdue": invoice.days_overdue(today), "credited": invoice.credited, "lines": billed.get("lines"),
            "id": str(invoice.id)}


@app.command("list")
def list_(tenant: Annotated[str | None, typer.Option(help="Tenant name, id or id prefix")] = None,
          from_: Annotated[str | None, typer.Option("--from", callback=month_option,
                                                    help="First month YYYY-MM")] = None,
          to: Annotated[str | None, typer.Option("--to", callback=month_option,
                                                 help="Last month YYYY-MM, inclusive")] = None,
          fmt: FormatOption = Format.table, db: DbOption = DEFAULT_DATABASE) -> None:
    """Issued invoices (and voided ones) per tenant and month: number, status, due date, paid,
    outstanding and days overdue today (UTC)."""
    checked(db)
    with opened_ledger(db) as ledger:
        who = str(tenant_id(ledger, tenant, "--tenant")) if tenant is not None else None
        projections = open_projections(db)
        try:
            projections.catch_up(["billing"])
            rows = projections.report("billing_totals", {"tenant_id": who, "from": from_, "to": to})
        finally:
            projections.close()
        today = ledger.now().date()
        rows = [list_row(ledger.get_invoice(r["invoice_id"]), r, today) for r in rows if r.get("invoice_id")]
        rows = with_names(rows, Names.for_rows(ledger, rows))
    columns = JSON_COLUMNS if fmt is Format.json else LIST_COLUMNS
    render(rows, fmt, console=stdout_console(), title="Invoices", columns=columns, empty="no invoices issued",
           drop_order=DROP_ORDER, numeric=UNBROKEN)


# ---- show -----------------------------------------------------------------------------------

class ShowFormat(StrEnum):
    """How `ledger invoice show` prints an invoice: one renderer each in SHOW_RENDERERS."""

    table = "table"
    json = "json"
    html = "html"  # the invoice document (documents/), as `GET /v1/invoices/{id}` with Accept: text/html
    pdf = "pdf"


@dataclass(frozen=True)
class CreditNote:
    number: str | None
    amount: Decimal
    reason: str
    issued_at: datetime


@dataclass(frozen=True)
class PaymentView:
    received_on: str
    reference: str
    amount: Decimal
    excess: Decimal
    payment_id: str


@dataclass(frozen=True)
class InvoiceView:
    """An invoice as `show` prints it, whatever the format."""

    id: str
    number: str | None
    tenant_id: str
    tenant: str
    month: str
    currency: str
    status: str
    total: Decimal
    credited: Decimal
    paid: Decimal
    due: Decimal  # what is outstanding (nothing once void)
    due_date: str | None
    payment_terms_days: int
    days_overdue: int
    issued_at: datetime
    billed_through_position: int
    voided_reason: str | None
    lines: list[dict[str, Any]] = field(default_factory=list)
    credit_notes: list[CreditNote] = field(default_factory=list)
    payments: list[PaymentView] = field(default_factory=list)

    @classmethod
    def of(cls, ledger: Ledger, invoice: Invoice) -> InvoiceView:
        notes = [CreditNote(n.number, n.amount, n.reason, n.issued_at) for n in invoice.credit_notes]
        payments = [PaymentView(p.received_on, p.reference, p.amount, p.excess, str(p.payment_id))
                    for p in invoice.payments]
        names = Names.load(ledger, tenant_ids=[invoice.tenant_id])
        due = Decimal(0) if invoice.status == "void" else invoice.outstanding
        return cls(id=str(invoice.id), number=invoice.number, tenant_id=str(invoice.tenant_id),
                   tenant=names.tenants.get(str(invoice.tenant_id), str(invoice.tenant_id)), month=invoice.month,
                   currency=invoice.currency, status=invoice.status, total=invoice.total,
                   credited=invoice.credited, paid=invoice.paid, due=due, due_date=invoice.due_date,
                   payment_terms_days=invoice.payment_terms_days,
                   days_overdue=invoice.days_overdue(ledger.now().date()),
                   issued_at=invoice.issued_at, billed_through_position=invoice.billed_through_position,
                   voided_reason=invoice.voided_reason, lines=[dict(line) for line in invoice.lines],
                   credit_notes=notes, payments=payments)


LINE_COLUMNS = ["kind", "reservation_id", "origin_month", "gpu_hours", "rate", "amount", "description"]


def show_table(view: InvoiceView, out: Console) -> None:
    terms = f"net {view.payment_terms_days}" + (f", due {view.due_date}" if view.due_date else "")
    facts = [{"field": k, "value": v} for k, v in (
        ("number", view.number or "-"), ("invoice", view.id), ("tenant", f"{view.tenant} ({view.tenant_id})"),
        ("month", view.month), ("status", view.status + (f": {view.voided_reason}" if view.voided_reason else "")),
        ("issued at", view.issued_at), ("payment terms", terms), ("days overdue", view.days_overdue),
        ("currency", view.currency), ("total", view.total), ("credited", view.credited), ("paid", view.paid),
        ("due", view.due), ("billed through position", view.billed_through_position))]
    title = f"Invoice {view.number or ''} {view.tenant} {view.month}".replace("  ", " ")
    render(facts, Format.table, console=out, title=title, columns=["field", "value"])
    render(view.lines, Format.table, console=out, title="Lines", columns=LINE_COLUMNS, empty="no lines")
    render([asdict(n) for n in view.credit_notes], Format.table, console=out, title="Credit notes",
           columns=["number", "amount", "reason", "issued_at"], empty="none")
    render([asdict(p) for p in view.payments], Format.table, console=out, title="Payments",
           columns=["received_on", "reference", "amount", "excess"], empty="none")


def show_json(view: InvoiceView, out: Console) -> None:
    out.file.write(to_json(asdict(view)) + "\n")


SHOW_RENDERERS: dict[ShowFormat, Callable[[InvoiceView, Console], None]] = {
    ShowFormat.table: show_table,
    ShowFormat.json: show_json,
}


@app.command("show")
def show(invoice: InvoiceRef,
         fmt: Annotated[ShowFormat, typer.Option("--format", "-f", help="table, json, or the invoice "
                                                                       "document as html or pdf")] = ShowFormat.table,
         out: Annotated[Path | None, typer.Option("--out", "-o", help="File for the html or pdf document "
                                                                     "(default: stdout)")] = None,
         db: DbOption = DEFAULT_DATABASE) -> None:
    """Print one invoice: its facts, lines and credit notes (GET /v1/invoices/{id}); or write its
    document (seller, tenant, lines with carbon, credits, totals, audit link) as HTML or PDF."""
    if fmt in (ShowFormat.html, ShowFormat.pdf):
        if is_id_prefix(invoice):  # the document writer takes a number or a full id
            with opened_ledger(db) as ledger:
                invoice = invoice_ref(ledger, invoice)
        written = write_invoice_document(db, invoice, fmt.value, out)
        if out is not None and str(out) != "-":
            typer.echo(f"wrote {out} ({written:,} bytes)", err=True)
        return
    if out is not None:
        raise InvalidInput("out: --out writes a document: use it with --format html or pdf", field="out")
    with opened_ledger(db) as ledger:
        view = InvoiceView.of(ledger, ledger.get_invoice(invoice_ref(ledger, invoice)))
    SHOW_RENDERERS[fmt](view, stdout_console())
