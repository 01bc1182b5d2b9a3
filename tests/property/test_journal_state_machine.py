"""The journal against its invariants, driven by hypothesis through random command sequences on
SQLite: credits bought and granted (with expiries), reservations, expiry, invoices issued and
voided across months, months closed (in any state: an invoice issued after its month closed
posts late).

After every step:
- every entry balances (debits == credits per entry and currency; one side per line, never 0);
- the trial balance balances per currency;
- nothing posts into a month after its close (late entries go to the next open month);
- per currency, to the cent: revenue accounts == sum(recognised) - voided charges, 2100 == the
  closing deferred revenue, 1100 + 1110 == sum(amounts due) + paid credits bought - voided
  charges (the revenue report ignores voids: docs/finance.md, *Journal and trial balance*).
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
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from bootstrap import open_ledger
from domain.aggregates import Invoice
from domain.aggregates.contract import month_at, month_index
from domain.errors import InsufficientCapacity
from domain.timeutil import hour_index, hour_start, month_bounds
from projections import Projections
from projections.journal import charges_of
from tests.builders import SimClock, fleet
from tests.commercial_helpers import ZERO, Store
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
        self.voided_charges = ZERO
        self.next_invoice = "2026-01"
        self.next_close = "2026-01"
        self.closes: dict[str, int] = {}  # month -> the close's log position

    # ---- commands ---------------------------------------------------------------------------

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

    @precondition(lambda self: any(str(i.id) not in self.voided for i in self.invoices))
    @rule(pick=st.integers(0, 10))
    def void(self, pick: int) -> None:
        open_ = [i for i in self.invoices if str(i.id) not in self.voided]
        invoice = open_[pick % len(open_)]
        self.ledger.void_invoice(invoice.id, reason="issued in error")
        self.voided.add(str(invoice.id))
        self.voided_charges += charges_of(invoice.lines)

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
        check_tie_out(self.store, self.tenant, voided_charges=self.voided_charges)

    def teardown(self) -> None:
        try:
            self.store.projections.rebuild("journal")
            check_entries_balance(self.store.report("journal"))
            check_tie_out(self.store, self.tenant, voided_charges=self.voided_charges)
        finally:
            self.store.projections.close()
            self.ledger.close()
            shutil.rmtree(self.folder, ignore_errors=True)


def test_journal_invariants_on_sqlite() -> None:
    run_state_machine_as_test(JournalMachine, settings=settings(
        max_examples=15, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
