"""Invoice documents from the command line: ``write_invoice_document`` (for ``ledger invoice show
ID --format html|pdf --out FILE``) and, until that command exists, ``ledger invoice-document``.

The document is the HTTP API's (``documents``): the same view model, templates and PDF; the
seller comes from the same settings (``LEDGER_SELLER_NAME``, ``LEDGER_SELLER_ADDRESS``).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bootstrap import api_settings
from cli.options import DEFAULT_DATABASE, DbOption, checked, opened_ledger
from documents import Seller, invoice_document, render_html, render_pdf
from domain.errors import InvalidInput


class DocumentFormat(StrEnum):
    html = "html"
    pdf = "pdf"


def write_invoice_document(db: str, invoice_ref: str, fmt: DocumentFormat | str, out: Path | None) -> int:
    """Render invoice ``invoice_ref`` (its id) at ``db`` as ``fmt`` into ``out`` (stdout when None
    or ``-``); returns the number of bytes written. Refusals are ``LedgerError``s naming the field
    (``invoice_id``, ``format``, ``out``), raised before anything is written."""
    try:
        kind = DocumentFormat(str(fmt))
    except ValueError:
        raise InvalidInput(f"format: expected html or pdf, got {fmt!r}", field="format") from None
    to_stdout = out is None or str(out) == "-"
    if not to_stdout and out is not None and not out.parent.is_dir():
        raise InvalidInput(f"out: the directory {str(out.parent)!r} does not exist", field="out")
    settings = api_settings()
    seller = Seller(settings.seller_name, settings.seller_address)
    checked(db)  # the one --db policy: no ledger, nothing to render (and nothing created)
    with opened_ledger(db) as ledger:
        doc = invoice_document(ledger, invoice_ref, seller=seller)
    data = render_pdf(doc) if kind is DocumentFormat.pdf else render_html(doc).encode("utf-8")
    if to_stdout:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        assert out is not None
        try:
            out.write_bytes(data)
        except OSError as error:
            raise InvalidInput(f"out: cannot write {str(out)!r}: {error.strerror or error}", field="out") from None
    return len(data)


def invoice_document_command(
    invoice_id: Annotated[str, typer.Argument(help="The invoice's id", show_default=False)],
    fmt: Annotated[DocumentFormat, typer.Option("--format", "-f", help="html or pdf")] = DocumentFormat.pdf,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write (default: stdout)")] = None,
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Write an invoice's document (seller, tenant, lines, carbon, totals, audit link) as HTML or PDF."""
    written = write_invoice_document(db, invoice_id, fmt, out)
    if out is not None and str(out) != "-":
        typer.echo(f"wrote {out} ({written:,} bytes)", err=True)


def register(app: typer.Typer) -> None:
    """Add `invoice-document` to the `ledger` app (the lead may fold it into `ledger invoice show`)."""
    app.command("invoice-document")(invoice_document_command)
