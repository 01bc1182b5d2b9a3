"""How the demo's tenants pay their invoices: each invoice, once issued, gets its payment
scheduled on the simulated timeline (``Ledger.record_payment``, what `ledger payment record`
and ``POST /v1/payments`` call).

Most tenants pay in full a few days before the due date; about one invoice in five is paid late
(3 to 25 days after it); Sable Media Studios pays each invoice in two halves, the second 45
days late (so its recent invoices are partially paid); Kestrel Games stops paying after its
first invoice, so by the end of the history it is more than 60 days overdue. Payments due after
the history ends are not made yet: the last months' invoices are still open (current).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal

from cli.demo.ids import ScenarioIds
from domain import Ledger
from domain.timeutil import UTC

SLOW_PAYER = "Kestrel Games"  # pays its first invoice, then nothing
SPLIT_PAYER = "Sable Media Studios"  # pays each invoice in two halves, the second late
LATE_SHARE = 0.2


class DemoPayments:
    """Schedules each issued invoice's payments with ``at(moment, action)`` (the history's timeline)."""

    def __init__(self, ledger: Ledger, rng: random.Random, ids: ScenarioIds,
                 at: Callable[[datetime, Callable[[], None]], None]) -> None:
        self.ledger, self.rng, self.ids, self.at = ledger, rng, ids, at
        self.invoices_seen: dict[str, int] = {}
        self.recorded = 0

    def schedule(self, invoice_id: object) -> None:
        invoice = self.ledger.get_invoice(invoice_id)
        if invoice.total <= 0 or invoice.due_date is None:
            return
        tenant = self.ledger.get_tenant(invoice.tenant_id).name
        count = self.invoices_seen.get(tenant, 0) + 1
        self.invoices_seen[tenant] = count
        due = datetime.combine(datetime.fromisoformat(str(invoice.due_date)).date(), time(14), tzinfo=UTC)
        if tenant == SLOW_PAYER and count > 1:
            return
        if tenant == SPLIT_PAYER:
            half = (invoice.total / 2).quantize(Decimal("0.01"))
            self._pay(invoice_id, due - timedelta(days=2), half, 1)
            self._pay(invoice_id, due + timedelta(days=45), invoice.total - half, 2)
            return
        late = self.rng.random() < LATE_SHARE
        offset = timedelta(days=self.rng.randint(3, 25)) if late else -timedelta(days=self.rng.randint(0, 12))
        self._pay(invoice_id, due + offset, invoice.total, 1)

    def _pay(self, invoice_id: object, moment: datetime, amount: Decimal, part: int) -> None:
        def pay() -> None:
            invoice = self.ledger.get_invoice(invoice_id)
            owed = min(amount, invoice.outstanding)
            if owed <= 0:
                return
            self.ledger.record_payment(invoice.id, amount=owed, currency=invoice.currency,
                                       received_on=moment.date().isoformat(),
                                       reference=f"BANK-{moment:%Y%m%d}" + (f"-{part}" if part > 1 else ""),
                                       payment_id=self.ids("payment", invoice.id, part))
            self.recorded += 1
        self.at(moment, pay)
