"""What every projection shares: its tables, a per-batch row cache, and immutable lookups.

A projection handles a *batch* of events inside one transaction. Handlers never load
aggregates: whatever a later event needs from an earlier one (a reservation's rate, a site's
factors) is kept in the projection's own tables.

Two write styles keep batches set-oriented:
- additive integer tables (GPU-hours booked, micro-GPU-hours used): deltas are summed per key
  in memory and written with one additive upsert per table and batch;
- exact-decimal tables (money, kWh): the batch prefetches the rows it will touch with one
  query, updates them in memory in log order, and writes every touched row back at the end.

Every touched key is written even when its delta nets to zero, so the set of rows never
depends on how the log was cut into batches (a rebuild equals incremental processing).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from projections.db import Database, Table
from projections.events import Event


class Rows:
    """Rows of one exact-decimal table, keyed by primary key, loaded on demand for a batch."""

    def __init__(self, db: Database, table: Table, name: str) -> None:
        self.db, self.table, self.name = db, table, name
        self.width = len(table.key)
        self.rows: dict[tuple[Any, ...], list[Any] | None] = {}  # None: known absent or deleted
        self.dirty: set[tuple[Any, ...]] = set()

    def prefetch(self, keys: Iterable[tuple[Any, ...]]) -> None:
        missing = list({k for k in keys if k not in self.rows})
        if not missing:
            return
        for k in missing:
            self.rows[k] = None
        for row in self.db.select_keys(self.table, self.name, missing):
            self.rows[tuple(row[:self.width])] = list(row)

    def get(self, key: tuple[Any, ...]) -> list[Any] | None:
        if key not in self.rows:
            self.prefetch([key])
        return self.rows[key]

    def put(self, row: list[Any]) -> None:
        key = tuple(row[:self.width])
        self.rows[key] = row
        self.dirty.add(key)

    def delete(self, key: tuple[Any, ...]) -> None:
        self.rows[key] = None
        self.dirty.add(key)

    def where(self, column_values: dict[str, Any]) -> list[list[Any]]:
        """Current rows matching equality filters: stored rows merged with this batch's edits."""
        cols = self.table.column_names
        clause = " AND ".join(f"{c} = ?" for c in column_values)
        stored = self.db.fetchall(f"SELECT {', '.join(cols)} FROM {self.name} WHERE {clause}",
                                  list(column_values.values()))
        for row in stored:
            key = tuple(row[:self.width])
            if key not in self.rows:
                self.rows[key] = list(row)
        idx = [cols.index(c) for c in column_values]
        wanted = list(column_values.values())
        return [r for r in self.rows.values() if r is not None and [r[i] for i in idx] == wanted]

    def flush(self) -> None:
        live = [self.rows[k] for k in sorted(self.dirty, key=repr) if self.rows[k] is not None]
        gone = [k for k in self.dirty if self.rows[k] is None]
        self.db.delete_keys(self.table, self.name, gone)
        self.db.upsert(self.table, self.name, live, add=False)  # type: ignore[arg-type]
        self.dirty.clear()


class Adder:
    """Per-key integer deltas for an additive table, summed in memory for the batch."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.width = len(table.key)
        self.deltas: dict[tuple[Any, ...], list[int]] = {}
        self.values = len(table.columns) - self.width

    def add(self, key: tuple[Any, ...], *deltas: int) -> None:
        current = self.deltas.get(key)
        if current is None:
            self.deltas[key] = list(deltas)
        else:
            for i, d in enumerate(deltas):
                current[i] += d

    def flush(self, db: Database, name: str) -> None:
        rows = [(*k, *v) for k, v in self.deltas.items()]
        db.upsert(self.table, name, rows, add=True)
        self.deltas.clear()


class Projection:
    """Base class: subclasses declare ``name``, ``topics``, ``tables`` and ``apply``."""

    name: ClassVar[str]
    topics: ClassVar[tuple[str, ...]]
    tables: ClassVar[tuple[Table, ...]]

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        # Immutable facts learnt from the log (e.g. reservation -> site, model). Safe to keep
        # across batches and even across a rolled-back batch: the log never changes.
        self.lookups: dict[str, dict[str, tuple[Any, ...]]] = defaultdict(dict)

    def t(self, table: str) -> str:
        return f"{self.prefix}{table}"

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    def rows(self, db: Database, name: str) -> Rows:
        return Rows(db, self.table(name), self.t(name))

    def lookup(self, db: Database, table: str, ids: Iterable[str]) -> dict[str, tuple[Any, ...]]:
        """Immutable id -> values facts, from the memo or (once) from the projection's table."""
        memo = self.lookups[table]
        missing = [(i,) for i in set(ids) if i not in memo]
        if missing:
            for row in db.select_keys(self.table(table), self.t(table), missing):
                memo[row[0]] = tuple(row[1:])
        return memo

    def remember(self, db: Database, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Record new immutable facts (written now; kept in the memo for later batches)."""
        memo = self.lookups[table]
        for row in rows:
            memo[row[0]] = tuple(row[1:])
        db.upsert(self.table(table), self.t(table), rows, add=False)

    def apply(self, db: Database, events: list[Event]) -> None:
        raise NotImplementedError
