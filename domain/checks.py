"""Small input checks shared by the aggregates; each raises InvalidInput naming the field."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from domain.errors import InvalidInput
from domain.money import to_decimal

MAX_GPUS = 10_000_000  # larger than any fleet on Earth; refuses overflow-sized input
MAX_TEXT = 200


def positive_int(value: object, *, field: str, maximum: int = MAX_GPUS) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field}: expected a whole number, got {value!r}", field=field)
    if value <= 0:
        raise InvalidInput(f"{field}: must be positive, got {value}", field=field)
    if value > maximum:
        raise InvalidInput(f"{field}: {value} exceeds the maximum of {maximum}", field=field)
    return value


def text(value: object, *, field: str, maximum: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field}: must be a non-empty string", field=field)
    value = value.strip()
    if len(value) > maximum:
        raise InvalidInput(f"{field}: longer than {maximum} characters", field=field)
    if any(ord(ch) < 32 for ch in value):
        raise InvalidInput(f"{field}: control characters are not allowed", field=field)
    return value


def decimal_in_range(value: object, *, field: str, low: Decimal, high: Decimal) -> Decimal:
    number = to_decimal(value, field=field)
    if not low <= number <= high:
        raise InvalidInput(f"{field}: {number} is outside the physical range [{low}, {high}]", field=field)
    return number


def uuid_of(value: object, *, field: str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput(f"{field}: {value!r} is not a valid id", field=field) from None
