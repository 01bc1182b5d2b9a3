"""Tenant isolation: a tenant token sees its own tenant only; anything else is 'not found'.

The refusal is worded exactly like the ledger's own NotFound, so a tenant cannot tell another
tenant's resource from one that does not exist.
"""

from __future__ import annotations

from uuid import UUID

from access.tokens import Principal
from domain import Ledger
from domain.aggregates import Invoice, Reservation, Tenant
from domain.errors import NotFound


def hidden(field: str, what: str, ident: object) -> NotFound:
    return NotFound(f"{field}: no {what} with id {ident}", field=field)


def visible_tenant(ledger: Ledger, principal: Principal, tenant_id: UUID) -> Tenant:
    if not principal.sees_tenant(tenant_id):
        raise hidden("tenant_id", "tenant", tenant_id)
    return ledger.get_tenant(tenant_id)


def visible_reservation(ledger: Ledger, principal: Principal, reservation_id: UUID) -> Reservation:
    reservation = ledger.get_reservation(reservation_id)
    if not principal.sees_tenant(reservation.tenant_id):
        raise hidden("reservation_id", "reservation", reservation_id)
    return reservation


def visible_invoice(ledger: Ledger, principal: Principal, invoice_id: UUID | str) -> Invoice:
    """By id or number; another tenant's is refused as an unknown one of the same kind of ref."""
    invoice = ledger.get_invoice(invoice_id)
    if not principal.sees_tenant(invoice.tenant_id):
        if isinstance(invoice_id, str) and invoice.number is not None and invoice_id.strip() == invoice.number:
            raise NotFound(f"invoice_id: no invoice numbered {invoice_id!r}", field="invoice_id")
        raise hidden("invoice_id", "invoice", invoice.id)
    return invoice
