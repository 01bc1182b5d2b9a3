"""UTC time: aware datetimes only, whole-hour windows, and an integer hour index.

An *hour index* is the number of whole hours since the Unix epoch (UTC). Aggregates keep
per-hour state keyed by hour index; events carry aware datetimes.
"""

from __future__ import annotations

from datetime import UTC as UTC  # re-exported: domain.service and cli import UTC from here
from datetime import datetime, timedelta

from domain.errors import InvalidInput, NotOnTheHour

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Windows beyond this are refused: a reservation or order is not planned centuries ahead.
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def check_utc(value: object, *, field: str) -> datetime:
    """Return ``value`` as a UTC datetime; naive datetimes and non-datetimes are refused."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{field}: {value!r} is not an ISO 8601 timestamp", field=field) from None
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field}: expected a timezone-aware datetime, got {value!r}", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field}: naive datetime {value.isoformat()} refused; give a UTC offset", field=field)
    value = value.astimezone(UTC)
    if not EARLIEST <= value < LATEST:
        raise InvalidInput(f"{field}: {value.isoformat()} is outside {EARLIEST.year}-{LATEST.year}", field=field)
    return value


def check_on_the_hour(value: object, *, field: str) -> datetime:
    """A UTC datetime exactly on a whole hour."""
    moment = check_utc(value, field=field)
    if moment.minute or moment.second or moment.microsecond:
        raise NotOnTheHour(f"{field}: {moment.isoformat()} is not on a whole UTC hour", field=field)
    return moment


def hour_index(moment: datetime) -> int:
    """Whole hours since the epoch, rounding down (the hour that contains ``moment``)."""
    # timestamp() is exact for whole seconds and far cheaper than timedelta floor division;
    # sub-second parts cannot cross an hour boundary, so flooring the seconds is exact.
    return int(moment.timestamp()) // 3600


def hour_index_ceil(moment: datetime) -> int:
    """The first whole hour at or after ``moment``."""
    floor = hour_index(moment)
    return floor if hour_start(floor) == moment else floor + 1


def hour_start(index: int) -> datetime:
    return EPOCH + timedelta(hours=index)


def month_of(moment: datetime) -> str:
    """The UTC calendar month containing ``moment`` as 'YYYY-MM'."""
    return f"{moment.year:04d}-{moment.month:02d}"
