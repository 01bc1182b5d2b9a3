"""Invoice documents from the command line: ``write_invoice_document``, behind ``ledger invoice
show ID --format html|pdf [--out FILE]`` (``cli/commands/invoice.py``).

The document is the HTTP API's (``documents``): the same view model, templates and PDF; the
seller comes from the same settings (``LEDGER_SELLER_NAME``, ``LEDGER_SELLER_ADDRESS``).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

from cli.options import checked, opened_ledger
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
    from config.settings import Settings

    settings = Settings()
    seller = Seller(settings.seller_name, settings.seller_address, settings.seller_vat_number)
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
