"""The projection runner: batches, exactly once, live following, rebuild and verify.

Exactly once: a batch reads the projection's tracking row FOR UPDATE (SQLite: BEGIN
IMMEDIATE), reads events after it, applies them and moves the tracking position, all in one
transaction. A crash rolls the whole batch back; a second runner on the same projection
waits on the row lock and then continues from the new position, so no event is applied
twice or skipped.

Rebuild builds the projection from position 0 into scratch tables (``scratch_*``), then, in
one transaction, replaces the live tables' contents and position: readers never see a half
rebuilt projection. Verify builds the scratch tables up to the live position and compares
them row for row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from projections.base import Projection
from projections.billing import Billing
from projections.capex import Capex
from projections.db import Database, Table
from projections.events import max_position, read_batch_reached
from projections.sustainability import Sustainability
from projections.utilisation import Utilisation

PROJECTION_CLASSES: dict[str, type[Projection]] = {
    c.name: c for c in (Utilisation, Billing, Sustainability, Capex)}
PROJECTION_NAMES: tuple[str, ...] = ("utilisation", "billing", "sustainability", "capex")
TRACKING = Table("proj_tracking", (("name", "TEXT"), ("position", "BIGINT")), ("name",))
SCRATCH = "scratch_"
REBUILD_BATCH = 20_000
MAX_DIFFS = 200
# A live follower woken by a NOTIFY waits this long for more writes before catching up
# (read-your-writes does not wait for it: Projections.wait_for catches up itself).
FOLLOW_GATHER_SECONDS = 0.05

Progress = Callable[[int, int], None]


@dataclass
class VerifyResult:
    name: str
    rows_compared: int = 0
    differences: list[str] = field(default_factory=list)
    position: int = 0

    @property
    def ok(self) -> bool:
        return not self.differences


def check_names(names: Sequence[str] | None) -> list[str]:
    if not names:
        return list(PROJECTION_NAMES)
    unknown = [n for n in names if n not in PROJECTION_CLASSES]
    if unknown:
        raise ValueError(f"unknown projection {unknown[0]!r} (known: {', '.join(PROJECTION_NAMES)})")
    return list(dict.fromkeys(names))


class Runner:
    """Runs projections over one database connection (one Runner per thread)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.live = {name: cls() for name, cls in PROJECTION_CLASSES.items()}
        self.lock = threading.RLock()
        self.create_tables()

    def create_tables(self) -> None:
        with self.db.transaction():
            self.db.create(TRACKING, TRACKING.name)
            for projection in self.live.values():
                for table in projection.tables:
                    self.db.create(table, projection.t(table.name))
                self.db.execute(f"INSERT INTO {TRACKING.name} (name, position) VALUES (?, 0) ON CONFLICT DO NOTHING",
                                (projection.name,))

    # ---- positions ------------------------------------------------------------------------

    def position(self, name: str | None = None) -> int:
        names = check_names([name] if name else None)
        marks = ", ".join("?" * len(names))
        rows = self.db.fetchall(f"SELECT name, position FROM {TRACKING.name} WHERE name IN ({marks})", names)
        found = {r[0]: int(r[1]) for r in rows}
        return min(found.get(n, 0) for n in names)

    def _tracked(self, key: str) -> int:
        lock = " FOR UPDATE" if self.db.kind == "postgres" else ""
        row = self.db.fetchone(f"SELECT position FROM {TRACKING.name} WHERE name = ?{lock}", (key,))
        if row is None:
            self.db.execute(f"INSERT INTO {TRACKING.name} (name, position) VALUES (?, 0)", (key,))
            return 0
        return int(row[0])

    # ---- processing -----------------------------------------------------------------------

    def process_batch(self, projection: Projection, *, limit: int, upto: int | None = None) -> tuple[int, int]:
        """Apply the next batch (at most ``limit`` events) in one transaction.
        Returns (position reached, events applied)."""
        key = f"{projection.prefix}{projection.name}"
        try:
            with self.db.transaction():
                after = self._tracked(key)
                top = max_position(self.db) if upto is None else upto
                if after >= top:
                    return after, 0
                events, reached = read_batch_reached(self.db, after, top, projection.topics, limit)
                projection.apply(self.db, events)
                self.db.execute(f"UPDATE {TRACKING.name} SET position = ? WHERE name = ?", (reached, key))
                return reached, len(events)
        except BaseException:
            projection.lookups.clear()  # memoised state may include the rolled-back batch's
            raise

    def run(self, projection: Projection, *, batch_size: int, upto: int | None = None,
            progress: Progress | None = None) -> int:
        """Process batches until the projection reaches ``upto`` (default: the log's end now)."""
        top = max_position(self.db) if upto is None else upto
        with self.lock:
            while True:
                reached, _ = self.process_batch(projection, limit=batch_size, upto=top)
                if progress is not None:
                    progress(reached, top)
                if reached >= top:
                    return reached

    def catch_up(self, names: Sequence[str] | None = None, *, batch_size: int = 5000,
                 progress: Progress | None = None) -> int:
        chosen = check_names(names)
        top = max_position(self.db)
        # One read of the tracking rows first: a projection already at the head (the common case
        # for a live follower woken by an event of another projection's topics) skips its
        # locking batch transaction. Positions only grow, so a stale read only costs a batch.
        marks = ", ".join("?" * len(chosen))
        at = {r[0]: int(r[1]) for r in self.db.fetchall(
            f"SELECT name, position FROM {TRACKING.name} WHERE name IN ({marks})", chosen)}
        reached = []
        for name in chosen:
            if at.get(name, 0) >= top:
                if progress is not None:
                    progress(at[name], top)
                reached.append(at[name])
            else:
                reached.append(self.run(self.live[name], batch_size=batch_size, upto=top, progress=progress))
        return min(reached)

    # ---- rebuild and verify ---------------------------------------------------------------

    def _scratch(self, name: str) -> Projection:
        scratch = PROJECTION_CLASSES[name](prefix=SCRATCH)
        with self.db.transaction():
            for table in scratch.tables:
                self.db.drop(scratch.t(table.name))
                self.db.create(table, scratch.t(table.name))
            self.db.execute(f"DELETE FROM {TRACKING.name} WHERE name = ?", (f"{SCRATCH}{name}",))
        return scratch

    def _drop_scratch(self, scratch: Projection) -> None:
        with self.db.transaction():
            for table in scratch.tables:
                self.db.drop(scratch.t(table.name))
            self.db.execute(f"DELETE FROM {TRACKING.name} WHERE name = ?", (f"{SCRATCH}{scratch.name}",))

    def rebuild(self, name: str, *, progress: Progress | None = None, batch_size: int = REBUILD_BATCH) -> int:
        check_names([name])
        with self.lock:
            scratch = self._scratch(name)
            self.run(scratch, batch_size=batch_size, progress=progress)
            live = self.live[name]
            with self.db.transaction():
                live_position = self._tracked(name)  # locks out other runners until the swap commits
                self.run(scratch, batch_size=batch_size, upto=max(live_position, self._tracked(SCRATCH + name)))
                reached = self._tracked(SCRATCH + name)
                for table in live.tables:
                    cols = ", ".join(table.column_names)
                    self.db.execute(f"DELETE FROM {live.t(table.name)}")
                    self.db.execute(f"INSERT INTO {live.t(table.name)} ({cols}) SELECT {cols} FROM {scratch.t(table.name)}")
                self.db.execute(f"UPDATE {TRACKING.name} SET position = ? WHERE name = ?", (reached, name))
                live.lookups.clear()
            self._drop_scratch(scratch)
            return reached

    def verify(self, name: str, *, batch_size: int = REBUILD_BATCH) -> VerifyResult:
        """Rebuild into scratch tables up to the live position and compare row for row."""
        check_names([name])
        with self.lock:
            scratch = self._scratch(name)
            live = self.live[name]
            try:
                for _ in range(10):  # a live follower may move on while we rebuild: chase it
                    target = self.position(name)
                    self.run(scratch, batch_size=batch_size, upto=target)
                    with self.db.snapshot():
                        if self.position(name) != target:
                            continue
                        return self._compare(live, scratch, target)
                raise RuntimeError(f"verify {name}: the live projection kept moving; stop its worker and retry")
            finally:
                self._drop_scratch(scratch)

    def _compare(self, live: Projection, scratch: Projection, position: int) -> VerifyResult:
        result = VerifyResult(live.name, position=position)
        for table in live.tables:
            cols = ", ".join(table.column_names)
            order = ", ".join(table.key)
            width = len(table.key)
            have = {tuple(r[:width]): r for r in self.db.fetchall(f"SELECT {cols} FROM {live.t(table.name)} ORDER BY {order}")}
            want = {tuple(r[:width]): r for r in self.db.fetchall(f"SELECT {cols} FROM {scratch.t(table.name)} ORDER BY {order}")}
            result.rows_compared += max(len(have), len(want))
            for key in sorted(set(have) | set(want), key=repr):
                a, b = have.get(key), want.get(key)
                if a != b and len(result.differences) < MAX_DIFFS:
                    result.differences.append(_diff(table, key, a, b))
                elif a != b:
                    result.differences[-1] = f"... more differences in {table.name}"
        return result

    # ---- live -----------------------------------------------------------------------------

    def follow(self, stop: threading.Event, names: Sequence[str] | None = None, *, poll_interval: float = 0.2,
               batch_size: int = 5000) -> None:
        """Catch up, then wait for new events (LISTEN/NOTIFY on PostgreSQL, polling on SQLite)
        until ``stop`` is set."""
        chosen = check_names(names)
        listener: Any = None
        if self.db.kind == "postgres":
            import psycopg

            listener = psycopg.connect(self.db.config.conninfo(), autocommit=True)
            listener.execute(f'LISTEN "{self.db.events_table}"')  # the library NOTIFYs on each insert
        try:
            while not stop.is_set():
                self.catch_up(chosen, batch_size=batch_size)
                if listener is not None:
                    woken = False
                    for _ in listener.notifies(timeout=poll_interval, stop_after=1):
                        woken = True
                    if woken:
                        # Writes come in bursts (one NOTIFY per insert): gather them briefly and
                        # drain the queue, so one catch-up applies many events instead of the
                        # follower competing with request threads for the GIL on every write.
                        stop.wait(FOLLOW_GATHER_SECONDS)
                        for _ in listener.notifies(timeout=0.0):
                            pass
                else:
                    stop.wait(poll_interval)
        finally:
            if listener is not None:
                listener.close()


def _diff(table: Table, key: tuple[Any, ...], live: Any, rebuilt: Any) -> str:
    label = f"{table.name}[{', '.join(map(str, key))}]"
    if live is None:
        return f"{label}: missing from live tables; rebuild has {dict(zip(table.column_names, rebuilt))}"
    if rebuilt is None:
        return f"{label}: live has {dict(zip(table.column_names, live))}; rebuild has no such row"
    changed = [f"{c}: live={x!r} rebuilt={y!r}" for c, x, y in zip(table.column_names, live, rebuilt) if x != y]
    return f"{label}: " + "; ".join(changed)
