"""The library's application recorders, with attachments saved in the events' transaction.

Named by ``APPLICATION_RECORDER_TOPIC`` in the event store's environment
(``storage.event_store.open_event_store``). Without an ``attachments`` keyword argument
they are exactly the library's recorders. With it (``domain/attachments.py``), the same
transaction also inserts each attachment's row, completed with the log position of its
command's last event, through the hooks the library's recorders call inside that transaction
(its own process recorders save tracking records the same way):

* PostgreSQL: ``_fetch_ids_after_insert_events`` (after the events, before the commit) inserts
  the rows, last in the transaction's pipeline: a statement that fails in a psycopg
  pipeline makes the server skip what follows it, prepared statements included, so the row goes
  after the library's statements, not before (a duplicate then waits on the events table's
  lock, held by the first writer until it commits); if rendering the row fails, the transaction
  is aborted (tests/e2e/test_keyed_writes.py);
* SQLite: ``_insert_events`` inserts it after the library's insert.

A unique-key violation of the attachment's row becomes
:class:`~domain.attachments.AttachmentTaken`, not the library's ``IntegrityError`` (which the
ledger's retry loop would retry).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import sql
from psycopg.rows import DictRow

from domain.attachments import Attachment, AttachmentRefused, AttachmentTaken, Guard


def _guard_refused(error: BaseException, attachments: Sequence[Attachment]) -> bool:
    """A guarded column got NULL: its guard found no row to vouch for the attachment."""
    cause = error.__cause__
    guarded = {(a.table, a.guard.column) for a in attachments if a.guard is not None}
    if isinstance(cause, psycopg.errors.NotNullViolation):
        return (cause.diag.table_name, cause.diag.column_name) in guarded
    if isinstance(cause, sqlite3.IntegrityError):
        return any(f"NOT NULL constraint failed: {table}.{column}" in str(cause) for table, column in guarded)
    return False


def _key_taken(error: BaseException, attachments: Sequence[Attachment]) -> bool:
    cause = error.__cause__
    tables = {attachment.table for attachment in attachments}
    if isinstance(cause, psycopg.errors.UniqueViolation):
        return cause.diag.table_name in tables
    if isinstance(cause, sqlite3.IntegrityError):
        return any(f"UNIQUE constraint failed: {table}." in str(cause) for table in tables)
    return False


def insert_statement(attachment: Attachment, columns: tuple[str, ...], placeholder: str, *,
                     table: Callable[[str], str], column: Callable[[str], str]) -> str:
    """The attachment's INSERT as text, on either store (``table`` and ``column`` render a name):
    a placeholder per column, the guarded column's a subquery that yields the value only while
    the guard's row vouches for it (else NULL, which the column refuses)."""
    guard = attachment.guard

    def value(name: str) -> str:
        if guard is None or name != guard.column:
            return placeholder
        return (f"(SELECT {column(guard.key)} FROM {table(guard.table)} WHERE {column(guard.key)} = {placeholder} "
                f"AND {column(guard.unset)} IS NULL)")

    return (f"INSERT INTO {table(attachment.table)} ({', '.join(map(column, columns))}) "
            f"VALUES ({', '.join(map(value, columns))})")


class _Attaching:
    """What both recorders share: the translation of a taken key, and the saved flags."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        attachments: Sequence[Attachment] = kwargs.get("attachments", ())
        try:
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)  # type: ignore[misc]
        except IntegrityError as error:
            if _guard_refused(error, attachments):
                raise AttachmentRefused(str(error)) from error
            if _key_taken(error, attachments):
                raise AttachmentTaken(str(error)) from error
            raise
        except Exception as error:
            failure = next((a.failure for a in attachments if a.failure is not None), None)
            if failure is not None and failure is not error:
                raise failure from error  # what failed, not how the rollback was forced
            raise
        for attachment in attachments:
            attachment.saved = True
        return ids


class PostgresAttachingRecorder(_Attaching, PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The library keeps these as composed SQL, which psycopg turns into bytes again on every
        # execution; as text they are converted once and then found in psycopg's query cache
        # (one insert costs ~8 % less CPU: BENCHMARKS.md, *Write path*).
        self.insert_events_statement = self.insert_events_statement.as_string()  # type: ignore[assignment]
        self.lock_table_statements = [s.as_string() if isinstance(s, sql.Composable) else s
                                      for s in self.lock_table_statements]
        self._statements: dict[tuple[str, tuple[str, ...], Guard | None], str] = {}

    def _insert(self, attachment: Attachment, columns: tuple[str, ...]) -> str:
        """The attachment's INSERT (:func:`insert_statement`), made once per table, columns and guard."""
        shape = (attachment.table, columns, attachment.guard)
        found = self._statements.get(shape)
        if found is None:
            schema = sql.Identifier(self.datastore.schema).as_string()
            found = self._statements[shape] = insert_statement(
                attachment, columns, "%s", table=lambda name: f"{schema}.{sql.Identifier(name).as_string()}",
                column=lambda name: sql.Identifier(name).as_string())
        return found

    def _fetch_ids_after_insert_events(self, curs: psycopg.Cursor[DictRow], stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        attachments: Sequence[Attachment] = kwargs.get("attachments", ())
        if not attachments or not ids:
            return ids
        rows = []
        for attachment in attachments:
            try:
                rows.append((attachment, attachment.row(ids[attachment.last])))
            except Exception as error:
                # The library's recorder catches what is raised here and still leaves its
                # transaction block normally (a database error has aborted the transaction by
                # then; a Python error has not): abort it, so it cannot commit the events without
                # their attachment. The error then surfaces from insert_events.
                attachment.failure = error
                with curs.connection.cursor() as abort:
                    abort.execute("SELECT 1 / 0", prepare=False)
                raise
        # Last in the pipeline: if a key is taken (a duplicate committed first), only what
        # follows it is skipped, and the error surfaces as the transaction ends.
        with curs.connection.cursor() as insert:
            for attachment, row in rows:
                columns = tuple(row)
                insert.execute(self._insert(attachment, columns), [row[c] for c in columns], prepare=False)
        return ids


class SQLiteAttachingRecorder(_Attaching, SQLiteApplicationRecorder):
    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        attachments: Sequence[Attachment] = kwargs.get("attachments", ())
        for attachment in attachments:
            if not ids:
                break  # nothing was inserted (no events): nothing to attach to
            row = attachment.row(ids[attachment.last])  # raising here rolls the library's transaction back
            c.execute(insert_statement(attachment, tuple(row), "?", table=str, column=str), list(row.values()))
        return ids
