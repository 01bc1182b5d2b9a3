"""Checkpoints of projection tables at regular log positions, for reports as of a past position.

Every ``CHECKPOINT_EVERY`` events (a multiple of it: 50,000, 100,000, ...) the projection
engine stops a page exactly at that position, and -- inside the batch's transaction, while it
holds the tracking row's lock -- copies the tables of every projection a report reads into
tables ``ck<POSITION>_<table>`` next to them, and records the checkpoint in
``read_checkpoints(name, position, layout)``. Only the engine's live slots take them (never a
rebuild's scratch copy); a rebuild discards the rebuilt projection's checkpoints (its code may
have changed), and a checkpoint whose layout is not the projection's current one is ignored.

A report as of position P (``projections.asof``) copies its projections' checkpoint at or below P
into a scratch store, replays at most one interval of events and runs the report's query there.
A log whose projections passed a boundary before checkpoints existed gets the missing ones on the
first as-of request that needs them: its scratch replay takes them on the way (written to the
live store's checkpoint tables), so only that first request pays for the longer replay.

Checkpoints are never pruned: each costs a copy of the projection's tables at its position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from projections.projection import Projection
from storage.database import Database
from storage.locks import ddl_lock_key

if TYPE_CHECKING:
    from storage.tables import Table

CHECKPOINT_EVERY = 50_000
REGISTRY = "read_checkpoints"


def is_checkpoint_table(name: str) -> bool:
    """The registry or a checkpoint's copy of a projection table (``ledger demo --reset`` drops them)."""
    return name == REGISTRY or re.match(r"^ck[0-9]+_[a-z_]+$", name) is not None


def table_name(position: int, table: Table[object] | str) -> str:
    name = table if isinstance(table, str) else table.name
    return f"ck{position}_{name}"


@dataclass(frozen=True)
class Checkpoint:
    name: str
    position: int


class Checkpointer:
    """Takes checkpoints of the projections named in ``names`` on the connection ``db``.

    ``target`` is the prefix that names the live store's schema as seen from ``db``: "" when
    ``db`` is the live store itself, ``"schema".`` (PostgreSQL) or ``live.`` (an attached SQLite
    file) when ``db`` is a scratch store writing checkpoints back for later requests."""

    def __init__(self, every: int, names: frozenset[str], *, target: str = "") -> None:
        """``names``: the projections to checkpoint (``projections.registry.checkpointed_names``)."""
        if every < 1:
            raise ValueError("the checkpoint interval must be at least 1")
        self.every = every
        self.names = names
        self.target = target

    def next_boundary(self, position: int) -> int:
        return (position // self.every + 1) * self.every

    def due(self, key: str, projection: Projection, position: int) -> bool:
        return (position > 0 and position % self.every == 0 and key == projection.name
                and projection.prefix == "" and projection.name in self.names)

    def take(self, db: Database, projection: Projection, position: int) -> None:
        """Within the caller's transaction: copy the projection's tables as they are now (at
        ``position``) unless that checkpoint exists already."""
        self.ensure_registry(db)
        if db.kind == "postgres":  # a live worker and an as-of request may both take it
            db.execute("SELECT pg_advisory_xact_lock(?)", (ddl_lock_key(db.config, "checkpoints"),))
        layout = projection.layout()
        found = db.fetchone(f"SELECT layout FROM {self.target}{REGISTRY} WHERE name = ? AND position = ?",
                            (projection.name, position))
        if found is not None and found[0] == layout:
            return
        for table in projection.tables:
            copy = f"{self.target}{table_name(position, table)}"
            db.execute(f"DROP TABLE IF EXISTS {copy}")
            db.execute(f"CREATE TABLE {copy} AS SELECT {', '.join(table.column_names)} FROM {projection.t(table)}")
        db.execute(f"DELETE FROM {self.target}{REGISTRY} WHERE name = ? AND position = ?", (projection.name, position))
        db.execute(f"INSERT INTO {self.target}{REGISTRY} (name, position, layout) VALUES (?, ?, ?)",
                   (projection.name, position, layout))

    def ensure_registry(self, db: Database) -> None:
        db.execute(f"CREATE TABLE IF NOT EXISTS {self.target}{REGISTRY} (name TEXT NOT NULL, position BIGINT NOT NULL, "
                   "layout TEXT NOT NULL, PRIMARY KEY (name, position))")


def registry_exists(db: Database, target: str = "") -> bool:
    if db.kind == "postgres":
        row = db.fetchone("SELECT to_regclass(?) IS NOT NULL", (f"{target}{REGISTRY}",))
        return bool(row and row[0])
    schema = target.rstrip(".") or "main"
    return db.fetchone(f"SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?",
                       (REGISTRY,)) is not None


def latest(db: Database, projection: type[Projection], upto: int, target: str = "") -> int:
    """The position of the projection's newest checkpoint at or below ``upto`` (0: none)."""
    if not registry_exists(db, target):
        return 0
    row = db.fetchone(f"SELECT MAX(position) FROM {target}{REGISTRY} WHERE name = ? AND position <= ? AND layout = ?",
                      (projection.name, upto, projection.layout()))
    return int(row[0]) if row and row[0] is not None else 0


def discard(db: Database, projection: type[Projection]) -> int:
    """Within the caller's transaction: drop every checkpoint of a projection (after a rebuild,
    whose code may differ from the one that took them). Returns how many were dropped."""
    if not registry_exists(db):
        return 0
    name, tables = projection.name, projection.tables
    positions = [int(r[0]) for r in db.fetchall(f"SELECT position FROM {REGISTRY} WHERE name = ?", (name,))]
    for position in positions:
        for table in tables:
            db.drop(table_name(position, table))
    db.execute(f"DELETE FROM {REGISTRY} WHERE name = ?", (name,))
    return len(positions)


def listed(db: Database) -> list[Checkpoint]:
    if not registry_exists(db):
        return []
    return [Checkpoint(str(r[0]), int(r[1]))
            for r in db.fetchall(f"SELECT name, position FROM {REGISTRY} ORDER BY position, name")]
