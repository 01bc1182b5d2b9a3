"""Contract: a tenant's committed spend per period, with a true-up of any shortfall.

A tenant commits to spend ``amount`` per period (month, quarter or year, counted from the term's
first month) in its billing currency over a term of whole periods, optionally with a discount on
its plan rates. When the invoice of a period's last month is issued, the period is settled: a
``true_up`` line bills ``max(0, commitment - eligible spend)`` (the ``PeriodSettled`` event
records commitment, spend, true-up and the days served). Amendments change the amount or
discount from a future period start; an early termination ends the term at a future period
start and may carry a fee, billed with the last remaining period's settlement.

Service start (docs/finance.md, *Committed spend*): the commitment applies only from the
contract's ``service_start``, a date recorded at signing within the term (default: the first
day of the term; contracts signed before the field existed are upcast to that). A period is
committed in proportion to its days served, i.e. its days within [service start, last day of
the term after any termination]: ``amount x served days / days in the period``, rounded once to
the currency's minor unit with banker's rounding (``domain.money.quantize``). A period wholly
before the service start commits 0 (it is settled with no true-up line); a wholly served period
commits the full amount.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.checks import decimal_in_range
from domain.errors import InvalidInput, InvalidTransition
from domain.money import check_amount, check_currency, quantize
from domain.timeutil import check_month

PERIOD_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}
MAX_TERM_MONTHS = 120
ZERO = Decimal(0)


def month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_at(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def last_day(month: str) -> date:
    return first_day(month_at(month_index(month) + 1)) - timedelta(days=1)


DATE_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)


def check_date(value: object, *, field: str) -> date:
    """A calendar date, as a ``date`` or 'YYYY-MM-DD'."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and DATE_PATTERN.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInput(f"{field}: expected a date YYYY-MM-DD, got {value!r}", field=field)


@dataclass(frozen=True)
class Period:
    start: str  # first month, YYYY-MM
    end: str  # last month (included)

    def months(self) -> list[str]:
        return [month_at(i) for i in range(month_index(self.start), month_index(self.end) + 1)]

    @property
    def first_day(self) -> date:
        return first_day(self.start)

    @property
    def last_day(self) -> date:
        return last_day(self.end)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


@dataclass(frozen=True)
class Commitment:
    """What a period commits: the amount in force for it, prorated by the days served."""

    period: Period
    full: Decimal  # the amount per period in force
    served_days: int  # days of the period within [service start, end of term]
    amount: Decimal  # full x served_days / period.days, rounded to the minor unit

    @property
    def prorated(self) -> bool:
        return self.served_days != self.period.days


@dataclass(frozen=True)
class Settlement:
    period: Period
    commitment: Decimal
    eligible_spend: Decimal
    true_up: Decimal
    termination_fee: Decimal
    invoice_id: UUID
    served_days: int
    period_days: int


def check_period(value: object) -> str:
    if not isinstance(value, str) or value not in PERIOD_MONTHS:
        raise InvalidInput(f"period: expected one of {', '.join(PERIOD_MONTHS)}, got {value!r}", field="period")
    return value


def check_discount(value: object) -> Decimal:
    share = decimal_in_range(value, field="discount", low=ZERO, high=Decimal("0.9"))
    if share.as_tuple().exponent < -4:  # type: ignore[operator]
        raise InvalidInput(f"discount: at most 4 decimal places, got {share}", field="discount")
    return share


class Contract(Aggregate):
    TOPIC = "ledger:Contract"

    class Created(Aggregate.Created):  # unused; every event class needs an explicit topic
        TOPIC = "ledger:Contract.Created"

    class Signed(Aggregate.Created):
        """Version 2 adds ``service_start`` (YYYY-MM-DD); version-1 contracts, signed before it
        existed, are upcast to the first day of their term (their commitment applied from it)."""

        TOPIC = "ledger:Contract.Signed"
        class_version = 2
        tenant_id: UUID
        currency: str
        period: str
        term_start: str
        term_end: str
        amount: Decimal
        discount: Decimal
        signed_at: datetime
        service_start: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["service_start"] = f"{state['term_start']}-01"

    @event(Signed)
    def __init__(self, tenant_id: UUID, currency: str, period: str, term_start: str, term_end: str, amount: Decimal,
                 discount: Decimal, signed_at: datetime, service_start: str = "",
                 id: UUID | None = None) -> None:  # the caller's choice, else uuid4
        self.tenant_id = tenant_id
        self.currency = currency
        self.period = period
        self.term_start = term_start
        self.term_end = term_end
        self.signed_at = signed_at
        self.service_start = service_start or f"{term_start}-01"
        # [effective from (first month), amount per period, discount], in effective order
        self.terms: list[list[object]] = [[term_start, amount, discount]]
        self.terminated_from: str | None = None
        self.termination_fee = ZERO
        self.settled: dict[str, Settlement] = {}  # period start -> settlement

    @classmethod
    def sign(cls, *, tenant_id: UUID, currency: str, period: object, term_start: object, term_end: object,
             amount: object, discount: object, now: datetime, service_start: object = None,
             contract_id: UUID | None = None) -> Contract:
        kind = check_period(period)
        first = check_month(term_start, field="term_start")
        last = check_month(term_end, field="term_end")
        months = month_index(last) - month_index(first) + 1
        if months <= 0:
            raise InvalidInput(f"term_end: {last} is before term_start {first}", field="term_end")
        if months > MAX_TERM_MONTHS:
            raise InvalidInput(f"term_end: a term may last at most {MAX_TERM_MONTHS} months", field="term_end")
        if months % PERIOD_MONTHS[kind]:
            raise InvalidInput(f"term_end: the term ({months} months) must be whole {kind}s", field="term_end")
        if month_index(first) < month_index(f"{now.year:04d}-{now.month:02d}"):
            raise InvalidInput(f"term_start: {first} is in the past (a term starts this month or later)",
                               field="term_start")
        served = first_day(first) if service_start is None else check_date(service_start, field="service_start")
        if not first_day(first) <= served <= last_day(last):
            raise InvalidInput(f"service_start: {served} is outside the term ({first_day(first)} to "
                               f"{last_day(last)})", field="service_start")
        value = check_amount(amount, currency, field="amount")
        return cls(tenant_id, check_currency(currency), kind, first, last, value, check_discount(discount), now,
                   served.isoformat(), id=contract_id)

    # ---- the term -----------------------------------------------------------------------------

    @property
    def last_month(self) -> str:
        """The last month of the term, after any termination."""
        if self.terminated_from is not None:
            return month_at(month_index(self.terminated_from) - 1)
        return self.term_end

    @property
    def status(self) -> str:
        return "terminated" if self.terminated_from is not None else "active"

    def periods(self) -> list[Period]:
        step = PERIOD_MONTHS[self.period]
        first, last = month_index(self.term_start), month_index(self.last_month)
        return [Period(month_at(i), month_at(i + step - 1)) for i in range(first, last + 1, step)]

    def covers(self, month: str) -> bool:
        return month_index(self.term_start) <= month_index(month) <= month_index(self.last_month)

    @property
    def service_from(self) -> date:
        return date.fromisoformat(self.service_start)

    def served_days(self, period: Period) -> int:
        """Days of ``period`` within [service start, last day of the term after any termination]."""
        begin = max(period.first_day, self.service_from)
        end = min(period.last_day, last_day(self.last_month))
        return max(0, (end - begin).days + 1)

    def commitment_of(self, period: Period) -> Commitment:
        """The period's commitment: the amount in force, x served days / days in the period,
        rounded once to the minor unit (banker's rounding)."""
        full = self.terms_at(period.start)[0]
        served = self.served_days(period)
        with localcontext() as exact:
            exact.prec = 60
            share = full * served / period.days
        return Commitment(period, full, served, quantize(share, self.currency))

    def terms_at(self, month: str) -> tuple[Decimal, Decimal]:
        """(amount per period, discount) in force in ``month``."""
        amount, discount = ZERO, ZERO
        for effective, value, share in self.terms:
            if month_index(str(effective)) <= month_index(month):
                amount, discount = Decimal(str(value)), Decimal(str(share))
        return amount, discount

    def discount_at(self, month: str) -> Decimal:
        return self.terms_at(month)[1] if self.covers(month) else ZERO

    def period_ending(self, month: str) -> Period | None:
        """The unsettled period whose last month is ``month``, if any."""
        for period in self.periods():
            if period.end == month and period.start not in self.settled:
                return period
        return None

    def _check_future_period_start(self, month: object, *, field: str, now: datetime) -> str:
        start = check_month(month, field=field)
        starts = [p.start for p in self.periods()]
        if start not in starts:
            raise InvalidInput(f"{field}: {start} is not the start of a remaining period of the contract "
                               f"(period starts: {', '.join(starts[:12])}{' ...' if len(starts) > 12 else ''})",
                               field=field)
        current = month_index(f"{now.year:04d}-{now.month:02d}")
        if month_index(start) <= current:
            raise InvalidInput(f"{field}: {start} is not after the current month; changes apply from a future "
                               "period", field=field)
        return start

    # ---- amendments and termination -----------------------------------------------------------

    def amend(self, *, effective_month: object, amount: object, discount: object, now: datetime) -> None:
        if self.terminated_from is not None:
            raise InvalidTransition("contract is terminated and cannot be amended")
        start = self._check_future_period_start(effective_month, field="effective_month", now=now)
        self._amended(start, check_amount(amount, self.currency, field="amount"), check_discount(discount), now)

    class Amended(Aggregate.Event):
        TOPIC = "ledger:Contract.Amended"
        effective_from: str
        amount: Decimal
        discount: Decimal
        recorded_at: datetime

    @event(Amended)
    def _amended(self, effective_from: str, amount: Decimal, discount: Decimal, recorded_at: datetime) -> None:
        self.terms = [t for t in self.terms if month_index(str(t[0])) < month_index(effective_from)]
        self.terms.append([effective_from, amount, discount])

    def terminate(self, *, effective_month: object, fee: object, now: datetime) -> None:
        if self.terminated_from is not None:
            raise InvalidTransition("contract is already terminated")
        start = self._check_future_period_start(effective_month, field="effective_month", now=now)
        if start == self.term_start:
            raise InvalidInput("effective_month: a contract cannot end before its first period",
                               field="effective_month")
        if first_day(start) <= self.service_from:
            raise InvalidInput(f"effective_month: the term would end before its service start "
                               f"{self.service_start}", field="effective_month")
        self._terminated(start, check_amount(fee, self.currency, field="fee", allow_zero=True), now)

    class Terminated(Aggregate.Event):
        TOPIC = "ledger:Contract.Terminated"
        effective_from: str
        fee: Decimal
        recorded_at: datetime

    @event(Terminated)
    def _terminated(self, effective_from: str, fee: Decimal, recorded_at: datetime) -> None:
        self.terminated_from = effective_from
        self.termination_fee = fee

    # ---- settlement ---------------------------------------------------------------------------

    def settle(self, *, period: Period, eligible_spend: Decimal, invoice_id: UUID) -> Settlement:
        """Settle ``period`` (its last month's invoice is being issued): the true-up is the
        shortfall of eligible spend below the commitment, never negative; the termination fee
        comes with the last period of a terminated contract."""
        if period.start in self.settled:
            raise InvalidTransition(f"period {period.start}..{period.end} is already settled")
        commitment = self.commitment_of(period)
        true_up = quantize(max(ZERO, commitment.amount - eligible_spend), self.currency)
        last = self.terminated_from is not None and period.end == self.last_month
        fee = quantize(self.termination_fee if last else ZERO, self.currency)
        self._settled(period.start, period.end, commitment.amount, eligible_spend, true_up, fee, invoice_id,
                      commitment.served_days, period.days)
        return self.settled[period.start]

    class PeriodSettled(Aggregate.Event):
        """Version 2 adds the days served and the days in the period; version-1 settlements
        (before service starts and proration) were of whole periods: served = all its days."""

        TOPIC = "ledger:Contract.PeriodSettled"
        class_version = 2
        period_start: str
        period_end: str
        commitment: Decimal
        eligible_spend: Decimal
        true_up: Decimal
        termination_fee: Decimal
        invoice_id: UUID
        served_days: int
        period_days: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            days = Period(str(state["period_start"]), str(state["period_end"])).days
            state["served_days"] = state["period_days"] = days

    @event(PeriodSettled)
    def _settled(self, period_start: str, period_end: str, commitment: Decimal, eligible_spend: Decimal,
                 true_up: Decimal, termination_fee: Decimal, invoice_id: UUID, served_days: int,
                 period_days: int) -> None:
        self.settled[period_start] = Settlement(Period(period_start, period_end), commitment, eligible_spend,
                                                true_up, termination_fee, invoice_id, int(served_days),
                                                int(period_days))
