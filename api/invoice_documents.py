"""The invoice as a document: ``GET /v1/invoices/{id}`` with ``Accept: text/html`` or
``application/pdf`` (JSON stays the default; see ``api.negotiation``)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from api.negotiation import choose
from config.settings import Settings
from documents import Seller, render_html, render_pdf
from documents.model import document_of
from domain import Ledger
from domain.aggregates import Invoice

JSON, HTML, PDF = "application/json", "text/html", "application/pdf"
OFFERED = (JSON, HTML, PDF)
DOCUMENT_RESPONSES: dict[int | str, dict[str, Any]] = {200: {
    "description": "The invoice: JSON by default; the invoice document for `Accept: text/html` or "
                   "`application/pdf`.",
    "content": {HTML: {"schema": {"type": "string"}},
                PDF: {"schema": {"type": "string", "format": "binary"}}}}}


def wanted(request: Request) -> str:
    return choose(request.headers.get("accept"), OFFERED)


def document_response(ledger: Ledger, invoice: Invoice, settings: Settings, media_type: str) -> Response:
    """The invoice rendered as ``media_type`` (HTML or PDF), named after its number (an invoice
    issued before numbering: after its month and id)."""
    seller = Seller(settings.seller_name, settings.seller_address, settings.seller_vat_number)
    doc = document_of(ledger, invoice, seller=seller)
    filename = f"invoice-{doc.number}" if doc.number else f"invoice-{doc.month}-{doc.invoice_id[:8]}"
    if media_type == PDF:
        return Response(render_pdf(doc), media_type=PDF,
                        headers={"Content-Disposition": f'inline; filename="{filename}.pdf"', "Vary": "Accept"})
    return Response(render_html(doc), media_type="text/html; charset=utf-8", headers={"Vary": "Accept"})
