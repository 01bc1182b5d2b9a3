"""How figures are printed on invoice documents: exact, with thousands separators."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from documents.render import exact, money, three


def test_money_exact_and_three() -> None:
    assert money(Decimal("1234567.5"), "USD") == "1,234,567.50"
    assert money(Decimal("-10"), "USD") == "-10.00"
    assert money(Decimal("1500"), "JPY") == "1,500"
    assert money(Decimal("2.4375"), "USD") == "2.4375"  # a rate keeps every decimal it has
    assert money(None, "USD") == "--"
    assert exact(Decimal("1234.500")) == "1,234.5" and exact(Decimal("48.000")) == "48" and exact(Decimal(0)) == "0"
    assert three(Decimal("0.0625")) == "0.062" and three(Decimal("0.0635")) == "0.064"  # half-even
    assert three(Decimal("1234567.8915")) == "1,234,567.892" and three(None) == "--"


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=6, allow_nan=False,
                   allow_infinity=False), st.sampled_from(["USD", "EUR", "JPY", "NOK"]))
def test_printed_figures_read_back_to_the_same_value(value: Decimal, currency: str) -> None:
    assert Decimal(money(value, currency).replace(",", "")) == value
    assert Decimal(exact(value).replace(",", "")) == value
