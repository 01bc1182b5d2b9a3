"""Read the ledger's notification log in batches and decode events cheaply.

Events are decoded straight from their stored JSON (the library's transcoder writes Decimal,
datetime and UUID values as ``{"_type_": ..., "_data_": ...}``), without reconstructing
domain event objects: handlers only need field values, and skipping the mapper roughly
triples decoding speed (see bench/rebuild.py). The fields are those of each ``@event``
method's signature in domain/aggregates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from projections.db import Database

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
MICRO = Decimal(1_000_000)


@dataclass(slots=True)
class Event:
    position: int
    originator_id: str  # canonical UUID string
    topic: str
    data: dict[str, Any]


def uuid_str(value: Any) -> str:
    """A canonical UUID string from a stored id (hex text on SQLite, uuid on PostgreSQL, or a
    transcoded ``uuid_hex`` value)."""
    if isinstance(value, dict):
        value = value["_data_"]
    if isinstance(value, UUID):
        return str(value)
    h = str(value)
    if len(h) == 36:
        return h
    if len(h) == 32:
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return str(UUID(h))


def dec(value: Any) -> Decimal:
    if isinstance(value, dict):
        value = value["_data_"]
    return Decimal(str(value))


_moments: dict[str, datetime] = {}


def moment(value: Any) -> datetime:
    text = value["_data_"] if isinstance(value, dict) else value
    cached = _moments.get(text)
    if cached is None:
        cached = datetime.fromisoformat(text).astimezone(UTC)
        if len(_moments) < 200_000:  # hours repeat a lot in usage; bound the cache anyway
            _moments[text] = cached
    return cached


def hour_floor(value: Any) -> int:
    """Index of the whole UTC hour containing the moment (hours since the epoch)."""
    return int((moment(value) - EPOCH) // HOUR)


def hour_ceil(value: Any) -> int:
    """Index of the first whole hour at or after the moment."""
    m = moment(value)
    floor = int((m - EPOCH) // HOUR)
    return floor if EPOCH + floor * HOUR == m else floor + 1


def hour_start(index: int) -> datetime:
    return EPOCH + index * HOUR


_months: dict[int, str] = {}


def month_of_hour(index: int) -> str:
    label = _months.get(index)
    if label is None:
        start = hour_start(index)
        label = _months[index] = f"{start.year:04d}-{start.month:02d}"
    return label


def month_start_hour(month: str) -> int:
    return int((datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=UTC) - EPOCH) // HOUR)


def next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + (mon == 12):04d}-{mon % 12 + 1:02d}"


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
    """GPU-hours to integer micro-GPU-hours (usage has at most 6 decimal places)."""
    return int(value * MICRO)


def from_micro(value: int) -> Decimal:
    return Decimal(value) / MICRO


def max_position(db: Database) -> int:
    if not db.table_exists(db.events_table):
        return 0
    row = db.fetchone(f"SELECT MAX({db.position_column}) FROM {db.events_table}")
    return int(row[0]) if row and row[0] is not None else 0


def read_batch(db: Database, after: int, upto: int, topics: Sequence[str], limit: int) -> list[Event]:
    return read_batch_reached(db, after, upto, topics, limit)[0]


def read_batch_reached(db: Database, after: int, upto: int, topics: Sequence[str],
                       limit: int) -> tuple[list[Event], int]:
    """Events with after < position <= upto whose topic is one of ``topics``, in log order.

    ``upto`` is read first (``max_position``): on PostgreSQL the library serialises inserts
    with a table lock, so every id at or below a visible maximum is committed (or never will
    be), and reading up to it cannot skip an event that commits later.
    """
    pos = db.position_column
    if USAGE in topics and USAGE_BATCH not in topics:
        topics = (*topics, USAGE_BATCH)
    marks = ", ".join("?" * len(topics))
    # On PostgreSQL, let the server render ids and JSON as text: cheaper than uuid/bytes objects.
    columns = "originator_id, topic, state" if db.kind == "sqlite" else \
        "originator_id::text, topic, convert_from(state, 'UTF8')"
    rows = db.fetchall(
        f"SELECT {pos}, {columns} FROM {db.events_table} "
        f"WHERE {pos} > ? AND {pos} <= ? AND topic IN ({marks}) ORDER BY {pos} LIMIT ?",
        (after, upto, *topics, limit))
    # The position this batch covers: its last row's when the row limit was hit (more may
    # follow), else ``upto``. Counted in stored rows, not in events: a usage batch expands.
    reached = rows[-1][0] if len(rows) == limit else upto
    events: list[Event] = []
    for r in rows:
        if r[2] == USAGE_BATCH:
            events.extend(expand_usage_batch(r[0], uuid_str(r[1]), r[3]))
        else:
            events.append(Event(r[0], uuid_str(r[1]), r[2], decode(r[2], r[3])))
    return events, reached


def expand_usage_batch(position: int, originator_id: str, state: str | bytes) -> list[Event]:
    """A UsageBatchRecorded event as one UsageRecorded-shaped event per record (same position),
    so handlers treat batched and single usage alike."""
    if isinstance(state, (bytes, memoryview)):
        state = bytes(state).decode()
    records = json.loads(state)["records"]
    return [Event(position, originator_id, USAGE, {"record_id": rid, "hour": hour, "gpu_hours": gpu_hours})
            for rid, hour, gpu_hours in records]


USAGE = "ledger:Reservation.UsageRecorded"
USAGE_BATCH = "ledger:Reservation.UsageBatchRecorded"
_HOUR = '"hour":{"_type_":"datetime_iso","_data_":"'
_GPU_HOURS = '"gpu_hours":{"_type_":"decimal_str","_data_":"'


def decode(topic: str, state: str | bytes) -> dict[str, Any]:
    """The event's fields. Usage records, the bulk of the log, take a fast path that slices the
    two fields handlers need out of the JSON text (the transcoder's output is stable); any
    other shape falls back to json.loads."""
    if isinstance(state, (bytes, memoryview)):
        state = bytes(state).decode()
    if topic == USAGE:
        i, j = state.find(_HOUR), state.find(_GPU_HOURS)
        if i >= 0 and j >= 0:
            i += len(_HOUR)
            j += len(_GPU_HOURS)
            return {"hour": state[i:state.index('"', i)], "gpu_hours": state[j:state.index('"', j)]}
    result: dict[str, Any] = json.loads(state)
    return result
