"""Documents a tenant can file: the invoice as a typed view model, rendered to HTML and PDF.

Shared by the HTTP API (``GET /v1/invoices/{id}`` with ``Accept: text/html|application/pdf``)
and the command line; imports the domain and the audit read side, never ``api`` or ``cli``.
"""

from documents.model import DocumentLine, InvoiceDocument, LogAnchor, Seller, invoice_document
from documents.render import render_html, render_pdf

__all__ = ["DocumentLine", "InvoiceDocument", "LogAnchor", "Seller", "invoice_document", "render_html",
           "render_pdf"]
