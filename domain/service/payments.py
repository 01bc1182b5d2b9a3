"""Commands on receivables (finance): payment terms, and payments received against invoices.

A payment applies to its invoice at most what is outstanding there; the rest (an overpayment)
becomes the tenant's credit balance: paid credits bought into its prepaid wallet in the same
save, applied first to its next invoice (``domain.service.commercial``). A payment recorded
again with the same ``payment_id`` records nothing and returns what the first one returned.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from domain.aggregates import Invoice, Tenant
from domain.aggregates.invoice_payments import Payment
from domain.attachments import NO_CONTEXT, CommandContext
from domain.checks import uuid_of
from domain.errors import Conflict, InvalidInput
from domain.money import to_decimal
from domain.service.commercial import CommercialCommands
from domain.service.numbering import NumberingCommands
from domain.service.receipts import Written

OVERPAYMENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledger.example/overpayment")
OVERPAYMENT_PRIORITY = 0  # an overpayment's credits apply before any other grant
PAGE = 1000


def overpayment_grant_id(payment_id: UUID) -> UUID:
    """The wallet grant an overpayment buys, by construction of its id from the payment's."""
    return uuid5(OVERPAYMENT_NAMESPACE, str(payment_id))


class PaymentCommands(CommercialCommands, NumberingCommands):
    def set_payment_terms(self, tenant_id: object, *, net_days: object,
                          context: CommandContext = NO_CONTEXT) -> Written:
        """Net days (0 to 365) to pay the tenant's invoices issued from now on (default 30)."""
        return self._update(context, lambda: self._get(Tenant, tenant_id, what="tenant", field="tenant_id",
                                                       for_update=True),
                            lambda tenant: tenant.set_payment_terms(net_days=net_days))

    def set_tax_treatment(self, tenant_id: object, *, treatment: object, rate: object = None,
                          tax_name: object = "VAT", vat_number: object = None,
                          context: CommandContext = NO_CONTEXT) -> Written:
        """How the tenant's invoices issued from now on are taxed: ``standard`` at ``rate`` (0.20
        is 20 %), ``reverse_charge`` (a 0.00 tax line: the customer accounts for it) or ``exempt``
        (no tax line, the default). Refused naming the field, recording nothing."""
        return self._update(context, lambda: self._get(Tenant, tenant_id, what="tenant", field="tenant_id",
                                                       for_update=True),
                            lambda tenant: tenant.set_tax_treatment(treatment=treatment, rate=rate,
                                                                    tax_name=tax_name, vat_number=vat_number))

    def record_payment(self, invoice_ref: object, *, amount: object, currency: object, received_on: object,
                       reference: object, payment_id: object = None,
                       context: CommandContext = NO_CONTEXT) -> Written:
        """Record a payment received against an invoice (its id or number): partial payments
        are allowed; the part beyond what is outstanding is the payment's ``excess``, credited
        to the tenant's wallet. Refused, naming the field and recording nothing: another
        currency, a void or paid invoice, ``received_on`` before the issue date or after today
        (UTC, the ledger's clock), an amount not positive or finer than the minor unit."""
        ident = uuid4() if payment_id is None else uuid_of(payment_id, field="payment_id")

        def unit() -> Written:
            invoice = self.get_invoice(invoice_ref, field="invoice", for_update=True)
            earlier = invoice.payment(ident)
            if earlier is not None:
                return self._recorded_before(invoice, earlier, amount=amount, currency=currency,
                                             received_on=received_on, reference=reference)
            now = self.now()
            payment = invoice.record_payment(payment_id=ident, amount=amount, currency=currency,
                                             received_on=received_on, reference=reference, now=now)
            saved: list[Aggregate] = [invoice]
            if payment.excess > 0:
                tenant = self.get_tenant(invoice.tenant_id)
                saved.append(self._credits_added(tenant, grant_id=overpayment_grant_id(ident), paid=True,
                                                 amount=payment.excess, priority=OVERPAYMENT_PRIORITY,
                                                 expires_at=None, note=f"overpayment of {invoice.label}"))
            return Written(invoice.id, self._save(context, *saved))
        return self._retrying(unit)

    def _recorded_before(self, invoice: Invoice, payment: Payment, *, amount: object, currency: object,
                         received_on: object, reference: object) -> Written:
        """A payment id seen before: the same payment again records nothing and returns the
        first recording's receipt; different details under that id are refused."""
        try:
            received = to_decimal(amount, field="amount")
        except InvalidInput:
            received = None
        same = (received == payment.amount + payment.excess and str(currency) == payment.currency
                and str(received_on) == payment.received_on and str(reference).strip() == payment.reference)
        if not same:
            raise Conflict(f"payment_id: payment {payment.payment_id} was recorded against invoice {invoice.label} "
                           f"with other details ({payment.describe()})", field="payment_id")
        return Written(invoice.id, self._position_of(invoice.id, payment.payment_id))

    def _position_of(self, invoice: UUID, payment_id: UUID) -> int | None:
        """The log position of the payment's event (read from the log; only a retry asks)."""
        start = 1
        while True:
            page = self.recorder.select_notifications(start, PAGE, topics=[Invoice.PaymentRecorded.TOPIC])
            for notification in page:
                if UUID(str(notification.originator_id)) == invoice:
                    recorded = self.mapper.to_domain_event(notification)
                    if getattr(recorded, "payment_id", None) == payment_id:
                        return int(notification.id)
            if len(page) < PAGE:
                return None
            start = page[-1].id + 1
