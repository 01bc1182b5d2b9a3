"""The FX rule (domain.fx) and FX rates as facts (FxRate, Ledger.record_fx_rates)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import Ledger
from domain.aggregates import FxRate
from domain.errors import InvalidInput
from domain.fx import RateBook, RateFact, last_day, missing_note
from tests.builders import refused

D = Decimal
ECB = "ECB reference rate"


def fact(base: str, quote: str, day: str, rate: str) -> RateFact:
    return RateFact(base, quote, date.fromisoformat(day), D(rate), ECB)


BOOK = RateBook([fact("EUR", "USD", "2026-01-30", "1.10"), fact("EUR", "USD", "2026-02-27", "1.20"),
                 fact("EUR", "GBP", "2026-01-30", "0.85")])


def test_the_rate_in_force_on_the_months_last_day_applies_per_line_rounded_half_even() -> None:
    assert last_day("2026-02") == date(2026, 2, 28) and last_day("2024-02") == date(2024, 2, 29)
    # 30.00 EUR in January: EUR->USD of 2026-01-30 (the latest on or before 2026-01-31).
    assert BOOK.convert(D("30.00"), "EUR", "USD", "2026-01") == D("33.00")
    assert BOOK.convert(D("30.00"), "EUR", "USD", "2026-02") == D("36.00")
    # 0.125 x 1.10 = 0.1375 -> 0.14 (half-even on the digit after the minor unit)
    assert BOOK.convert(D("0.125"), "EUR", "USD", "2026-01") == D("0.14")
    assert BOOK.convert(D("7.77"), "USD", "USD", "2025-01") == D("7.77")


def test_inverse_is_derived_as_one_over_the_rate_and_cross_rates_go_through_a_common_base() -> None:
    # USD -> EUR: 1 / 1.10; 50.00 USD = 45.4545... EUR -> 45.45
    assert BOOK.convert(D("50.00"), "USD", "EUR", "2026-01") == D("45.45")
    applied = BOOK.rate("GBP", "USD", date(2026, 1, 31))
    assert applied is not None and applied.effective_date == date(2026, 1, 30)
    # GBP -> USD = (EUR->USD) / (EUR->GBP) = 1.10 / 0.85; 14.00 GBP = 18.1176... USD -> 18.12
    assert BOOK.convert(D("14.00"), "GBP", "USD", "2026-01") == D("18.12")
    assert "EUR->USD / EUR->GBP" in applied.source


def test_a_missing_rate_is_missing_never_zero() -> None:
    assert BOOK.convert(D("10"), "NOK", "USD", "2026-01") is None
    assert BOOK.convert(D("10"), "EUR", "USD", "2025-12") is None  # before the first rate
    assert missing_note("NOK", "USD", last_day("2026-10")) == "no rate for NOK->USD on 2026-10-31"


@given(st.decimals("-1000000", "1000000", places=2), st.decimals("0.0001", "500", places=4))
def test_conversion_is_the_exact_product_rounded_once(amount: Decimal, rate: Decimal) -> None:
    book = RateBook([RateFact("EUR", "NOK", date(2026, 1, 1), rate, ECB)])
    converted = book.convert(amount, "EUR", "NOK", "2026-03")
    assert converted is not None and abs(converted - amount * rate) <= D("0.005")
    assert converted == converted.quantize(D("0.01"))


def rate(base: str = "EUR", quote: str = "USD", value: str = "1.0842", day: str = "2026-01-30",
         source: str = ECB) -> dict[str, object]:
    return {"base": base, "quote": quote, "rate": value, "effective_date": day, "source": source}


def test_recording_the_same_rate_again_records_nothing_and_a_correction_is_a_new_event(
        memory_ledger: Ledger) -> None:
    first = memory_ledger.record_fx_rates([rate(), rate(quote="NOK", value="11.72")])
    assert first.count("recorded") == 2 and first.position == memory_ledger.max_position()
    again = memory_ledger.record_fx_rates([rate(), rate(quote="NOK", value="11.72")])
    assert again.position is None and again.count("unchanged") == 2
    assert memory_ledger.max_position() == first.position
    corrected = memory_ledger.record_fx_rates([rate(value="1.0850")])
    assert corrected.count("corrected") == 1 and corrected.position == first.position + 1  # type: ignore[operator]
    found = memory_ledger.get_fx_rate(corrected.outcomes[0].fact.id)
    assert isinstance(found, FxRate) and found.rate == D("1.0850") and found.corrections == 1
    events = list(memory_ledger.events.get(found.id))
    assert [type(e).__name__ for e in events] == ["Recorded", "Corrected"] and events[0].rate == D("1.0842")


@pytest.mark.parametrize(("row", "field"), [
    (rate(base="XXX"), "base"), (rate(quote="EUR"), "quote"), (rate(value="0"), "rate"),
    (rate(value="-1.2"), "rate"), (rate(value="abc"), "rate"), (rate(value="1.00000000001"), "rate"),
    (rate(day="2026-02-30"), "effective_date"), (rate(day="26-1-1"), "effective_date"),
    (rate(day="1900-01-01"), "effective_date"), (rate(source=" "), "source"),
])
def test_a_bad_rate_refuses_the_whole_batch_naming_its_row_and_field(memory_ledger: Ledger, row: dict[str, object],
                                                                     field: str) -> None:
    with refused(memory_ledger, InvalidInput, field):
        memory_ledger.record_fx_rates([rate(quote="GBP", value="0.85"), row], where=["line 2: ", "line 3: "])
    with pytest.raises(InvalidInput) as caught:
        memory_ledger.record_fx_rates([rate(quote="GBP", value="0.85"), row], where=["line 2: ", "line 3: "])
    assert caught.value.message.startswith(f"line 3: {field}")


def test_one_batch_may_not_give_two_rates_for_one_pair_and_date(memory_ledger: Ledger) -> None:
    with refused(memory_ledger, InvalidInput, "rate"):
        memory_ledger.record_fx_rates([rate(), rate(value="1.2")])
    assert memory_ledger.record_fx_rates([rate(), rate()]).count("recorded") == 1
