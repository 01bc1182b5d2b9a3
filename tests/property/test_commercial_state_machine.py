"""Commercial terms against their invariants, driven by hypothesis through random command
sequences on SQLite and PostgreSQL: credits bought and granted (with priorities and expiries),
reserved and on-demand reservations, metering, expiry, contract amendments, months closed.

After every step:
- a wallet's balance is never negative, and the credits applied never exceed
  purchases + grants - expired;
- every invoice's amount due after credits is non-negative;
- every settled period's true-up is max(0, commitment - eligible spend of the period's invoices).
After every month closed (and at the end), per tenant and to the cent:
- sum(recognised) + closing deferred revenue = sum(amounts due) + paid credits purchased.
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

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
from domain.errors import InsufficientCapacity, InvalidInput
from domain.service.commercial import eligible_spend
from domain.timeutil import hour_index, hour_start, month_bounds
from projections import Projections
from tests.builders import SimClock, fleet
from tests.commercial_helpers import ZERO, Store, check_recognition

LAST_MONTH = "2026-12"
PG = os.environ.get("HYPOTHESIS_PROFILE") == "ci"


class CommercialMachine(RuleBasedStateMachine):
    url: str = ""

    def __init__(self) -> None:
        super().__init__()
        clock = SimClock()
        ledger = open_ledger(self.url, clock=clock)
        self.store = Store(ledger, Projections.open(self.url, app=ledger), clock)
        self.ledger = ledger
        self.fleet = fleet(ledger, gpus=8, rate="2.50")
        self.tenant = self.fleet.tenant_id
        ledger.set_on_demand_rates(self.tenant, rates={"H100-SXM": "3.7"})
        self.reservations: dict[UUID, dict[str, object]] = {}  # on-demand ones: gpus, start, end, metered
        self.invoices: list[Invoice] = []
        self.next_month = "2026-01"
        self.purchased = ZERO
        self.commitments: dict[str, Decimal] = {}
        self.contract: UUID | None = None

    @initialize(period=st.sampled_from(["month", "quarter"]), amount=st.integers(0, 3000),
                discount=st.sampled_from(["0", "0.15"]))
    def sign(self, period: str, amount: int, discount: str) -> None:
        if amount == 0:
            return  # no contract at all
        self.contract = self.ledger.sign_contract(tenant_id=self.tenant, period=period, term_start="2026-01",
                                                  term_end=LAST_MONTH, amount=f"{amount}.00", discount=discount).id
        self.commitments["2026-01"] = Decimal(amount)

    # ---- commands ---------------------------------------------------------------------------

    @rule(paid=st.booleans(), amount=st.integers(1, 40000), priority=st.integers(0, 2),
          expiry_days=st.none() | st.integers(1, 60))
    def add_credits(self, paid: bool, amount: int, priority: int, expiry_days: int | None) -> None:
        expires_at = None if expiry_days is None else self.store.clock.now + timedelta(days=expiry_days)
        value = Decimal(amount) / 100
        add = self.ledger.purchase_credits if paid else self.ledger.grant_credits
        add(self.tenant, amount=value, priority=priority, expires_at=expires_at)
        if paid:
            self.purchased += value

    @rule(gpus=st.integers(1, 3), offset=st.integers(0, 72), length=st.integers(1, 60), on_demand=st.booleans())
    def reserve(self, gpus: int, offset: int, length: int, on_demand: bool) -> None:
        first = hour_index(self.store.clock.now) + 1 + offset
        try:
            ident = self.ledger.confirm_reservation(
                tenant_id=self.tenant, site_id=self.fleet.site_id, model="H100-SXM", gpus=gpus,
                start=hour_start(first), end=hour_start(first + length),
                pricing="on_demand" if on_demand else "reserved").id
        except InsufficientCapacity:
            return
        if on_demand:
            self.reservations[ident] = {"gpus": gpus, "start": first, "end": first + length, "metered": first}

    @rule(share=st.sampled_from(["0.25", "0.5", "1"]))
    def meter(self, share: str) -> None:
        ended = hour_index(self.store.clock.now)
        records = []
        for ident, r in self.reservations.items():
            last = min(int(str(r["end"])), ended)
            for h in range(int(str(r["metered"])), last):
                records.append({"record_id": uuid4(), "reservation_id": ident, "hour": hour_start(h),
                                "gpu_hours": Decimal(share) * int(str(r["gpus"]))})
            r["metered"] = max(int(str(r["metered"])), last)
        if records:
            self.ledger.record_usage(records)

    @rule(days=st.integers(1, 25))
    def advance(self, days: int) -> None:
        self.store.clock.advance(timedelta(days=days))

    @rule()
    def expire(self) -> None:
        try:
            self.ledger.expire_credits(self.tenant)
        except Exception as error:  # no wallet yet
            assert "no credits wallet" in str(error)

    @precondition(lambda self: self.contract is not None)
    @rule(amount=st.integers(1, 3000))
    def amend(self, amount: int) -> None:
        assert self.contract is not None
        contract = self.ledger.get_contract(self.contract)
        now_month = month_index(f"{self.store.clock.now:%Y-%m}")
        starts = [p.start for p in contract.periods() if month_index(p.start) > now_month]
        if not starts:
            with pytest.raises(InvalidInput):
                self.ledger.amend_contract(self.contract, effective_month=month_at(now_month + 1), amount="1")
            return
        self.ledger.amend_contract(self.contract, effective_month=starts[0], amount=f"{amount}.00")
        self.commitments = {k: v for k, v in self.commitments.items() if month_index(k) < month_index(starts[0])}
        self.commitments[starts[0]] = Decimal(amount)

    @precondition(lambda self: self.next_month <= LAST_MONTH)
    @rule()
    def close_month(self) -> None:
        end = month_bounds(self.next_month)[1]
        if self.store.clock.now < end:
            self.store.clock.set(end + timedelta(hours=1))
        self.invoices.append(self.store.issue(self.tenant, self.next_month))
        self.next_month = month_at(month_index(self.next_month) + 1)
        check_recognition(self.store, self.tenant, self.invoices, self.purchased)

    # ---- invariants -------------------------------------------------------------------------

    @invariant()
    def wallet_never_negative_and_applies_at_most_what_it_got(self) -> None:
        try:
            wallet = self.ledger.get_wallet(self.tenant)
        except Exception:
            return
        assert wallet.balance >= 0
        added, expired = wallet.total(), wallet.total(what="expired")
        applied = sum((g.amount - g.remaining - g.expired for g in wallet.grants.values()), ZERO)
        assert all(g.remaining >= 0 and g.amount - g.remaining - g.expired >= 0 for g in wallet.grants.values())
        assert applied <= added - expired
        credited = sum((-Decimal(str(line["amount"])) for i in self.invoices for line in i.lines
                        if line.get("kind") == "credits_applied"), ZERO)
        assert credited == applied

    @invariant()
    def amount_due_never_negative(self) -> None:
        assert all(i.total >= 0 for i in self.invoices)

    @invariant()
    def true_up_is_the_shortfall_of_every_closed_period(self) -> None:
        if self.contract is None:
            return
        contract = self.ledger.get_contract(self.contract)
        by_month = {i.month: i for i in self.invoices}
        for period in contract.periods():
            if period.end not in by_month:
                assert period.start not in contract.settled
                continue
            settled = contract.settled[period.start]
            spend = sum((eligible_spend(by_month[m].lines) for m in period.months()), ZERO)
            latest = max(k for k in self.commitments if month_index(k) <= month_index(period.start))
            commitment = self.commitments[latest]
            expected = max(ZERO, commitment - spend)
            assert (settled.commitment, settled.eligible_spend, settled.true_up) == (commitment, spend, expected)
            billed = sum((Decimal(str(line["amount"])) for line in by_month[period.end].lines
                          if line.get("kind") == "true_up"), ZERO)
            assert billed == expected

    def teardown(self) -> None:
        try:
            check_recognition(self.store, self.tenant, self.invoices, self.purchased)
        finally:
            self.store.projections.close()
            self.ledger.close()


def run(url: str, examples: int) -> None:
    machine = type("Machine", (CommercialMachine,), {"url": url})
    run_state_machine_as_test(machine, settings=settings(  # type: ignore[arg-type]
        max_examples=examples, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))


def test_commercial_invariants_on_sqlite(sqlite_url: str) -> None:
    run(sqlite_url, 40 if PG else 25)


@pytest.mark.postgres
def test_commercial_invariants_on_postgres(postgres_url: str) -> None:
    run(postgres_url, 30 if PG else 15)
