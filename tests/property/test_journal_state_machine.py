"""The journal against its invariants, driven by hypothesis through random command sequences on
SQLite: credits bought and granted (with expiries), reservations, expiry, invoices issued and
voided across months, credit notes (on invoices not void; an invoice with notes cannot be
voided), months closed (in any state: an invoice issued after its month closed posts late).

After every step:
- every entry balances (debits == credits per entry and currency; one side per line, never 0);
- the trial balance balances per currency;
- nothing posts into a month after its close (late entries go to the next open month);
- per currency, to the cent, with no allowances: the accounts of type revenue == sum(recognised),
  2100 == the closing deferred revenue, 1100 + 1110 == sum(amounts due) + paid credits bought
  (docs/finance.md, *Journal and trial balance*), and the report's amounts due are exactly those
  of the invoices as they stand (``tests.commercial_helpers.amount_due``).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bootstrap import open_ledger
from domain.aggregates import Invoice
from domain.aggregates.contract import month_at, month_index
from domain.errors import InsufficientCapacity, InvalidTransition
from domain.timeutil import hour_index, hour_start, month_bounds
from projections import Projections
from tests.builders import SimClock, fleet
from tests.commercial_helpers import Store, amount_due
from tests.journal_checks import check_entries_balance, check_tie_out, check_trial_balance

pytestmark = pytest.mark.slow

LAST_MONTH = "2026-08"


class JournalMachine(RuleBasedStateMachine):
    """One fresh SQLite store per example: months close once per store."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp(prefix="journal-machine-")
        url = str(Path(self.folder) / "ledger.db")
        clock = SimClock()
        ledger = open_ledger(url, clock=clock)
        self.store = Store(ledger, Projections.open(url, app=ledger), clock)
        self.ledger = ledger
        self.fleet = fleet(ledger, gpus=8, rate="2.50")
        self.tenant = self.fleet.tenant_id
        self.invoices: list[Invoice] = []
        self.voided: set[str] = set()
        self.credited: set[str] = set()
        self.next_invoice = "2026-01"
        self.next_close = "2026-01"
        self.closes: dict[str, int] = {}  # month -> the close's log position

    # ---- commands ---------------------------------------------------------------------------

    @initialize(paid=st.integers(0, 2000), granted=st.integers(0, 2000))
    def start(self, paid: int, granted: int) -> None:
        """A wallet from the start, mostly: so invoices consume credits, and voids meet them."""
        if paid:
            self.ledger.purchase_credits(self.tenant, amount=Decimal(paid) / 100)
        if granted:
            self.ledger.grant_credits(self.tenant, amount=Decimal(granted) / 100)

    @rule(paid=st.booleans(), amount=st.integers(1, 40000), expiry_days=st.none() | st.integers(1, 45))
    def add_credits(self, paid: bool, amount: int, expiry_days: int | None) -> None:
        expires_at = None if expiry_days is None else self.store.clock.now + timedelta(days=expiry_days)
        add = self.ledger.purchase_credits if paid else self.ledger.grant_credits
        add(self.tenant, amount=Decimal(amount) / 100, expires_at=expires_at)

    @rule(gpus=st.integers(1, 3), offset=st.integers(0, 72), length=st.integers(1, 80))
    def reserve(self, gpus: int, offset: int, length: int) -> None:
        first = hour_index(self.store.clock.now) + 1 + offset
        with contextlib.suppress(InsufficientCapacity):
            self.ledger.confirm_reservation(tenant_id=self.tenant, site_id=self.fleet.site_id, model="H100-SXM",
                                            gpus=gpus, start=hour_start(first), end=hour_start(first + length))

    @rule(days=st.integers(1, 25))
    def advance(self, days: int) -> None:
        self.store.clock.advance(timedelta(days=days))

    @rule()
    def expire(self) -> None:
        try:
            self.ledger.expire_credits(self.tenant)
        except Exception as error:  # no wallet yet
            assert "no credits wallet" in str(error)

    @precondition(lambda self: self.next_invoice <= LAST_MONTH)
    @rule()
    def issue(self) -> None:
        end = month_bounds(self.next_invoice)[1]
        if self.store.clock.now < end:
            self.store.clock.set(end + timedelta(hours=1))
        self.invoices.append(self.store.issue(self.tenant, self.next_invoice))
        self.next_invoice = month_at(month_index(self.next_invoice) + 1)

    @precondition(lambda self: any(str(i.id) not in self.voided | self.credited for i in self.invoices))
    @rule(pick=st.integers(0, 10))
    def void(self, pick: int) -> None:
        open_ = [i for i in self.invoices if str(i.id) not in self.voided | self.credited]
        invoice = open_[pick % len(open_)]
        self.ledger.void_invoice(invoice.id, reason="issued in error")
        self.voided.add(str(invoice.id))

    @precondition(lambda self: any(str(i.id) not in self.voided and i.total > 0 for i in self.invoices))
    @rule(pick=st.integers(0, 10), share=st.integers(1, 100))
    def credit(self, pick: int, share: int) -> None:
        """A credit note of up to what is left uncredited (a later invoice carries it as a line)."""
        open_ = [i for i in self.invoices if str(i.id) not in self.voided and i.total > 0]
        invoice = self.ledger.get_invoice(open_[pick % len(open_)].id)
        left = invoice.total - invoice.credited
        amount = (left * share / 100).quantize(Decimal("0.01"))
        if amount <= 0:
            return
        self.ledger.credit_invoice(invoice.id, amount=amount, reason="goodwill")
        self.credited.add(str(invoice.id))

    @precondition(lambda self: any(str(i.id) in self.credited and str(i.id) not in self.voided
                                   for i in self.invoices))
    @rule()
    def void_a_credited_invoice_is_refused(self) -> None:
        invoice = next(i for i in self.invoices if str(i.id) in self.credited and str(i.id) not in self.voided)
        before = self.ledger.max_position()
        with pytest.raises(InvalidTransition, match="credit notes were issued against this invoice"):
            self.ledger.void_invoice(invoice.id, reason="issued in error")
        assert self.ledger.max_position() == before

    @precondition(lambda self: self.next_close <= LAST_MONTH)
    @rule()
    def close(self) -> None:
        """Close the next month (ended by the clock; its invoice issued or not)."""
        end = month_bounds(self.next_close)[1]
        if self.store.clock.now < end:
            self.store.clock.set(end + timedelta(hours=1))
        totals = check_trial_balance(self.store, to=self.next_close)
        receipt = self.ledger.close_month(self.next_close, journal_position=self.ledger.max_position(), invoices=0,
                                          balances=[{"currency": c, "debit": d, "credit": k}
                                                    for c, (d, k) in totals.items()])
        assert receipt.position is not None
        self.closes[self.next_close] = receipt.position
        self.next_close = month_at(month_index(self.next_close) + 1)

    # ---- invariants -------------------------------------------------------------------------

    @invariant()
    def the_books_balance_and_tie_out(self) -> None:
        rows = self.store.report("journal")
        check_entries_balance(rows)
        check_trial_balance(self.store)
        late = [r for r in rows if r["month"] in self.closes and r["position"] > self.closes[r["month"]]]
        assert not late, late
        assert all(r["date"].endswith("-01") for r in rows if "(late: period " in r["description"])
        check_tie_out(self.store, self.tenant)
        self.check_amounts_due()

    def check_amounts_due(self) -> None:
        rows = self.store.report("revenue", tenant_id=str(self.tenant))
        invoices = [self.ledger.get_invoice(i.id) for i in self.invoices]
        assert sum((r["amount_due"] for r in rows), Decimal(0)) == amount_due(invoices)

    def teardown(self) -> None:
        try:
            self.store.projections.rebuild("journal")
            check_entries_balance(self.store.report("journal"))
            check_tie_out(self.store, self.tenant)
            self.check_amounts_due()
        finally:
            self.store.projections.close()
            self.ledger.close()
            shutil.rmtree(self.folder, ignore_errors=True)


def test_journal_invariants_on_sqlite() -> None:
    run_state_machine_as_test(JournalMachine, settings=settings(
        max_examples=40, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
