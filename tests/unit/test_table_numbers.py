"""Numbers in tables are for people: never an exponent (``0E-10``, ``1E+3``), whatever the
Decimal; rates per GPU-hour at the precision they are stored with; shares as percentages."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cli.readable import fx_rate, money, share
from cli.render import human, rate, tonnes

COLUMNS = ("amount", "total", "gpu_hours", "energy_kwh", "rate_per_gpu_hour", "rate", "discount", "booking_rate",
           "location_kgco2e", "equity_percent", "served_days", "quantity")

# Tiny, huge, negative zero and every exponent in between: what arithmetic on Decimals gives.
decimals = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False),
    st.builds(lambda digits, exponent, negative: Decimal((negative, digits, exponent)),
              st.tuples(*[st.integers(0, 9)] * 3) | st.just((0,)), st.integers(-40, 40), st.booleans()),
    st.sampled_from([Decimal("0E-10"), Decimal("-0E-10"), Decimal("-0"), Decimal("0E+5"), Decimal("1E+30"),
                     Decimal("1E-30"), Decimal("-0.00")]))


@given(value=decimals, column=st.sampled_from(COLUMNS), whole=st.booleans())
def test_no_cell_has_an_exponent(value: Decimal, column: str, whole: bool) -> None:
    for cell in (human(column, value, whole=whole), money(value), rate(value), tonnes(value), fx_rate(value)):
        assert "E" not in cell and "e" not in cell, (value, column, cell)
        assert not cell.startswith("-") or cell.strip("-0.,% ") != "", (value, cell)  # no "-0.00"


def test_zero_at_the_minor_unit_and_rates_as_stored() -> None:
    assert money(Decimal("0E-10")) == "0.00"
    assert money(Decimal("305856.00")) == "305,856.00"
    assert money(Decimal("1000")) == "1,000"  # a currency without minor units stays whole
    assert human("gpu_hours", Decimal("0E-10"), whole=True) == "0"
    assert human("rate_per_gpu_hour", Decimal("4.1515")) == "4.1515"
    assert rate(Decimal("2.5")) == "2.50" and rate(Decimal("4.151500")) == "4.1515"
    assert human("discount", Decimal("0.05")) == share(Decimal("0.05")) == "5.0 %"
    assert human("cancellation_fee_share", Decimal("0.25")) == "25.0 %"
