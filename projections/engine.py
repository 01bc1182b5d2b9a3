"""The projection engine: one log reader, shared pages, exactly once, live following, rebuild, verify.

Reading. The log is read in pages through the library's public API only
(``recorder.select_notifications`` + ``mapper.to_domain_event``), so compression, encryption,
upcasting and the application's name are the library's business. A page is read once, for
every projection that is behind, restricted to the topics they handle, decoded once, and each
projection gets the events of the classes it handles.

Exactly once. A batch is one transaction on the projections' connection that locks the
tracking rows of the projections it advances (``FOR UPDATE``; SQLite: ``BEGIN IMMEDIATE``),
applies each projection's events after its own position, and moves each position to the end
of the page. A crash rolls everything back; a second worker waits on the row locks and then
continues from the new positions. Each projection keeps its own position, so one can be
rebuilt or added while the others stay live.

Rebuild builds a projection from position 0 into scratch tables (``scratch_*``), then in one
transaction replaces the live rows and position: readers never see half a rebuild. Verify
rebuilds into scratch up to the live position and compares row for row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

import projections.checkpoints as checkpoints
from projections.checkpoints import CHECKPOINT_EVERY, Checkpointer
from projections.projection import Positioned, Projection
from storage.database import Database
from storage.locks import ddl_lock_key
from storage.tables import Table
from storage.urls import conninfo

SCRATCH = "scratch_"
PAGE = 5_000
REBUILD_PAGE = 10_000
MAX_DIFFS = 200
# A live follower woken by a NOTIFY waits this long for more writes before catching up
# (read-your-writes does not wait for it: Projections.wait_for catches up itself).
FOLLOW_GATHER_SECONDS = 0.05
TRACKING_TABLE = "read_tracking"

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class TrackingRow:
    name: str
    position: int
    generation: int  # bumped whenever the rows change other than by applying events (rebuild)
    layout: str  # the projection's table layout when its tables were created


TRACKING = Table(TRACKING_TABLE, TrackingRow, key=("name",))


@dataclass
class VerifyResult:
    name: str
    rows_compared: int = 0
    differences: list[str] = field(default_factory=list)
    position: int = 0

    @property
    def ok(self) -> bool:
        return not self.differences


class ReadOnlyProjections(RuntimeError):
    """Read-only projections (a read replica's) were asked to create tables or process events."""


class ProjectionsNotReady(RuntimeError):
    """The projection tables are missing or of another layout, and this connection may not create
    them (read-only: on a replica they arrive from the primary)."""


class Moved(Exception):
    """Another process moved a projection backwards (a reset) while we read: start again."""


class LogReader:
    """Pages of decoded events through the library's public recorder and mapper."""

    def __init__(self, app: Application[UUID]) -> None:
        self.recorder = app.recorder
        self.mapper = app.mapper

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def page(self, after: int, upto: int, topics: Sequence[str], limit: int) -> tuple[list[Positioned], int]:
        """Events with ``after < position <= upto`` of the given topics, and the position the page
        covers: its last event's when the page is full (more may follow), else ``upto``. On
        PostgreSQL the library serialises inserts with a table lock, so every position at or below
        a visible head is committed: reading up to it never skips an event that commits later."""
        notifications = self.recorder.select_notifications(
            after, limit, stop=upto, topics=topics, inclusive_of_start=False)
        to_domain_event = self.mapper.to_domain_event
        events = [(n.id, to_domain_event(n)) for n in notifications]
        reached = notifications[-1].id if len(notifications) == limit else upto
        return events, reached


@dataclass
class Slot:
    """A projection instance and the tracking row it advances (live, or its scratch copy)."""

    key: str
    projection: Projection


class Engine:
    """Runs projections over one projections connection and one log reader (one per thread)."""

    def __init__(self, db: Database, reader: LogReader, projections: Sequence[type[Projection]], *,
                 read_only: bool = False, checkpointed: frozenset[str] = frozenset()) -> None:
        """``checkpointed``: the projections whose live tables get checkpoints (those a report
        reads: ``projections.registry.checkpointed_names``); none by default."""
        self.db = db
        self.reader = reader
        self.classes = {p.name: p for p in projections}
        self.live = {p.name: Slot(p.name, p()) for p in projections}
        self.lock = threading.RLock()
        # Read-only (a read replica): reads positions and rows only; every method that would
        # create tables or process events raises ReadOnlyProjections before touching the database.
        self.read_only = read_only
        # Checkpoints of the live tables every CHECKPOINT_EVERY events (projections.checkpoints);
        # None: never taken.
        self.checkpoints: Checkpointer | None = None if read_only else Checkpointer(CHECKPOINT_EVERY, checkpointed)

    def check_writable(self, doing: str) -> None:
        if self.read_only:
            raise ReadOnlyProjections(f"read-only projections (a read replica) cannot {doing}; "
                                      "run it against the primary")

    # ---- tables -----------------------------------------------------------------------------

    def tables_ready(self) -> bool:
        """True when every projection's tables exist with its current layout (no DDL needed)."""
        if not self.db.table_exists(TRACKING_TABLE):
            return False
        stored = {r[0]: r[1] for r in self.db.fetchall(f"SELECT name, layout FROM {TRACKING_TABLE}")}
        return all(stored.get(name) == cls.layout() for name, cls in self.classes.items())

    def create_tables(self) -> None:
        """Create missing tables; a projection whose stored layout differs from its declaration
        (an older version) gets fresh tables and starts again from position 0. Read-only: only
        checks, and raises ProjectionsNotReady when tables are missing."""
        if self.tables_ready():
            return
        if self.read_only:
            raise ProjectionsNotReady("the projection tables are missing or of another layout on this read-only "
                                      "database (a replica gets them from the primary's projection workers)")
        with self.db.transaction():
            if self.db.kind == "postgres":
                self.db.execute("SELECT pg_advisory_xact_lock(?)", (ddl_lock_key(self.db.config, "projections"),))
            self.db.create(TRACKING, TRACKING_TABLE)
            stored = {r[0]: r[1] for r in self.db.fetchall(f"SELECT name, layout FROM {TRACKING_TABLE}")}
            for name, cls in self.classes.items():
                if stored.get(name) == cls.layout():
                    continue
                self._recreate(self.live[name], cls.layout())
                self.live[name].projection.forget()
                checkpoints.discard(self.db, self.classes[name])

    # ---- positions --------------------------------------------------------------------------

    def check_names(self, names: Sequence[str] | None) -> list[str]:
        if not names:
            return list(self.classes)
        unknown = [n for n in names if n not in self.classes]
        if unknown:
            raise ValueError(f"unknown projection {unknown[0]!r} (known: {', '.join(self.classes)})")
        return list(dict.fromkeys(names))

    def positions(self, keys: Sequence[str]) -> dict[str, int]:
        marks = ", ".join("?" * len(keys))
        found = {r[0]: int(r[1]) for r in self.db.fetchall(
            f"SELECT name, position FROM {TRACKING_TABLE} WHERE name IN ({marks})", list(keys))}
        return {k: found.get(k, 0) for k in keys}

    def position(self, name: str | None = None) -> int:
        names = self.check_names([name] if name else None)
        return min(self.positions(names).values())

    def _lock_tracking(self, keys: Sequence[str]) -> dict[str, tuple[int, int]]:
        lock = self.db.dialect.for_update
        marks = ", ".join("?" * len(keys))
        rows = self.db.fetchall(f"SELECT name, position, generation FROM {TRACKING_TABLE} WHERE name IN ({marks}) "
                                f"ORDER BY name{lock}", sorted(keys))
        found = {r[0]: (int(r[1]), int(r[2])) for r in rows}
        for key in keys:
            if key not in found:
                self.db.execute(f"INSERT INTO {TRACKING_TABLE} (name, position, generation, layout) "
                                "VALUES (?, 0, 0, '')", (key,))
                found[key] = (0, 0)
        return found

    # ---- processing -------------------------------------------------------------------------

    def run(self, slots: Sequence[Slot], *, upto: int | None = None, batch_size: int = PAGE,
            progress: Progress | None = None) -> int:
        """Advance every slot to ``upto`` (default: the head of the log now), reading each page
        once for all of them. Returns the lowest position reached."""
        self.check_writable("process events")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        top = self.reader.head() if upto is None else upto
        by_key = {s.key: s for s in slots}
        with self.lock:
            while True:
                at = self.positions(list(by_key))
                behind = [k for k in by_key if at[k] < top]
                if progress is not None:
                    progress(min(at.values(), default=top), top)
                if not behind:
                    return min(at.values(), default=top)
                low = min(at[k] for k in behind)
                stop = top if self.checkpoints is None else min(top, self.checkpoints.next_boundary(low))
                try:
                    self._batch([by_key[k] for k in behind], low, stop, batch_size)
                except Moved:
                    continue

    def _batch(self, slots: Sequence[Slot], after: int, top: int, limit: int) -> None:
        topics = sorted({t for s in slots for t in s.projection.topics()})
        events, reached = self.reader.page(after, top, topics, limit)
        applied: list[tuple[Slot, int]] = []
        try:
            with self.db.transaction():
                tracked = self._lock_tracking([s.key for s in slots])
                for slot in slots:
                    position, generation = tracked[slot.key]
                    if position >= reached:
                        continue
                    if position < after:
                        raise Moved(slot.key)
                    projection = slot.projection
                    if projection.cache_mark != (position, generation):
                        projection.forget()
                    mine = projection.classes
                    projection.apply(self.db, [(p, e) for p, e in events if p > position and type(e) in mine])
                    self.db.execute(f"UPDATE {TRACKING_TABLE} SET position = ? WHERE name = ?", (reached, slot.key))
                    if self.checkpoints is not None and self.checkpoints.due(slot.key, projection, reached):
                        self.checkpoints.take(self.db, projection, reached)
                    applied.append((slot, generation))
        except BaseException:
            for slot in slots:
                slot.projection.forget()  # caches may hold the rolled-back batch's rows
            raise
        for slot, generation in applied:
            slot.projection.cache_mark = (reached, generation)

    def catch_up(self, names: Sequence[str] | None = None, *, batch_size: int = PAGE,
                 progress: Progress | None = None) -> int:
        return self.run([self.live[n] for n in self.check_names(names)], batch_size=batch_size, progress=progress)

    # ---- rebuild and verify -----------------------------------------------------------------

    def _scratch(self, name: str) -> Slot:
        self.check_writable("rebuild or verify")
        scratch = Slot(SCRATCH + name, self.classes[name](prefix=SCRATCH))
        with self.db.transaction():
            self._recreate(scratch, "")
        scratch.projection.known_empty((0, 0))
        return scratch

    def _recreate(self, slot: Slot, layout: str) -> None:
        """Within the caller's transaction: the slot's tables dropped and created empty, and its
        tracking row back at position 0."""
        for table in slot.projection.tables:
            self.db.drop(slot.projection.t(table))
            self.db.create(table, slot.projection.t(table))
        self.db.execute(f"DELETE FROM {TRACKING_TABLE} WHERE name = ?", (slot.key,))
        self.db.execute(f"INSERT INTO {TRACKING_TABLE} (name, position, generation, layout) VALUES (?, 0, 0, ?)",
                        (slot.key, layout))

    def _drop_scratch(self, scratch: Slot) -> None:
        with self.db.transaction():
            for table in scratch.projection.tables:
                self.db.drop(scratch.projection.t(table))
            self.db.execute(f"DELETE FROM {TRACKING_TABLE} WHERE name = ?", (scratch.key,))

    def rebuild(self, names: str | Sequence[str], *, progress: Progress | None = None,
                batch_size: int = REBUILD_PAGE) -> int:
        """Rebuild projections from position 0 in one shared pass over the log (each page read
        once for all of them), then swap them all in, in one transaction; returns the position."""
        chosen = self.check_names([names] if isinstance(names, str) else list(names))
        with self.lock:
            scratch = [self._scratch(name) for name in chosen]
            try:
                self.run(scratch, batch_size=batch_size, progress=progress)
                with self.db.transaction():
                    tracked = self._lock_tracking(chosen)  # blocks other workers until the swap commits
                    at = self.positions([s.key for s in scratch])
                    target = max([p for p, _ in tracked.values()] + list(at.values()))
                    self.run(scratch, upto=target, batch_size=batch_size)
                    for name, slot in zip(chosen, scratch, strict=True):
                        live = self.live[name].projection
                        for table in live.tables:
                            self.db.replace_table(table, live.t(table), slot.projection.t(table))
                        self.db.execute(f"UPDATE {TRACKING_TABLE} SET position = ?, generation = ? WHERE name = ?",
                                        (target, tracked[name][1] + 1, name))
                        checkpoints.discard(self.db, self.classes[name])  # taken by the code before this rebuild
                for name in chosen:
                    self.live[name].projection.forget()
                return target
            finally:
                for slot in scratch:
                    self._drop_scratch(slot)

    def verify(self, name: str, *, batch_size: int = REBUILD_PAGE, progress: Progress | None = None) -> VerifyResult:
        """Rebuild into scratch tables up to the live position and compare row for row."""
        self.check_names([name])
        with self.lock:
            scratch = self._scratch(name)
            try:
                for _ in range(10):  # a live follower may move on while we rebuild: chase it
                    target = self.position(name)
                    self.run([scratch], upto=target, batch_size=batch_size, progress=progress)
                    with self.db.snapshot():
                        if self.position(name) != target:
                            continue
                        return self._compare(self.live[name].projection, scratch.projection, target)
                raise RuntimeError(f"verify {name}: the live projection kept moving; stop its worker and retry")
            finally:
                self._drop_scratch(scratch)

    def _compare(self, live: Projection, scratch: Projection, position: int) -> VerifyResult:
        result = VerifyResult(live.name, position=position)
        for table in live.tables:
            columns = ", ".join(table.column_names)
            order = ", ".join(table.key)
            have = {table.key_of(r): r for r in (table.from_db(v) for v in self.db.fetchall(
                f"SELECT {columns} FROM {live.t(table)} ORDER BY {order}"))}
            want = {table.key_of(r): r for r in (table.from_db(v) for v in self.db.fetchall(
                f"SELECT {columns} FROM {scratch.t(table)} ORDER BY {order}"))}
            result.rows_compared += max(len(have), len(want))
            for key in sorted(set(have) | set(want), key=repr):
                a, b = have.get(key), want.get(key)
                if a != b and len(result.differences) < MAX_DIFFS:
                    result.differences.append(_diff(table, key, a, b))
                elif a != b:
                    result.differences[-1] = f"... more differences in {table.name}"
        return result

    # ---- live -------------------------------------------------------------------------------

    def follow(self, stop: threading.Event, names: Sequence[str] | None = None, *, poll_interval: float = 0.2,
               batch_size: int = PAGE) -> None:
        """Catch up, then wait for new events (LISTEN/NOTIFY on PostgreSQL, polling on SQLite)
        until ``stop`` is set."""
        self.check_writable("follow the log")
        chosen = self.check_names(names)
        listener: Any = None
        channel = getattr(self.reader.recorder, "channel_name", None)
        if self.db.kind == "postgres" and channel:
            import psycopg
            from psycopg import sql

            listener = psycopg.connect(conninfo(self.db.config), autocommit=True)
            listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        try:
            while not stop.is_set():
                self.catch_up(chosen, batch_size=batch_size)
                if listener is not None:
                    woken = False
                    for _ in listener.notifies(timeout=poll_interval, stop_after=1):
                        woken = True
                    if woken:
                        # Writes come in bursts (one NOTIFY per insert): gather them briefly and
                        # drain the queue, so one catch-up applies many events.
                        stop.wait(FOLLOW_GATHER_SECONDS)
                        for _ in listener.notifies(timeout=0.0):
                            pass
                else:
                    stop.wait(poll_interval)
        finally:
            if listener is not None:
                listener.close()


def _diff(table: Table[Any], key: tuple[Any, ...], live: Any, rebuilt: Any) -> str:
    label = f"{table.name}[{', '.join(map(str, key))}]"
    if live is None:
        return f"{label}: missing from live tables; rebuild has {rebuilt}"
    if rebuilt is None:
        return f"{label}: live has {live}; rebuild has no such row"
    changed = [f"{c}: live={getattr(live, c)!r} rebuilt={getattr(rebuilt, c)!r}" for c in table.column_names
               if getattr(live, c) != getattr(rebuilt, c)]
    return f"{label}: " + "; ".join(changed)
