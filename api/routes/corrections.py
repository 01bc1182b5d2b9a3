"""Corrections of issued invoices (finance): a void, or a credit note. An issued invoice never
changes: each is a further event, shown on the invoice and as a credit line in billing."""

from __future__ import annotations

from fastapi import Request, Response

from api.deps import Finance, LedgerDep
from api.idempotency import command_context
from api.routes import command, resource_router
from api.routes.written import mark_position
from api.schemas.changes import CreditNoteCreate, InvoiceVoid
from api.schemas.common import InvoiceRef
from api.schemas.tenancy import InvoicePublic

invoice_changes = resource_router("/v1/invoices", "invoices")


@invoice_changes.post("/{invoice_id}/void", openapi_extra=command("void_invoice"))
def void_invoice(invoice_id: InvoiceRef, body: InvoiceVoid, ledger: LedgerDep, _: Finance,
                 request: Request, response: Response) -> InvoicePublic:
    """Void the invoice (it stays in the log, status `void`); a void invoice is not re-issued."""
    written = ledger.void_invoice(invoice_id, reason=body.reason, context=command_context(request))
    mark_position(response, written.position)
    return InvoicePublic.of(ledger.get_invoice(written.id))


@invoice_changes.post("/{invoice_id}/credit-notes", status_code=201,
                      openapi_extra=command("credit_invoice"))
def credit_invoice(invoice_id: InvoiceRef, body: CreditNoteCreate, ledger: LedgerDep, _: Finance,
                   request: Request, response: Response) -> InvoicePublic:
    """A credit note against the invoice, at most what is left uncredited."""
    written = ledger.credit_invoice(invoice_id, amount=body.amount, reason=body.reason,
                                    context=command_context(request))
    mark_position(response, written.position)
    return InvoicePublic.of(ledger.get_invoice(written.id))
