"""The read side's time axis: whole UTC hours as integers (hours since the epoch), months as
'YYYY-MM', and usage as integer micro-GPU-hours (usage has at most 6 decimal places), so that
additive tables stay exact on SQLite too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

UTC = UTC
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
MICRO = Decimal(1_000_000)
_CACHE_LIMIT = 200_000


def hour_floor(moment: datetime) -> int:
    """Index of the whole UTC hour containing ``moment``."""
    return (moment - EPOCH) // HOUR


def hour_ceil(moment: datetime) -> int:
    """Index of the first whole hour at or after ``moment``."""
    floor = (moment - EPOCH) // HOUR
    return floor if EPOCH + floor * HOUR == moment else floor + 1


def hour_start(index: int) -> datetime:
    return EPOCH + index * HOUR


_iso_hours: dict[str, int] = {}


def hour_of_iso(text: str) -> int:
    """Hour index of an ISO 8601 time as stored in usage records (hours repeat: cached)."""
    found = _iso_hours.get(text)
    if found is None:
        found = hour_floor(datetime.fromisoformat(text).astimezone(UTC))
        if len(_iso_hours) < _CACHE_LIMIT:
            _iso_hours[text] = found
    return found


_months: dict[int, str] = {}


def month_of_hour(index: int) -> str:
    label = _months.get(index)
    if label is None:
        start = hour_start(index)
        label = f"{start.year:04d}-{start.month:02d}"
        if len(_months) < _CACHE_LIMIT:
            _months[index] = label
    return label


def month_of(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment.month:02d}"


def month_start_hour(month: str) -> int:
    return hour_floor(datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=UTC))


def next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + (mon == 12):04d}-{mon % 12 + 1:02d}"


def months_between(first: str, last: str) -> int:
    """Number of months from ``first`` to ``last`` inclusive (0 if last is before first)."""
    return max(0, (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7]) + 1)


def hours_by_month(first: int, last: int) -> list[tuple[str, int]]:
    """Split the hours [first, last) by calendar month: [(month, hour count), ...]."""
    out: list[tuple[str, int]] = []
    hour = first
    while hour < last:
        month = month_of_hour(hour)
        boundary = min(last, month_start_hour(next_month(month)))
        out.append((month, boundary - hour))
        hour = boundary
    return out


def micro(value: Decimal) -> int:
    """GPU-hours to integer micro-GPU-hours."""
    return int(value * MICRO)


_micros: dict[str, int] = {}


def micro_of_text(text: str) -> int:
    """Micro-GPU-hours of a usage record's decimal string (values repeat a lot: cached)."""
    found = _micros.get(text)
    if found is None:
        found = micro(Decimal(text))
        if len(_micros) < _CACHE_LIMIT:
            _micros[text] = found
    return found


def from_micro(value: int) -> Decimal:
    return Decimal(value) / MICRO
