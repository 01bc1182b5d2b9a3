"""Exchange rates and the ONE conversion rule (stated in the README, *FX rates*).

A rate fact says: on and after ``effective_date``, 1 ``base`` = ``rate`` ``quote`` (finance records
them, e.g. the ECB's euro reference rates). The rule converting an amount of a month:

- **Which rate:** the rate in force on the last day of the month of the line: the fact with the
  latest effective date on or before that day. A correction of a date's rate supersedes it.
- **Which pair:** the pair as recorded (base -> quote); else its inverse, derived as 1 / rate (the
  inverse is never recorded separately); else a cross rate through a currency both are quoted
  against (ECB style: GBP -> USD = (EUR -> USD) / (EUR -> GBP)), each leg in force on that day.
  Derived rates are computed to 34 significant digits (``PRECISION``).
- **How:** per line, amount x rate exactly, then rounded half-even to the target currency's
  minor unit (``domain.money.quantize``); sums are of the rounded lines.
- **Missing:** no rate in force for the pair on that day is *missing*, never 0: the caller gets
  ``None`` and names it with :func:`missing_note` ("no rate for NOK->USD on 2026-10-31").
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from domain.money import quantize

PRECISION = 34


@dataclass(frozen=True)
class RateFact:
    """1 ``base`` = ``rate`` ``quote`` from ``effective_date`` on, as finance recorded it."""

    base: str
    quote: str
    effective_date: date
    rate: Decimal
    source: str
    position: int | None = None  # the log position of the event that recorded (or last corrected) it


@dataclass(frozen=True)
class AppliedRate:
    """The rate used for one conversion: 1 ``from_currency`` = ``rate`` ``to_currency``, from facts
    effective on ``effective_date`` (the older leg's date for a cross rate), ``source`` saying how."""

    from_currency: str
    to_currency: str
    rate: Decimal
    effective_date: date
    source: str
    positions: tuple[int, ...] = ()  # the log positions of the facts used (two for a cross rate)


def last_day(month: str) -> date:
    """The last day of ``YYYY-MM``: the day whose rate in force converts that month's lines."""
    year, mon = int(month[:4]), int(month[5:7])
    return date(year, mon, calendar.monthrange(year, mon)[1])


def missing_note(from_currency: str, to_currency: str, day: date) -> str:
    return f"no rate for {from_currency}->{to_currency} on {day.isoformat()}"


def _positions(*facts: RateFact) -> tuple[int, ...]:
    return tuple(f.position for f in facts if f.position is not None)


class RateBook:
    """Every pair's facts, by effective date (the latest correction of a date already applied)."""

    def __init__(self, facts: Iterable[RateFact]) -> None:
        by_pair: dict[tuple[str, str], dict[date, RateFact]] = {}
        for fact in facts:
            by_pair.setdefault((fact.base, fact.quote), {})[fact.effective_date] = fact
        self._pairs = {pair: sorted(dated.values(), key=lambda f: f.effective_date) for pair, dated in by_pair.items()}
        self._dates = {pair: [f.effective_date for f in facts_] for pair, facts_ in self._pairs.items()}

    def in_force(self, base: str, quote: str, day: date) -> RateFact | None:
        """The recorded fact for base -> quote with the latest effective date on or before ``day``."""
        dates = self._dates.get((base, quote))
        if not dates:
            return None
        i = bisect_right(dates, day)
        return self._pairs[(base, quote)][i - 1] if i else None

    def rate(self, from_currency: str, to_currency: str, day: date) -> AppliedRate | None:
        """The rate the rule applies on ``day``, or None when it is missing."""
        if from_currency == to_currency:
            return AppliedRate(from_currency, to_currency, Decimal(1), day, "same currency")
        direct = self.in_force(from_currency, to_currency, day)
        if direct is not None:
            return AppliedRate(from_currency, to_currency, direct.rate, direct.effective_date, direct.source,
                               _positions(direct))
        with localcontext() as ctx:
            ctx.prec = PRECISION
            inverse = self.in_force(to_currency, from_currency, day)
            if inverse is not None:
                return AppliedRate(from_currency, to_currency, 1 / inverse.rate, inverse.effective_date,
                                   f"1 / {to_currency}->{from_currency} ({inverse.source})", _positions(inverse))
            for via in sorted({base for base, _ in self._pairs}):
                to_leg, from_leg = self.in_force(via, to_currency, day), self.in_force(via, from_currency, day)
                if to_leg is not None and from_leg is not None:
                    return AppliedRate(from_currency, to_currency, to_leg.rate / from_leg.rate,
                                       min(to_leg.effective_date, from_leg.effective_date),
                                       f"{via}->{to_currency} / {via}->{from_currency} ({to_leg.source})",
                                       _positions(to_leg, from_leg))
        return None

    def convert(self, amount: Decimal, from_currency: str, to_currency: str, month: str) -> Decimal | None:
        """``amount`` of a line in ``month`` in ``to_currency``, rounded to its minor unit; None if
        no rate is in force on the month's last day."""
        applied = self.rate(from_currency, to_currency, last_day(month))
        if applied is None:
            return None
        with localcontext() as ctx:
            ctx.prec = PRECISION + 20
            return quantize(amount * applied.rate, to_currency)

# The reporting currency of consolidated reports when none is asked for (LEDGER_REPORTING_CURRENCY
# in the API's and command line's settings overrides it).
DEFAULT_REPORTING_CURRENCY = "USD"
