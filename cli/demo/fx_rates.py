"""The exchange rates the demo records: ECB-style euro reference rates, one per currency on the
last weekday of each month of the history (the day the FX rule's month-end lookup finds).

REFERENCE: the figures are ILLUSTRATIVE, not ECB publications. They are in the style of the
European Central Bank's euro foreign exchange reference rates (1 EUR = x USD / GBP / NOK,
published each TARGET business day around 16:00 CET,
https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/), set
near the demo's planning rates (``cli.demo.cast.USD_TO``) with a small deterministic monthly
drift. The ledger derives USD->EUR as 1/rate and GBP->USD as the cross rate through EUR.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

from cli.demo.cast import USD_TO
from domain import Ledger
from domain.fx import last_day
from domain.timeutil import UTC

SOURCE = "ECB-style euro reference rate (illustrative demo figure)"
QUOTES = ("USD", "GBP", "NOK")
# Monthly drift in basis points of each EUR cross, repeating (illustrative).
DRIFT_BP: dict[str, tuple[int, ...]] = {"USD": (0, 35, -20, 50, 15, -30), "GBP": (0, -15, 10, 25, -5, 20),
                                        "NOK": (0, 60, -40, 25, 80, -10)}


def last_weekday(month: str) -> date:
    day = last_day(month)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def month_rates(month: str, index: int) -> list[dict[str, object]]:
    """The three EUR reference rates in force from the last weekday of ``month``."""
    day = last_weekday(month).isoformat()
    rows: list[dict[str, object]] = []
    for quote in QUOTES:
        base_rate = USD_TO[quote] / USD_TO["EUR"]
        drift = Decimal(DRIFT_BP[quote][index % len(DRIFT_BP[quote])]) / 10_000
        rows.append({"base": "EUR", "quote": quote, "rate": (base_rate * (1 + drift)).quantize(Decimal("0.0001")),
                     "effective_date": day, "source": SOURCE})
    return rows


def recorded_at(month: str) -> datetime:
    """Finance records each month's rates on their publication day, after 16:00 CET."""
    day = last_weekday(month)
    return datetime(day.year, day.month, day.day, 16, tzinfo=UTC)


def recorder(ledger: Ledger, month: str, index: int) -> Callable[[], None]:
    """The timeline action recording ``month``'s rates (one batch, all or nothing)."""
    def record() -> None:
        ledger.record_fx_rates(month_rates(month, index))
    return record
