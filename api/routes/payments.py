"""Receivables (finance): payments received against invoices, and a tenant's payment terms.

Both are commands like every other (a POST with an Idempotency-Key, ``x-ledger-command``):
setting the terms is a new event on the tenant, not a replacement of a resource, and a retried
POST under its key answers what the first one did.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from fastapi import Request, Response

from api.deps import Finance, LedgerDep, OperatorOrFinance
from api.idempotency import command_context
from api.routes import command, resource_router
from api.routes.written import mark_position
from api.schemas.payments import PaymentCreate, PaymentTerms, TaxTreatment
from api.schemas.tenancy import InvoicePublic, TenantPublic

# A payment recorded under an Idempotency-Key without a payment_id gets one derived from
# (caller, key): should the server die after the ledger committed but before the key's response
# was stored, the retry finds the payment already recorded and records nothing.
PAYMENT_KEY_NAMESPACE = uuid5(NAMESPACE_URL, "https://gpu-ledger.example/idempotent-payment")

payments = resource_router("/v1/payments", "payments")
tenant_terms = resource_router("/v1/tenants", "tenants")


@payments.post("", status_code=201, openapi_extra=command("record_payment"))
def record_payment(body: PaymentCreate, ledger: LedgerDep, principal: Finance, request: Request,
                   response: Response) -> InvoicePublic:
    """A payment received against an invoice (its number or id): partial payments are allowed; an
    overpayment pays the invoice and credits the excess to the tenant's wallet. Answers the
    invoice's payment state (status, paid, outstanding, payments)."""
    payment_id: object = body.payment_id
    key = request.headers.get("Idempotency-Key")
    if payment_id is None and key:
        payment_id = uuid5(PAYMENT_KEY_NAMESPACE, f"{principal.scope}\n{key}")
    fields = body.model_dump(mode="json", exclude={"invoice", "payment_id"})
    written = ledger.record_payment(body.invoice, **fields, payment_id=payment_id, context=command_context(request))
    mark_position(response, written.position)
    return InvoicePublic.of(ledger.get_invoice(written.id))


@tenant_terms.post("/{tenant_id}/payment-terms", openapi_extra=command("set_payment_terms"))
def set_payment_terms(tenant_id: UUID, body: PaymentTerms, ledger: LedgerDep, _: OperatorOrFinance,
                      request: Request, response: Response) -> TenantPublic:
    """Net days to pay the tenant's invoices issued from now on (its issued invoices keep theirs)."""
    written = ledger.set_payment_terms(tenant_id, net_days=body.net_days, context=command_context(request))
    mark_position(response, written.position)
    return TenantPublic.of(ledger.get_tenant(written.id))


@tenant_terms.post("/{tenant_id}/tax-treatment", openapi_extra=command("set_tax_treatment"))
def set_tax_treatment(tenant_id: UUID, body: TaxTreatment, ledger: LedgerDep, _: OperatorOrFinance,
                      request: Request, response: Response) -> TenantPublic:
    """How the tenant's invoices issued from now on are taxed (its issued invoices keep theirs)."""
    written = ledger.set_tax_treatment(tenant_id, **body.model_dump(), context=command_context(request))
    mark_position(response, written.position)
    return TenantPublic.of(ledger.get_tenant(written.id))
