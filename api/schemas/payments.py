"""Receivables in: payments received against invoices, and a tenant's payment terms."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.commercial import Day
from api.schemas.common import Currency, DecimalText, Id, Name, Strict


class PaymentCreate(Strict):
    invoice: Id = Field(description="The invoice's number (GL-2026-000123) or id",
                        examples=["GL-2026-000123"])
    amount: DecimalText = Field(description="Received, in the invoice's currency; beyond what is outstanding, the "
                                            "excess is credited to the tenant's wallet")
    currency: Currency
    received_on: Day = Field(description="The day the money arrived (not before the issue date, not after today UTC)")
    reference: Name = Field(description="The bank reference", examples=["BANK-REF-2026-11-03"])
    payment_id: Id | None = Field(None, description="Client-chosen UUID; a payment recorded again under it records "
                                                   "nothing (default: derived from the Idempotency-Key, else new)")


class PaymentTerms(Strict):
    net_days: int = Field(ge=0, le=365, description="Days from the issue date to the due date of invoices issued "
                                                    "from now on")


class TaxTreatment(Strict):
    treatment: Literal["standard", "reverse_charge", "exempt"] = Field(
        description="standard: tax at `rate`; reverse_charge: a 0.00 line, the customer accounts for the tax; "
                    "exempt: no tax line")
    rate: DecimalText | None = Field(None, description="Standard only: 0.20 is 20 % (0 or omitted otherwise)",
                                     examples=["0.20"])
    tax_name: Name = Field("VAT", description="The tax's name on the invoice", examples=["VAT", "MVA"])
    vat_number: Name | None = Field(None, description="The tenant's VAT registration number",
                                    examples=["GB123456789"])
