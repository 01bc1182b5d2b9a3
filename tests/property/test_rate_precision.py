"""Exchange rates keep their digits (hypothesis): a derived cross rate carries the 34 significant
digits of ``domain.fx.PRECISION`` into JSON and CSV (the default 28-digit decimal context once cut
it), any decimal keeps every digit through the one representation, and tables show at most 6
decimals, never an exponent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext

from hypothesis import given
from hypothesis import strategies as st

from cli.readable import fx_rate
from domain.fx import PRECISION, RateBook, RateFact
from projections.consolidation import rate_text
from projections.queries import canonical

rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100000"), places=6, allow_nan=False,
                    allow_infinity=False).filter(lambda d: d > 0)
DAY = date(2026, 6, 30)


@given(to_leg=rates, from_leg=rates)
def test_a_cross_rate_keeps_34_significant_digits_in_the_answer(to_leg: Decimal, from_leg: Decimal) -> None:
    book = RateBook([RateFact("EUR", "USD", DAY, to_leg, "t", 7), RateFact("EUR", "NOK", DAY, from_leg, "t", 9)])
    applied = book.rate("NOK", "USD", DAY)
    assert applied is not None and applied.positions == (7, 9)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        expected = to_leg / from_leg
    text = rate_text(applied)
    assert text is not None and "E" not in text
    assert Decimal(text) == expected  # every digit the rule computed, none cut
    assert canonical(Decimal(text), 0) == expected


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_the_representation_never_rounds(value: Decimal) -> None:
    for scale in (0, 2, 6):
        kept = canonical(value, scale)
        assert kept == value, (value, scale, kept)


@given(rates)
def test_tables_show_a_rate_at_up_to_6_decimals_without_an_exponent(rate: Decimal) -> None:
    shown = fx_rate(rate)
    assert "E" not in shown and "e" not in shown
    decimals = shown.partition(".")[2]
    assert len(decimals) <= 6
    assert abs(Decimal(shown) - rate) <= Decimal("0.0000005")
