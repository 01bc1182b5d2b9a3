"""Any report as it stood at a past log position, or at the last event recorded at or before a time.

    answer = report_as_of(url, ledger, "billing", {"from": "2026-10"}, as_of="2026-11-01T00:00:00Z")
    answer.rows, answer.position, answer.checkpoint, answer.replayed

Only the report's own projections (``Report.projections``) are built, in a scratch store (a
temporary schema on PostgreSQL, a temporary SQLite file) that is dropped afterwards: the live
projection tables are never written. The scratch starts from each projection's checkpoint at or
below the position (``projections.checkpoints``; taken every ``CHECKPOINT_EVERY`` events by the
engine), replays the events after it up to the position -- at most one interval once the
checkpoints exist -- and the report's own query runs there. Checkpoints the replay passes that the
live store lacks (a log older than the checkpoints) are copied back to it for later requests.

Cost: copying the report's projections' tables at the checkpoint plus replaying at most
``CHECKPOINT_EVERY`` events through those projections; independent of where the position lies
in the log. Resolving a time costs a binary search of ~log2(head) single-event reads.

Times are the events' recorded timestamps (the ledger's clock), which grow with the position;
"as of 10:00" is the position of the last event recorded at or before 10:00.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

import projections.checkpoints as checkpoints
from domain.checks import ascii_int
from domain.errors import InvalidInput
from domain.timeutil import check_utc
from projections.checkpoints import CHECKPOINT_EVERY, REGISTRY, Checkpointer
from projections.engine import REBUILD_PAGE, TRACKING_TABLE, Engine, LogReader
from projections.registry import PROJECTIONS, report
from storage.database import Database
from storage.dialect import quote
from storage.locks import ddl_lock_key
from storage.urls import parse_database_url, with_schema

Row = dict[str, Any]


@dataclass(frozen=True)
class AsOfReport:
    name: str
    rows: list[Row]
    position: int  # the log position the report stands at
    checkpoint: int  # the lowest checkpoint position the projections started from (0: the log's start)
    replayed: int  # positions replayed after the checkpoints (upper bound on the events read)
    seconds: float


def parse_as_of(value: object) -> int | datetime:
    """``as_of`` from a URL or command line: a log position (ASCII digits) or an ISO 8601 time
    with a UTC offset. Anything else is InvalidInput naming ``as_of``."""
    if isinstance(value, bool):
        raise InvalidInput(f"as_of: expected a log position or an ISO 8601 time, got {value!r}", field="as_of")
    if isinstance(value, int):
        if value < 0:
            raise InvalidInput(f"as_of: a log position cannot be negative, got {value}", field="as_of")
        return value
    if isinstance(value, datetime):
        return check_utc(value, field="as_of")
    text = str(value).strip()
    if not text or "\x00" in text or not text.isascii():
        raise InvalidInput(f"as_of: expected a log position or an ISO 8601 time with a UTC offset, "
                           f"got {text[:60]!r}", field="as_of")
    if text.isdigit():
        return ascii_int(text, field="as_of")
    return check_utc(text, field="as_of")


def event_time(app: Application[UUID], at_or_after: int) -> tuple[int, datetime] | None:
    """The position and recorded time of the first event at or after a position."""
    found = app.recorder.select_notifications(at_or_after, 1)
    if not found:
        return None
    event: Any = app.mapper.to_domain_event(found[0])
    return found[0].id, event.timestamp


def position_at(app: Application[UUID], moment: datetime, head: int) -> int:
    """The position of the last event recorded at or before ``moment`` (0: none), by binary
    search over positions (timestamps grow with positions): ~log2(head) one-event reads."""
    low, high = 0, head + 1  # invariant: the event at ``low`` (or none) is at or before; ``high`` is after
    while high - low > 1:
        middle = (low + high) // 2
        found = event_time(app, middle)
        if found is None or found[0] >= high:
            high = middle
        elif found[1] <= moment:
            low = found[0]
        else:
            high = middle
    return low


def resolve(app: Application[UUID], as_of: object) -> int:
    """A checked ``as_of`` as a log position no greater than the head."""
    parsed = parse_as_of(as_of)
    head = app.recorder.max_notification_id() or 0
    if isinstance(parsed, datetime):
        return position_at(app, parsed, head)
    if parsed > head:
        raise InvalidInput(f"as_of: position {parsed} is beyond the log's head ({head})", field="as_of")
    return parsed


def report_as_of(url: str | None, app: Application[UUID], name: str, filters: Mapping[str, Any] | None,
                 as_of: object, *, every: int = CHECKPOINT_EVERY, from_checkpoints: bool = True) -> AsOfReport:
    """The report ``name`` with ``filters`` as it stood at ``as_of`` (a position or a time).
    ``url`` is the live store (events and projections), ``app`` its ledger. ``from_checkpoints``
    False replays from position 0 and keeps no checkpoint (the benchmark's baseline)."""
    found = report(name)
    params = found.parse(filters or {})  # a bad filter is refused before any work
    position = resolve(app, as_of)
    began = time.perf_counter()
    classes = [p for p in PROJECTIONS if p.name in found.projections]
    with scratch(url) as (db, target, live_key):
        engine = Engine(db, LogReader(app), classes)
        # Checkpoints the replay passes go to the scratch's own registry, then to the live store.
        engine.checkpoints = Checkpointer(every, frozenset(found.projections)) if from_checkpoints else None
        engine.create_tables()
        start = _restore(db, engine, position, target) if from_checkpoints else dict.fromkeys(engine.live, 0)
        for name, at in start.items():
            if not at:  # fresh empty tables: every lookup miss is an absent row, no query needed
                engine.live[name].projection.known_empty((0, 0))
        engine.run(list(engine.live.values()), upto=position, batch_size=REBUILD_PAGE)
        rows = found.run(db, params)
        if from_checkpoints:
            _publish(db, target, live_key)
    return AsOfReport(found.name, rows, position, min(start.values(), default=position),
                      position - min(start.values(), default=position), time.perf_counter() - began)


@contextmanager
def scratch(url: str | None) -> Iterator[tuple[Database, str, int]]:
    """An empty scratch store for projections: (its connection, the prefix naming the live
    store from it, the live store's checkpoint lock key). Dropped on exit."""
    config = parse_database_url(url)
    live_key = ddl_lock_key(config, "checkpoints")
    if config.kind == "postgres":
        schema = f"asof_{uuid.uuid4().hex[:16]}"
        db = Database(with_schema(config, schema).url)
        try:
            yield db, f"{quote(config.schema or 'public')}.", live_key
        finally:
            try:
                if db.conn.info.transaction_status != 0:  # not idle: a failure left a transaction open
                    db.conn.execute("ROLLBACK")
                db.execute(f"DROP SCHEMA IF EXISTS {quote(schema)} CASCADE")
            finally:
                db.close()
    elif config.kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="ledger-asof-")
        db = Database(os.path.join(directory, "asof.db"))
        try:
            yield db, str(config.sqlite_path), live_key
        finally:
            db.close()
            shutil.rmtree(directory, ignore_errors=True)
    else:
        raise InvalidInput(f"db: reports as of a past position need SQLite or PostgreSQL, not {config.kind!r}",
                           field="db")


@contextmanager
def _live(db: Database, target: str) -> Iterator[str]:
    """The prefix naming the live store's tables on the scratch connection. SQLite attaches the
    live file only for the duration (after the scratch's tables exist, so that unqualified names
    always resolve to the scratch's own)."""
    if db.kind == "postgres":
        yield target
        return
    db.execute("ATTACH DATABASE ? AS live", (target,))
    try:
        yield "live."
    finally:
        db.execute("DETACH DATABASE live")


def _restore(db: Database, engine: Engine, position: int, target: str) -> dict[str, int]:
    """Fill the scratch tables from each projection's newest checkpoint at or below ``position``;
    returns the position each projection starts from."""
    start: dict[str, int] = {}
    with _live(db, target) as live, db.transaction():
        for name, slot in engine.live.items():
            projection = slot.projection
            at = checkpoints.latest(db, type(projection), position, live)
            start[name] = at
            if not at:
                continue
            for table in projection.tables:
                columns = ", ".join(table.column_names)
                db.execute(f"INSERT INTO {projection.t(table)} ({columns}) SELECT {columns} "
                           f"FROM {live}{checkpoints.table_name(at, table)}")
            db.execute(f"UPDATE {TRACKING_TABLE} SET position = ? WHERE name = ?", (at, name))
    for slot in engine.live.values():
        slot.projection.forget()
    return start


def _publish(db: Database, target: str, live_key: int) -> None:
    """Copy the checkpoints the scratch replay took to the live store, unless it has them."""
    taken = checkpoints.listed(db)
    if not taken:
        return
    from projections.registry import PROJECTIONS as ALL

    tables = {p.name: p for p in ALL}
    with _live(db, target) as live, db.transaction():
        if db.kind == "postgres":
            db.execute("SELECT pg_advisory_xact_lock(?)", (live_key,))
        db.execute(f"CREATE TABLE IF NOT EXISTS {live}{REGISTRY} (name TEXT NOT NULL, position BIGINT NOT NULL, "
                   "layout TEXT NOT NULL, PRIMARY KEY (name, position))")
        for checkpoint in taken:
            cls = tables[checkpoint.name]
            if db.fetchone(f"SELECT 1 FROM {live}{REGISTRY} WHERE name = ? AND position = ? AND layout = ?",
                           (cls.name, checkpoint.position, cls.layout())):
                continue
            for table in cls.tables:
                name = checkpoints.table_name(checkpoint.position, table)
                db.execute(f"DROP TABLE IF EXISTS {live}{name}")
                db.execute(f"CREATE TABLE {live}{name} AS SELECT * FROM {name}")
            db.execute(f"DELETE FROM {live}{REGISTRY} WHERE name = ? AND position = ?", (cls.name, checkpoint.position))
            db.execute(f"INSERT INTO {live}{REGISTRY} (name, position, layout) VALUES (?, ?, ?)",
                       (cls.name, checkpoint.position, cls.layout()))
