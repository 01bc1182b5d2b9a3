"""FxRate: one aggregate per (base, quote, effective date) -- the id is derived from the three.

Recording the same rate and source again changes nothing (idempotent, also across imports);
a different rate or source for the same pair and date is a correction: a new ``Corrected`` event
that supersedes the rate from then on, the earlier one staying in the log. Nothing is updated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.checks import text
from domain.errors import InvalidInput
from domain.money import check_currency, to_decimal

FX_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledger.example/fx-rate")
MAX_RATE_PLACES = 10
EARLIEST_DATE, LATEST_DATE = date(1999, 1, 1), date(2199, 12, 31)  # the euro's first day; the ledger's horizon


def fx_rate_id(base: str, quote: str, effective_date: str) -> UUID:
    return uuid5(FX_NAMESPACE, f"{base}/{quote}/{effective_date}")


@dataclass(frozen=True)
class FxFact:
    """A checked rate fact: 1 ``base`` = ``rate`` ``quote`` from ``effective_date`` (YYYY-MM-DD)."""

    base: str
    quote: str
    rate: Decimal
    effective_date: str
    source: str

    @property
    def id(self) -> UUID:
        return fx_rate_id(self.base, self.quote, self.effective_date)


def check_fx_fact(raw: dict[str, object], *, where: str = "") -> FxFact:
    """Check one rate as given (strings or typed values); InvalidInput names the field, prefixed
    with ``where`` (e.g. ``"line 7: "``)."""
    def bad(name: str, message: str) -> InvalidInput:
        return InvalidInput(f"{where}{name}: {message}", field=name)

    try:
        base = check_currency(raw.get("base"), field="base")
        quote = check_currency(raw.get("quote"), field="quote")
    except InvalidInput as error:
        raise InvalidInput(f"{where}{error}", field=error.field) from None
    if base == quote:
        raise bad("quote", f"must differ from base ({base})")
    value = raw.get("rate")
    try:
        rate = to_decimal(value.strip() if isinstance(value, str) else value, field="rate")
    except InvalidInput as error:
        raise InvalidInput(f"{where}{error}", field="rate") from None
    if rate <= 0:
        raise bad("rate", f"must be positive, got {rate}")
    if rate.as_tuple().exponent < -MAX_RATE_PLACES:  # type: ignore[operator]
        raise bad("rate", f"at most {MAX_RATE_PLACES} decimal places, got {rate}")
    day_raw = raw.get("effective_date")
    day_text = day_raw.isoformat() if isinstance(day_raw, date) and not isinstance(day_raw, datetime) else day_raw
    if not isinstance(day_text, str) or not day_text.strip().isascii() or len(day_text.strip()) != 10:
        raise bad("effective_date", f"expected a date YYYY-MM-DD, got {str(day_raw)[:40]!r}")
    try:
        day = date.fromisoformat(day_text.strip())
    except ValueError:
        raise bad("effective_date", f"expected a date YYYY-MM-DD, got {day_text[:40]!r}") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise bad("effective_date", f"{day} is outside {EARLIEST_DATE} to {LATEST_DATE}")
    try:
        source = text(raw.get("source"), field="source")
    except InvalidInput as error:
        raise InvalidInput(f"{where}{error}", field="source") from None
    return FxFact(base, quote, rate, day.isoformat(), source)


class FxRate(Aggregate):
    TOPIC = "ledger:FxRate"

    class Created(Aggregate.Created):  # unused; every event class needs an explicit topic
        TOPIC = "ledger:FxRate.Created"

    @staticmethod
    def create_id(base: str, quote: str, effective_date: str, **_: object) -> UUID:
        return fx_rate_id(base, quote, effective_date)

    class Recorded(Aggregate.Created):
        TOPIC = "ledger:FxRate.Recorded"
        base: str
        quote: str
        effective_date: str
        rate: Decimal
        source: str
        recorded_at: datetime

    @event(Recorded)
    def __init__(self, base: str, quote: str, effective_date: str, rate: Decimal, source: str,
                 recorded_at: datetime) -> None:
        self.base = base
        self.quote = quote
        self.effective_date = effective_date
        self.rate = rate
        self.source = source
        self.recorded_at = recorded_at
        self.corrections = 0

    @classmethod
    def record(cls, fact: FxFact, recorded_at: datetime) -> FxRate:
        return cls(fact.base, fact.quote, fact.effective_date, fact.rate, fact.source, recorded_at)

    def same_as(self, fact: FxFact) -> bool:
        return self.rate == fact.rate and self.source == fact.source

    def correct(self, fact: FxFact, recorded_at: datetime) -> None:
        """Supersede this date's rate (a new event; the earlier rate stays in the log)."""
        if (fact.base, fact.quote, fact.effective_date) != (self.base, self.quote, self.effective_date):
            raise InvalidInput("effective_date: a correction is for the same pair and date", field="effective_date")
        self._corrected(fact.rate, fact.source, recorded_at)

    class Corrected(Aggregate.Event):
        TOPIC = "ledger:FxRate.Corrected"
        rate: Decimal
        source: str
        recorded_at: datetime

    @event(Corrected)
    def _corrected(self, rate: Decimal, source: str, recorded_at: datetime) -> None:
        self.rate = rate
        self.source = source
        self.recorded_at = recorded_at
        self.corrections += 1
