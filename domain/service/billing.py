"""Commands on billing: invoices for closed months, voids and credit notes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from domain.aggregates import Invoice, invoice_id
from domain.aggregates.tenant import TaxTreatment
from domain.attachments import NO_CONTEXT, CommandContext
from domain.errors import InvalidInput, InvoiceAlreadyIssued
from domain.money import check_signed_amount, quantize, to_decimal
from domain.service.commercial import CommercialCommands
from domain.service.numbering import NumberingCommands
from domain.service.receipts import Written
from domain.timeutil import MONTH_PATTERN, UTC, check_month

__all__ = ["MONTH_PATTERN", "BillingCommands", "check_month"]

# Carbon an invoice line may carry (from the billing projection); the invoice stores their totals.
CARBON_FIELDS = ("energy_kwh", "location_kgco2e", "market_kgco2e")


def tax_lines(tax: TaxTreatment, taxable: Decimal, currency: str) -> list[dict[str, object]]:
    """The invoice's tax line (docs/finance.md, *Tax*): after every other line, on the net total
    (credits applied included), rounded once per invoice and rate to the minor unit, half-even.
    Reverse charge: a 0.00 line (the customer accounts for the tax); exempt: none."""
    if tax.treatment == "exempt":
        return []
    amount = quantize(taxable * tax.rate, currency)
    return [{"line_key": f"tax:{tax.tax_name}:{tax.rate}", "kind": "tax", "rate": tax.rate, "tax_name": tax.tax_name,
             "treatment": tax.treatment, "taxable": taxable, "amount": amount, "vat_number": tax.vat_number}]


class BillingCommands(CommercialCommands, NumberingCommands):
    def issue_invoice(self, *, tenant_id: object, month: object, lines: Iterable[Mapping[str, object]],
                      billed_through_position: int, context: CommandContext = NO_CONTEXT) -> Written:
        """Issue the invoice of a closed month from billing lines computed by the billing
        projection. Each line needs ``amount`` (Decimal in the tenant's currency); the total is
        their sum, plus the lines of the tenant's commercial terms (true-ups, then credits
        applied: see ``domain.service.commercial``), then its tax line (``tax_lines``). At
        most one invoice per tenant and month.
        The invoice is numbered from the sequence of its year of issue, and is due its issue
        date plus the tenant's payment terms; number and invoice are saved together."""
        tenant = self.get_tenant(tenant_id)
        month_text = check_month(month)
        year, mon = int(month_text[:4]), int(month_text[5:])
        month_end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)
        if month_end > self.now():
            raise InvalidInput(f"month: {month_text} has not ended yet", field="month")
        checked_lines: list[dict[str, object]] = []
        total = Decimal(0)
        carbon = dict.fromkeys(CARBON_FIELDS, Decimal(0))
        for i, line in enumerate(lines):
            amount = check_signed_amount(line.get("amount"), tenant.billing_currency, field=f"lines[{i}].amount")
            checked = {**line, "amount": amount}
            for name in CARBON_FIELDS:  # the line's carbon, if it has any (a credit has none)
                if line.get(name) is not None:
                    checked[name] = to_decimal(line.get(name), field=f"lines[{i}].{name}")
                    carbon[name] += checked[name]  # type: ignore[operator]
            checked_lines.append(checked)
            total += amount
        ident = invoice_id(tenant.id, month_text)

        def unit() -> Written:
            if ident in self.repository:
                raise InvoiceAlreadyIssued(f"month: tenant {tenant.name!r} already has an invoice for {month_text}",
                                           field="month")
            # Commercial terms (domain.service.commercial): true-ups of contract periods ending
            # this month, then prepaid credits; saved with the invoice in one transaction.
            terms = self._invoice_terms(tenant, month_text, checked_lines, ident)
            terms.lines.extend(tax_lines(tenant.tax, total + terms.total, tenant.billing_currency))
            now = self.now()
            sequence = self._sequence_for_update("invoice", now.year)
            number = sequence.assign(ident)
            invoice = Invoice(tenant.id, month_text, tenant.billing_currency, checked_lines + terms.lines,
                              total + terms.total, now, billed_through_position, carbon["energy_kwh"],
                              carbon["location_kgco2e"], carbon["market_kgco2e"], number,
                              Invoice.due_date_of(now, tenant.payment_terms_days), tenant.payment_terms_days)
            return Written(invoice.id, self._save(context, sequence, invoice, *terms.aggregates))
        return self._retrying(unit)

    def void_invoice(self, invoice_ref: object, *, reason: object, context: CommandContext = NO_CONTEXT) -> Written:
        """Void an invoice (it keeps its number); refused once it has payments or credit notes."""
        return self._update(context, lambda: self.get_invoice(invoice_ref), lambda invoice: invoice.void(reason=reason))

    def credit_invoice(self, invoice_ref: object, *, amount: object, reason: object,
                       context: CommandContext = NO_CONTEXT) -> Written:
        """A credit note, numbered from the credit notes' sequence of its year, saved with it."""
        def unit() -> Written:
            invoice = self.get_invoice(invoice_ref)
            value, why = invoice.check_credit(amount=amount, reason=reason)
            now = self.now()
            sequence = self._sequence_for_update("credit_note", now.year)
            invoice.credit(amount=value, reason=why, issued_at=now, number=sequence.assign(invoice.id))
            return Written(invoice.id, self._save(context, sequence, invoice))
        return self._retrying(unit)
