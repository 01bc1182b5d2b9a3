"""Money: exact decimal amounts in an ISO 4217 currency, never floats.

Rounding rule (stated once, used everywhere): amounts are computed exactly and rounded to the
currency's minor unit with banker's rounding (ROUND_HALF_EVEN) at the line, never on
intermediate sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from domain.errors import InvalidInput, UnknownCurrency

# ISO 4217 minor-unit exponents for the currencies the ledger bills and raises funds in.
# Source: ISO 4217 list maintained by SIX (https://www.six-group.com/en/products-services/
# financial-information/data-standards.html), "Minor unit" column.
MINOR_UNITS: dict[str, int] = {
    "USD": 2, "EUR": 2, "GBP": 2, "NOK": 2, "SEK": 2, "DKK": 2, "CHF": 2,
    "CAD": 2, "AUD": 2, "SGD": 2, "JPY": 0, "KRW": 0, "ISK": 0, "INR": 2,
    "AED": 2, "SAR": 2, "CNY": 2, "HKD": 2, "NZD": 2, "PLN": 2,
}

# Upper bound on any single amount: refuses absurd input (and float-ish overflow) with a
# clear message rather than storing it. 10^15 is a thousand trillion in any currency.
MAX_AMOUNT = Decimal(10) ** 15


def check_currency(code: object, *, field: str = "currency") -> str:
    """Return ``code`` if it is an ISO 4217 code the ledger knows, else raise."""
    if not isinstance(code, str) or code not in MINOR_UNITS:
        known = ", ".join(sorted(MINOR_UNITS))
        raise UnknownCurrency(f"{field}: unknown currency {code!r} (known: {known})", field=field)
    return code


def to_decimal(value: object, *, field: str) -> Decimal:
    """Coerce an int, str or Decimal to a finite Decimal; floats are refused (inexact)."""
    if isinstance(value, (bool, float)):
        raise InvalidInput(f"{field}: give an exact decimal (string or Decimal), not {value!r}", field=field)
    if isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, Decimal):
        result = value
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidInput(f"{field}: {value!r} is not a decimal number", field=field) from None
    else:
        raise InvalidInput(f"{field}: {value!r} is not a decimal number", field=field)
    if not result.is_finite():
        raise InvalidInput(f"{field}: must be a finite number, not {value!r}", field=field)
    if abs(result) >= MAX_AMOUNT:
        raise InvalidInput(f"{field}: {value!r} is out of range", field=field)
    return result


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` to the currency's minor unit with banker's rounding."""
    exponent = Decimal(1).scaleb(-MINOR_UNITS[check_currency(currency)])
    return amount.quantize(exponent, rounding=ROUND_HALF_EVEN)


def check_amount(value: object, currency: str, *, field: str, allow_zero: bool = False) -> Decimal:
    """A positive (or non-negative) amount with no more precision than the minor unit."""
    amount = to_decimal(value, field=field)
    if amount < 0 or (amount == 0 and not allow_zero):
        expected = "non-negative" if allow_zero else "positive"
        raise InvalidInput(f"{field}: must be {expected}, got {amount}", field=field)
    if quantize(amount, currency) != amount:
        raise InvalidInput(
            f"{field}: {amount} has more decimal places than {currency} allows ({MINOR_UNITS[currency]})",
            field=field,
        )
    return amount


def check_signed_amount(value: object, currency: str, *, field: str) -> Decimal:
    """An amount that may be negative (a credit or adjustment line), at minor-unit precision."""
    amount = to_decimal(value, field=field)
    if quantize(amount, currency) != amount:
        raise InvalidInput(f"{field}: {amount} has more decimal places than {currency} allows", field=field)
    return amount


def check_rate(value: object, *, field: str) -> Decimal:
    """A positive price per unit; may be finer than the minor unit (rounded at the line)."""
    rate = to_decimal(value, field=field)
    if rate <= 0:
        raise InvalidInput(f"{field}: must be positive, got {rate}", field=field)
    if rate.as_tuple().exponent < -6:  # type: ignore[operator]
        raise InvalidInput(f"{field}: at most 6 decimal places, got {rate}", field=field)
    return rate


@dataclass(frozen=True)
class Money:
    """An exact amount in a currency. Arithmetic refuses to mix currencies."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        check_currency(self.currency)
        if not isinstance(self.amount, Decimal):
            raise InvalidInput(f"amount must be a Decimal, not {type(self.amount).__name__}", field="amount")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def rounded(self) -> Money:
        return Money(quantize(self.amount, self.currency), self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidInput(f"currency: cannot combine {self.currency} with {other.currency}", field="currency")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
