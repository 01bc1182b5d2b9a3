"""Projection tables as a projection sees them during a batch.

``RowSet`` is one table (``storage.tables.Table``) as seen by a projection during a batch: rows
keyed by primary key, fetched on demand (or prefetched with one query), changed in place, and
written back at the end of the batch. ``Adder`` sums integer deltas per key for additive tables.
``TableCache`` keeps rows across batches while nobody else writes the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from storage.database import Database
from storage.tables import Key, Table

R = TypeVar("R")


class TableCache(Generic[R]):
    """Rows of one table known to this process: key -> row, or None when known absent.

    Kept across batches while nobody else writes the table (the engine checks the tracking
    position and generation before each batch and clears it otherwise). ``complete`` means every
    row of the table is in the cache, so a miss is an absent row without a query (a rebuild
    starts from empty scratch tables)."""

    LIMIT = 400_000

    def __init__(self) -> None:
        self.rows: dict[Key, R | None] = {}
        self.complete = False

    def clear(self) -> None:
        self.rows.clear()
        self.complete = False

    def trim(self) -> None:
        if len(self.rows) > self.LIMIT:
            self.clear()


class RowSet(Generic[R]):
    """One table within a batch: read on demand, changed in place, written back by ``flush``."""

    def __init__(self, db: Database, table: Table[R], name: str, cache: TableCache[R]) -> None:
        self.db, self.table, self.name, self.cache = db, table, name, cache
        self.dirty: set[Key] = set()

    def prefetch(self, keys: Iterable[Key]) -> None:
        """Load the rows with these keys in one query (those not known yet)."""
        rows = self.cache.rows
        if self.cache.complete:
            return
        missing = list({k for k in keys if k not in rows})
        if not missing:
            return
        for k in missing:
            rows[k] = None
        for values in self.db.select_keys(self.table, self.name, missing):
            row = self.table.from_db(values)
            rows[self.table.key_of(row)] = row

    def get(self, key: Key) -> R | None:
        rows = self.cache.rows
        if key not in rows:
            if self.cache.complete:
                return None
            self.prefetch([key])
        return rows[key]

    def require(self, key: Key, missing: str) -> R:
        """The row with ``key``; LookupError(``missing``) when there is none (an event whose
        predecessor the log should hold: a bug or a damaged log, never skipped silently)."""
        row = self.get(key)
        if row is None:
            raise LookupError(missing)
        return row

    def put(self, row: R) -> R:
        key = self.table.key_of(row)
        self.cache.rows[key] = row
        self.dirty.add(key)
        return row

    def changed(self, row: R) -> None:
        """Mark a row fetched with ``get`` and changed in place."""
        self.dirty.add(self.table.key_of(row))

    def delete(self, key: Key) -> None:
        self.cache.rows[key] = None
        self.dirty.add(key)

    def where(self, **equal: Any) -> list[R]:
        """Current rows whose columns equal ``equal``: stored rows, overridden by this batch's
        changes (the cache equals the stored rows except for keys changed in this batch)."""
        clause = " AND ".join(f"{c} = ?" for c in equal)
        found: dict[Key, R] = {}
        rows = self.cache.rows
        for values in self.db.fetchall(f"SELECT {', '.join(self.table.column_names)} FROM {self.name} "
                                       f"WHERE {clause}", list(equal.values())):
            row = self.table.from_db(values)
            key = self.table.key_of(row)
            if key in self.dirty:
                continue
            cached = rows.get(key)
            found[key] = cached if cached is not None else row
            if key not in rows:
                rows[key] = row
        for key in self.dirty:
            changed = rows.get(key)
            if changed is not None and all(getattr(changed, c) == v for c, v in equal.items()):
                found[key] = changed
        return [found[k] for k in sorted(found, key=repr)]

    def flush(self) -> None:
        rows = self.cache.rows
        ordered = sorted(self.dirty, key=repr)
        live = [self.table.values_of(r) for k in ordered if (r := rows[k]) is not None]
        gone = [k for k in ordered if rows[k] is None]
        self.db.delete_keys(self.table, self.name, gone)
        self.db.upsert(self.table, self.name, live, add=False)
        self.dirty.clear()


class Adder(Generic[R]):
    """Integer deltas per key for an additive table (every non-key column is an int summed on
    conflict), summed in memory for the batch and written with one upsert."""

    def __init__(self, table: Table[R]) -> None:
        self.table = table
        self.deltas: dict[Key, list[int]] = {}

    def add(self, key: Key, *deltas: int) -> None:
        current = self.deltas.get(key)
        if current is None:
            self.deltas[key] = list(deltas)
        else:
            for i, d in enumerate(deltas):
                current[i] += d

    def flush(self, db: Database, name: str) -> None:
        db.upsert(self.table, name, [(*k, *v) for k, v in self.deltas.items()], add=True)
        self.deltas.clear()
