"""The demo's tax treatments (docs/finance.md, *Tax*), set with the tenants at the start of the
history, before any invoice: no randomness is drawn, so the rest of the history is unchanged.

- Northbank Capital (GBP, a UK bank): standard UK VAT at 20 %.
- University of Eastmoor: exempt (no tax line), as every tenant without a treatment.
- Genvista Biotech (EUR, billed from the UK): reverse charge (a 0.00 line; it accounts for the VAT).
- Polaris Weather Institute (NOK): standard Norwegian MVA at 25 %.

Copies of a tenant (larger scales) share its treatment. VAT numbers are fictional.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from cli.demo.timeline import Timeline


class Treatment(NamedTuple):
    treatment: str
    rate: Decimal | None
    tax_name: str
    vat_number: str | None


TREATMENTS = {
    "Northbank Capital": Treatment("standard", Decimal("0.20"), "VAT", "GB294011873"),
    "University of Eastmoor": Treatment("exempt", None, "VAT", None),
    "Genvista Biotech": Treatment("reverse_charge", None, "VAT", "NL854502130B01"),
    "Polaris Weather Institute": Treatment("standard", Decimal("0.25"), "MVA", "NO987654321MVA"),
}


def set_up_tax(history: Timeline) -> None:
    """Each listed tenant's treatment, recorded now (the history's start)."""
    for state in history.tenants:
        found = TREATMENTS.get(state.profile.name)
        if found is not None and state.tenant_id is not None:
            history.ledger.set_tax_treatment(state.tenant_id, treatment=found.treatment, rate=found.rate,
                                             tax_name=found.tax_name, vat_number=found.vat_number)
