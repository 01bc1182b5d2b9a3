"""UTC time: aware datetimes only, whole-hour windows, and an integer hour index.

An *hour index* is the number of whole hours since the Unix epoch (UTC). Aggregates keep
per-hour state keyed by hour index; events carry aware datetimes.
"""

from __future__ import annotations

import re
from datetime import UTC as UTC  # re-exported: the ledger's one time zone
from datetime import datetime, timedelta

from domain.errors import InvalidInput, NotOnTheHour

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Windows beyond this are refused: a reservation or order is not planned centuries ahead.
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# The instants any time input may be, in UTC: the years 1-9999 that datetime represents, less a
# margin at each end so that the arithmetic done on an instant (the hour, day or month before or
# after it; the month after that) stays representable. Outside, input is refused, never left to
# overflow: 0001-01-01T00:00:00+14:00 and 9999-12-31T23:00:00-05:00 leave the years 1-9999.
REPRESENTABLE_FROM = datetime(1, 1, 2, tzinfo=UTC)
REPRESENTABLE_UNTIL = datetime(9999, 11, 1, tzinfo=UTC)
# Months 0001-01 .. 9999-11: the month after each exists (a billing month ends there).
FIRST_MONTH, LAST_MONTH = "0001-01", "9999-11"


def to_utc(value: datetime, *, field: str) -> datetime:
    """An aware ``value`` in UTC; InvalidInput naming ``field`` when it is naive or, in UTC,
    outside [REPRESENTABLE_FROM, REPRESENTABLE_UNTIL)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field}: naive datetime {value.isoformat()} refused; give a UTC offset", field=field)
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not REPRESENTABLE_FROM <= moment < REPRESENTABLE_UNTIL:
        raise InvalidInput(f"{field}: {value.isoformat()} is outside {REPRESENTABLE_FROM:%Y-%m-%d} to "
                           f"{REPRESENTABLE_UNTIL - timedelta(days=1):%Y-%m-%d} in UTC", field=field)
    return moment


def check_utc(value: object, *, field: str) -> datetime:
    """Return ``value`` as a UTC datetime; naive datetimes and non-datetimes are refused."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except (ValueError, OverflowError):
            raise InvalidInput(f"{field}: {value!r} is not an ISO 8601 timestamp", field=field) from None
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field}: expected a timezone-aware datetime, got {value!r}", field=field)
    value = to_utc(value, field=field)
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


MONTH_PATTERN = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$", re.ASCII)


def check_month(value: object, *, field: str = "month") -> str:
    """A 'YYYY-MM' calendar month (ASCII digits) whose successor is representable."""
    if isinstance(value, str) and re.match(r"^[0-9]{4}-[0-9]{2}$", value, re.ASCII) and not MONTH_PATTERN.match(value):
        raise InvalidInput(f"{field}: month {value[5:]} is not a month (01-12) in {value!r}", field=field)
    if not isinstance(value, str) or not MONTH_PATTERN.match(value):
        raise InvalidInput(f"{field}: expected YYYY-MM, got {value!r}", field=field)
    if not FIRST_MONTH <= value <= LAST_MONTH:
        raise InvalidInput(f"{field}: {value} is outside {FIRST_MONTH} to {LAST_MONTH}", field=field)
    return value


def month_bounds(value: object, *, field: str = "month") -> tuple[datetime, datetime]:
    """The first instant of a month and of the month after it, both UTC."""
    month = check_month(value, field=field)
    year, mon = int(month[:4]), int(month[5:])
    return datetime(year, mon, 1, tzinfo=UTC), datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)


def next_month(value: object, *, field: str = "month") -> str:
    """The month after ``value`` ('YYYY-MM')."""
    return month_of(month_bounds(value, field=field)[1])
