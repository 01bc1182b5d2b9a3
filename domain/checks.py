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
    return storable(value, field=field)


def storable(value: str, *, field: str) -> str:
    """Text both stores can keep: no NUL (PostgreSQL refuses it in text) and no lone surrogate
    (not encodable as UTF-8)."""
    if "\x00" in value:
        raise InvalidInput(f"{field}: NUL characters are not allowed", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{field}: not valid Unicode text (a lone surrogate)", field=field) from None
    return value


# Positions, versions and counts are stored as signed 64-bit integers (SQLite and PostgreSQL).
MAX_STORED_INT = 2**63 - 1


def ascii_int(value: str, *, field: str) -> int:
    """A whole number written in ASCII digits: ``"²".isdigit()`` and ``"٣".isdigit()`` are true,
    and int() takes the second, but neither is a number a client meant."""
    text_ = value.strip()
    if not (text_.isascii() and text_.isdigit()):
        raise InvalidInput(f"{field}: expected a whole number in ASCII digits, got {value!r}", field=field)
    if len(text_.lstrip("0")) > len(str(MAX_STORED_INT)) or int(text_) > MAX_STORED_INT:
        raise InvalidInput(f"{field}: {text_[:30]}{'...' if len(text_) > 30 else ''} is beyond what the store "
                           f"holds (at most {MAX_STORED_INT})", field=field)
    return int(text_)


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
