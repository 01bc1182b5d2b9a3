"""A thin database layer for projections, over SQLite (sqlite3) or PostgreSQL (psycopg 3).

Projection tables live in the same database as the events, so that a batch's rows and its
tracking position commit in one transaction. SQL is written with ``?`` placeholders and
translated for psycopg. Bulk writes are set-oriented: PostgreSQL gets one
``INSERT ... SELECT FROM unnest(arrays) ON CONFLICT`` statement per table and batch (an order
of magnitude faster than row-by-row ``executemany``); SQLite, which is in-process, gets
``executemany``. Values that must stay exact (money, kWh) are stored as decimal text; counts
and micro-GPU-hours as 64-bit integers so that additive upserts are exact on both stores.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain.storage import StoreConfig
from storage.dialect import Dialect, create_schema, quote
from storage.urls import conninfo, parse_database_url

if TYPE_CHECKING:
    from storage.tables import Table

COPY_THRESHOLD = 2_000  # rows per upsert from which PostgreSQL gets COPY into a staging table
SQLITE_CHUNK = 300  # keys per IN (VALUES ...) query; well under SQLite's variable limit


def array_literal(values: Sequence[Any], kind: str) -> str:
    """A PostgreSQL array literal built in one join: much cheaper than adapting each element."""
    if kind == "BIGINT":
        return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"
    return "{" + ",".join("NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for v in values) + "}"


class Database:
    """One connection to the events' database. Not thread-safe: one per thread."""

    def __init__(self, url: str | None, *, read_only: bool = False) -> None:
        """``read_only`` (a read replica, PostgreSQL): no ``CREATE SCHEMA`` on connecting (a hot
        standby refuses any DDL) and a ``default_transaction_read_only`` session, so the server
        itself refuses DDL and writes, on a replica or on a primary."""
        self.config: StoreConfig = parse_database_url(url)
        self.kind = self.config.kind
        if self.kind == "memory":
            raise ValueError("projections need a SQLite or PostgreSQL database, not the in-memory store")
        if read_only and self.kind != "postgres":
            raise ValueError("read-only projections (a read replica) need a postgresql:// URL")
        self._in_tx = False
        self._stages: set[str] = set()  # temporary staging tables created on this connection
        self.dialect = Dialect(self.kind, self.config.schema)
        if self.kind == "sqlite":
            self.conn: Any = sqlite3.connect(self.config.sqlite_path, timeout=30, isolation_level=None,
                                             check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        else:
            import psycopg

            self.conn = psycopg.connect(conninfo(self.config), autocommit=True)
            schema = self.config.schema or "public"
            try:
                if read_only:
                    self.conn.execute("SET default_transaction_read_only = on")
                else:
                    create_schema(self.conn, schema)
                self.conn.execute(f"SET search_path TO {quote(schema)}")
            except BaseException:
                self.conn.close()
                raise
            self.schema = schema

    # ---- plumbing -----------------------------------------------------------------------

    def sql(self, statement: str) -> str:
        return self.dialect.sql(statement)

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self.sql(statement), params)

    def fetchall(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.execute(statement, params).fetchall())

    def fetchone(self, statement: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        result: tuple[Any, ...] | None = self.execute(statement, params).fetchone()
        return result

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One write transaction; SQLite takes the write lock up front (BEGIN IMMEDIATE) so a
        batch never fails half-way on a lock upgrade."""
        if self._in_tx:
            yield self
            return
        self.conn.execute("BEGIN IMMEDIATE" if self.kind == "sqlite" else "BEGIN")
        self._in_tx = True
        try:
            yield self
        except BaseException:
            self._in_tx = False
            self.conn.execute("ROLLBACK")
            raise
        self._in_tx = False
        self.conn.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[Database]:
        """A consistent read of several tables (REPEATABLE READ on PostgreSQL)."""
        if self.kind == "sqlite":
            self.conn.execute("BEGIN")
        else:
            self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield self
        finally:
            self.conn.execute("ROLLBACK" if self.kind == "postgres" else "COMMIT")

    def close(self) -> None:
        self.conn.close()

    def table_exists(self, name: str) -> bool:
        if self.kind == "sqlite":
            return self.fetchone("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)) is not None
        return self.fetchone("SELECT 1 FROM information_schema.tables WHERE table_schema=? AND table_name=?",
                             (self.schema, name)) is not None

    # ---- DDL ------------------------------------------------------------------------------

    def create(self, table: Table[Any], name: str) -> None:
        cols = ", ".join(f"{c.name} {self.dialect.column_type(c.sql_type)}" for c in table.columns)
        self.execute(f"CREATE TABLE IF NOT EXISTS {name} ({cols}, PRIMARY KEY ({', '.join(table.key)}))")
        for i, index in enumerate(table.indexes):
            self.execute(f"CREATE INDEX IF NOT EXISTS {name}_i{i} ON {name} ({', '.join(index)})")

    def drop(self, name: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {name}")

    def replace_table(self, table: Table[Any], name: str, replacement: str) -> None:
        """Within the caller's transaction, make ``replacement`` (same layout) the table ``name``:
        the old one is dropped and the replacement renamed, indexes included. Readers see the old
        rows or the new ones, never a mix; no row is copied (a rebuild's swap costs the same at
        any size)."""
        self.execute(f"DROP TABLE {name}")
        self.execute(f"ALTER TABLE {replacement} RENAME TO {name}")
        if self.kind == "postgres":
            self.execute(f"ALTER INDEX {replacement}_pkey RENAME TO {name}_pkey")
            for i, _ in enumerate(table.indexes):
                self.execute(f"ALTER INDEX {replacement}_i{i} RENAME TO {name}_i{i}")
        else:  # SQLite renames a table's automatic key index with it; named indexes are made again
            for i, index in enumerate(table.indexes):
                self.execute(f"DROP INDEX IF EXISTS {replacement}_i{i}")
                self.execute(f"CREATE INDEX IF NOT EXISTS {name}_i{i} ON {name} ({', '.join(index)})")

    # ---- set-oriented writes --------------------------------------------------------------

    def upsert(self, table: Table[Any], name: str, rows: Sequence[Sequence[Any]], *, add: bool) -> None:
        """Insert rows (all columns, in table order); on a key conflict either add the non-key
        columns to the stored ones (``add``, integer columns only) or replace them."""
        if not rows:
            return
        cols = table.column_names
        others = [c for c in cols if c not in table.key]
        if add:
            sets = ", ".join(f"{c} = {name}.{c} + excluded.{c}" for c in others)
        else:
            sets = ", ".join(f"{c} = excluded.{c}" for c in others)
        conflict = f"ON CONFLICT ({', '.join(table.key)}) DO " + (f"UPDATE SET {sets}" if others else "NOTHING")
        if self.kind == "sqlite":
            marks = ", ".join("?" * len(cols))
            if any(c.kind is Decimal for c in table.columns):
                rows = [tuple(str(v) if isinstance(v, Decimal) else v for v in row) for row in rows]
            self.conn.executemany(f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({marks}) {conflict}", rows)
            return
        if len(rows) >= COPY_THRESHOLD:
            # Many rows: COPY them into a temporary staging table, then one INSERT ... SELECT
            # ... ON CONFLICT. COPY's text format costs the server much less than parsing arrays.
            stage = f"stage_{name}"
            if stage not in self._stages:
                self.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} (LIKE {name}) ON COMMIT DELETE ROWS")
                self._stages.add(stage)
            with self.conn.cursor() as cursor, cursor.copy(f"COPY {stage} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            self.conn.execute(f"INSERT INTO {name} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {stage} "
                              f"{conflict}")
            self.conn.execute(f"TRUNCATE {stage}")
            return
        arrays = [array_literal(column, c.sql_type)
                  for column, c in zip(zip(*rows, strict=True), table.columns, strict=True)]
        unnest = ", ".join(f"%s::{self.dialect.column_type(c.sql_type)}[]" for c in table.columns)
        self.conn.execute(f"INSERT INTO {name} ({', '.join(cols)}) SELECT * FROM unnest({unnest}) {conflict}", arrays)

    def append(self, table: Table[Any], name: str, rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows whose keys cannot exist yet (append-only tables: one row per log position,
        written in the batch that moves past it). PostgreSQL takes them with COPY straight into the
        table; a duplicate key still fails loudly (the primary key), never overwrites."""
        if not rows:
            return
        cols = ", ".join(table.column_names)
        if self.kind == "sqlite":
            marks = ", ".join("?" * len(table.column_names))
            self.conn.executemany(f"INSERT INTO {name} ({cols}) VALUES ({marks})", rows)
            return
        with self.conn.cursor() as cursor, cursor.copy(f"COPY {name} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def delete_keys(self, table: Table[Any], name: str, keys: Sequence[Sequence[Any]]) -> None:
        if not keys:
            return
        where = " AND ".join(f"{c} = ?" for c in table.key)
        statement = self.sql(f"DELETE FROM {name} WHERE {where}")
        if self.kind == "sqlite":
            self.conn.executemany(statement, keys)
        else:
            with self.conn.cursor() as cur:
                cur.executemany(statement, keys)

    def select_keys(self, table: Table[Any], name: str, keys: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """Rows whose primary key is one of ``keys`` (one query per chunk, not per key)."""
        if not keys:
            return []
        cols = ", ".join(table.column_names)
        key_cols = ", ".join(table.key)
        if self.kind == "postgres":
            arrays = [list(column) for column in zip(*keys, strict=True)]
            types = {c.name: self.dialect.column_type(c.sql_type) for c in table.columns}
            unnest = ", ".join(f"%s::{types[c]}[]" for c in table.key)
            return list(self.conn.execute(
                f"SELECT {cols} FROM {name} WHERE ({key_cols}) IN (SELECT * FROM unnest({unnest}))", arrays).fetchall())
        out: list[tuple[Any, ...]] = []
        width = len(table.key)
        for i in range(0, len(keys), SQLITE_CHUNK):
            chunk = keys[i:i + SQLITE_CHUNK]
            values = ", ".join("(" + ", ".join("?" * width) + ")" for _ in chunk)
            params = [v for key in chunk for v in key]
            out.extend(self.conn.execute(
                f"SELECT {cols} FROM {name} WHERE ({key_cols}) IN (VALUES {values})", params).fetchall())
        return out
