"""Committed-spend rules (docs/finance.md, *Committed spend*), hand-computed: the commitment
applies from the contract's service start, a partial period is prorated by days (rounded once,
half-even), cancellation fees and credit notes are not eligible spend, and the true-up line
names its period, commitment and spend. Plus a property over random terms (pure domain)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from api.schemas.commercial import ContractPublic
from documents.model import document_line
from domain.aggregates import Contract
from domain.aggregates.contract import month_at, month_index
from domain.errors import InvalidInput
from domain.service.commercial import eligible_spend
from domain.timeutil import UTC
from tests.builders import fleet, refused, reserve
from tests.commercial_helpers import amount_of, line, opened

D = Decimal
ZERO = D(0)


def at(month: int, day: int = 1, hours: int = 1) -> datetime:
    return datetime(2026, month, day, hours, tzinfo=UTC)


FEBRUARY = 31 * 24  # hour index of 2026-02-01T00:00Z


def test_the_worked_example_prorates_the_first_quarter_and_ignores_the_cancellation_fee(database_url: str) -> None:
    """docs/finance.md's example: 1,000.00 a quarter from 2026-02-16; Q1 commits 488.89."""
    with opened(database_url) as s:
        f = fleet(s.ledger, gpus=8, rate="2.50", fee_share="0.25")
        contract = s.ledger.sign_contract(tenant_id=f.tenant_id, period="quarter", term_start="2026-01",
                                          term_end="2026-06", amount="1000.00", service_start="2026-02-16").id
        reserve(f, 1, FEBRUARY + 10, FEBRUARY + 130)  # 120 GPU-hours x 2.50 = 300.00 in February
        cancelled = reserve(f, 1, FEBRUARY + 200, FEBRUARY + 520)  # 320 GPU-hours, 800.00 booked
        s.clock.set(at(1, 10))
        s.ledger.cancel_reservation(cancelled)  # all released: fee 800.00 x 0.25 = 200.00, in January
        s.clock.set(at(2))
        january = s.issue(f.tenant_id, "2026-01")
        assert amount_of(january, "cancellation_fee") == D("200.00") and january.total == D("200.00")
        s.clock.set(at(3))
        assert s.issue(f.tenant_id, "2026-02").total == D("300.00")
        s.clock.set(at(4))
        march = s.issue(f.tenant_id, "2026-03")
        true_up = line(march, "true_up")
        assert true_up is not None  # 300.00 + 200.00 would have cleared 488.89: the fee does not count
        assert (true_up["commitment"], true_up["eligible_spend"], true_up["amount"]) == (
            D("488.89"), D("300.00"), D("188.89"))
        assert (true_up["period_from"], true_up["period_to"], true_up["served_days"], true_up["period_days"],
                true_up["period_commitment"]) == ("2026-01-01", "2026-03-31", 44, 90, D("1000.00"))
        description = ("Period 2026-01-01 to 2026-03-31: committed 488.89 (prorated 44 of 90 days from service "
                       "start 2026-02-16; 1,000.00 for the whole period), eligible spend 300.00")
        assert true_up["description"] == description
        assert document_line(true_up).detail == description  # the invoice document (HTML/PDF) shows it
        assert march.total == D("188.89")
        for month in (4, 5, 6):
            s.clock.set(at(month + 1))
            issued = s.issue(f.tenant_id, f"2026-{month:02d}")
        june = line(issued, "true_up")
        assert june is not None and june["amount"] == D("1000.00")
        assert june["description"] == "Period 2026-04-01 to 2026-06-30: committed 1,000.00, eligible spend 0.00"
        rows = s.report("commitments", tenant_id=str(f.tenant_id))
        assert [(r["period_start"], r["commitment"], r["eligible_spend"], r["true_up"]) for r in rows] == [
            ("2026-01", D("488.89"), D("300.00"), D("188.89")), ("2026-04", D("1000.00"), ZERO, D("1000.00"))]
        public = ContractPublic.of(s.ledger.get_contract(contract))
        assert public.service_start == "2026-02-16"
        assert [(p.served_days, p.period_days) for p in public.settled] == [(44, 90), (91, 91)]


def test_periods_before_the_service_start_commit_nothing(database_url: str) -> None:
    """Monthly 310.00 from 2026-03-10: January and February commit 0 (no true-up line), March
    310.00 x 22 / 31 = 220.00, April the whole 310.00."""
    with opened(database_url) as s:
        f = fleet(s.ledger, gpus=8, rate="2.50")
        contract = s.ledger.sign_contract(tenant_id=f.tenant_id, period="month", term_start="2026-01",
                                          term_end="2026-06", amount="310.00", service_start="2026-03-10").id
        invoices = {}
        for month in (1, 2, 3, 4):
            s.clock.set(at(month + 1))
            invoices[month] = s.issue(f.tenant_id, f"2026-{month:02d}")
        assert invoices[1].lines == [] and invoices[2].lines == [] and invoices[1].total == 0
        assert (amount_of(invoices[3], "true_up"), amount_of(invoices[4], "true_up")) == (D("220.00"), D("310.00"))
        settled = s.ledger.get_contract(contract).settled
        assert [(p, x.commitment, x.true_up, x.served_days) for p, x in settled.items()] == [
            ("2026-01", ZERO, ZERO, 0), ("2026-02", ZERO, ZERO, 0), ("2026-03", D("220.00"), D("220.00"), 22),
            ("2026-04", D("310.00"), D("310.00"), 30)]


def test_proration_rounds_once_half_even_in_a_currency_without_minor_units(database_url: str) -> None:
    """JPY has no minor unit: 100,001 x 15 / 30 = 50,000.5, rounded half-even to 50,000 (not
    50,001); a later period is the whole 100,001."""
    with opened(database_url) as s:
        tenant = s.ledger.register_tenant(name=f"Kaisha {uuid4().hex[:6]}", billing_currency="JPY",
                                          rates={"H100-SXM": "400"}).id
        s.ledger.sign_contract(tenant_id=tenant, period="month", term_start="2026-04", term_end="2026-05",
                               amount="100001", service_start="2026-04-16")
        s.clock.set(at(5))
        assert amount_of(s.issue(tenant, "2026-04"), "true_up") == D("50000")
        s.clock.set(at(6))
        assert amount_of(s.issue(tenant, "2026-05"), "true_up") == D("100001")


def test_service_start_refusals_name_the_field_and_record_nothing(database_url: str) -> None:
    with opened(database_url) as s:
        f = fleet(s.ledger)

        def sign(service_start: object) -> UUID:
            return s.ledger.sign_contract(tenant_id=f.tenant_id, period="quarter", term_start="2026-01",
                                          term_end="2026-06", amount="100", service_start=service_start).id

        for bad in ("2025-12-31", "2026-07-01", "2026-02-30", "2026-2-1", "16/02/2026", "", 20260216, 1.5):
            with refused(s.ledger, InvalidInput, "service_start"):
                sign(bad)
        assert s.ledger.get_contracts_of(f.tenant_id) == []
        contract = sign(date(2026, 6, 30))
        with refused(s.ledger, InvalidInput, "effective_month"):  # would end before its service start
            s.ledger.terminate_contract(contract, effective_month="2026-04", fee="10")
        assert s.ledger.get_contract(contract).service_start == "2026-06-30"


def test_eligible_spend_is_consumption_only() -> None:
    """Usage and its corrections count; fees (and adjustments of fees), credit notes and the
    terms' own lines do not."""
    lines: list[dict[str, Any]] = [
        {"line_key": "reservation:r1", "kind": "reservation", "amount": "100.00"},
        {"line_key": "reservation:r2", "kind": "on_demand", "amount": "50.00"},
        {"line_key": "adjustment:r1:2026-01", "kind": "adjustment", "amount": "10.00"},
        {"line_key": "reconciliation:2026-01:reservation:r1", "kind": "adjustment", "amount": "-3.00"},
        {"line_key": "fee:r3", "kind": "cancellation_fee", "amount": "40.00"},
        {"line_key": "adjustment-fee:r3:2026-01", "kind": "adjustment", "amount": "20.00"},
        {"line_key": "reconciliation:2026-01:fee:r3", "kind": "adjustment", "amount": "5.00"},
        {"line_key": "credit:i1:9", "kind": "credit", "amount": "-30.00"},
        {"line_key": "true_up:c:2026-01", "kind": "true_up", "amount": "70.00"},
        {"line_key": "termination_fee:c", "kind": "termination_fee", "amount": "80.00"},
        {"line_key": "credits_applied:w", "kind": "credits_applied", "amount": "-60.00"},
        {"amount": "7.00"},  # an older line without a kind: usage
    ]
    assert eligible_spend(lines) == D("164.00")  # 100 + 50 + 10 - 3 + 7


def test_contracts_signed_before_service_start_existed_start_on_the_first_day(database_url: str) -> None:
    """A stored version-1 Contract.Signed (no service_start) is upcast to the term's first day."""
    with opened(database_url) as s:
        f = fleet(s.ledger)
        ident = s.ledger.sign_contract(tenant_id=f.tenant_id, period="month", term_start="2026-03",
                                       term_end="2026-04", amount="100", service_start="2026-03-20").id
        mapper = s.ledger.mapper
        stored = s.ledger.recorder.select_events(ident)[0]
        state = mapper.transcoder.decode(stored.state)
        del state["service_start"]
        state.pop("class_version", None)
        old = type(stored)(stored.originator_id, stored.originator_version, stored.topic,
                           mapper.transcoder.encode(state))
        signed = mapper.to_domain_event(old)
        assert isinstance(signed, Contract.Signed) and signed.service_start == "2026-03-01"
        contract = signed.mutate(None)
        assert isinstance(contract, Contract) and contract.service_start == "2026-03-01"
        assert contract.commitment_of(contract.periods()[0]).amount == D("100")
        state = {"period_start": "2026-01", "period_end": "2026-03"}
        Contract.PeriodSettled.upcast_v1_v2(state)
        assert (state["served_days"], state["period_days"]) == (90, 90)


# ---- the property: pure domain, recomputed independently -------------------------------------

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def days_between(first: date, last: date) -> set[date]:
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


def month_days(month: int) -> set[date]:
    """The dates of month index ``month`` (year * 12 + month - 1), by the calendar module."""
    year, mon = divmod(month, 12)
    return {date(year, mon + 1, day) for day in range(1, calendar.monthrange(year, mon + 1)[1] + 1)}


@dataclass
class Case:
    contract: Contract
    spend: list[Decimal]  # eligible spend per period
    served: list[set[date]]  # per period: its dates within [service start, end of term]
    days: list[set[date]]  # per period: all its dates


@st.composite
def cases(draw: st.DrawFn) -> Case:
    step = draw(st.sampled_from([1, 3, 12]))
    first = month_index("2026-01") + draw(st.integers(0, 24))
    last = first + draw(st.integers(1, 36 // step)) * step - 1
    term: set[date] = set().union(*(month_days(m) for m in range(first, last + 1)))
    start = min(term) + timedelta(days=draw(st.integers(0, len(term) - 1)))
    amount = D(draw(st.integers(1, 10**9))).scaleb(-2)
    contract = Contract.sign(tenant_id=uuid4(), currency="USD", period={1: "month", 3: "quarter", 12: "year"}[step],
                             term_start=month_at(first), term_end=month_at(last), amount=amount, discount="0",
                             now=NOW, service_start=start.isoformat())
    ends = [m for m in range(first + step, last + 1, step) if min(month_days(m)) > start]
    terminated: bool = draw(st.booleans())
    if ends and terminated:  # an early termination (never before the service start)
        contract.terminate(effective_month=month_at(draw(st.sampled_from(ends))), fee="0", now=NOW)
    served = days_between(start, max(month_days(month_index(contract.last_month))))
    days = [set().union(*(month_days(m) for m in range(month_index(p.start), month_index(p.end) + 1)))
            for p in contract.periods()]
    spend = [D(draw(st.integers(0, 2 * 10**9))).scaleb(-2) for _ in days]
    return Case(contract, spend, [d & served for d in days], days)


@settings(max_examples=200, deadline=None)
@given(cases())
def test_true_up_is_the_shortfall_below_the_commitment_prorated_by_days(case: Case) -> None:
    contract = case.contract
    amount = contract.terms_at(contract.term_start)[0]
    expected_total = ZERO
    for period, paid, served, days in zip(contract.periods(), case.spend, case.served, case.days, strict=True):
        settled = contract.settle(period=period, eligible_spend=paid, invoice_id=uuid4())
        committed = (amount * len(served) / len(days)).quantize(D("0.01"), rounding=ROUND_HALF_EVEN)
        assert (settled.served_days, settled.period_days) == (len(served), len(days))
        assert settled.commitment == committed
        assert settled.true_up == max(ZERO, committed - paid) >= 0
        if max(days) < contract.service_from:
            assert settled.commitment == settled.true_up == 0  # wholly before the service start
        expected_total += committed
    assert sum((x.commitment for x in contract.settled.values()), ZERO) == expected_total
    assert sum((x.served_days for x in contract.settled.values()), 0) == len(set().union(*case.served))


def test_a_month_served_from_its_middle_commits_half() -> None:
    contract = Contract.sign(tenant_id=uuid4(), currency="USD", period="month", term_start="2026-02",
                             term_end="2026-02", amount="280.00", discount="0", now=NOW, service_start="2026-02-15")
    settled = contract.settle(period=contract.periods()[0], eligible_spend=D("100.00"), invoice_id=uuid4())
    assert (settled.commitment, settled.true_up, settled.served_days) == (D("140.00"), D("40.00"), 14)  # 280 x 14/28
