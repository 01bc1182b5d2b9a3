"""The library's application recorders, with attachments saved in the events' transaction.

Named by ``APPLICATION_RECORDER_TOPIC`` in the event store's environment
(``storage.event_store.open_event_store``). Without an ``attachments`` keyword argument they
insert events as the library's recorders do. With it (``domain/attachments.py``), the same
transaction also inserts each attachment's row, completed with the log position of its
command's last event.

Each recorder overrides only the library's PUBLIC ``insert_events``, and implements it with
public pieces: the datastore's connection (PostgreSQL) or transaction (SQLite), the recorder's
public statements (``insert_events_statement``, ``lock_table_statements``, ``channel_name``)
and the library's retry decorator. The transaction is ours: the events go in (returning their
notification ids), then the attachment rows, then the commit; anything that fails on the way
(a taken key, a result that cannot be made) raises inside the transaction block, which
rolls the whole transaction back. No private method of the library is overridden
(tests/unit/test_explicit_context.py checks).

* PostgreSQL: one pipeline, as the library's own insert: lock, NOTIFY and the events' INSERT
  (prepared by psycopg once used often), a sync to get the ids, then the attachment rows, last
  in the pipeline: a statement that fails in a psycopg pipeline makes the server skip what
  follows it, so the rows go after the events (a duplicate then waits on the events table's
  lock, held by the first writer until it commits), and a taken key surfaces at the commit.
* SQLite: the events' INSERTs, then the rows, in one ``BEGIN`` ... ``COMMIT``.

A unique-key violation of the attachment's row becomes
:class:`~domain.attachments.AttachmentTaken`, not the library's ``IntegrityError`` (which the
ledger's retry loop would retry); a guard that found no row becomes
:class:`~domain.attachments.AttachmentRefused`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry
from psycopg import sql

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


def attachment_rows(attachments: Sequence[Attachment],
                    ids: Sequence[int]) -> list[tuple[Attachment, dict[str, object]]]:
    """Each attachment's row, made from the position of its command's last event. What a row
    raises is kept on its attachment (``failure``) and raised: the caller is inside the
    transaction, which then rolls back."""
    rows = []
    for attachment in attachments:
        try:
            rows.append((attachment, dict(attachment.row(ids[attachment.last]))))
        except Exception as error:
            attachment.failure = error
            raise
    return rows


class AttachingRecorder:
    """What both recorders share: the library's public ``insert_events``, which records the
    events and their attachments in one transaction of ours (:meth:`record`, per store), and
    translates a refused or taken key."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        attachments: Sequence[Attachment] = kwargs.get("attachments", ())
        try:
            ids = self.record(stored_events, attachments)
        except IntegrityError as error:
            if _guard_refused(error, attachments):
                raise AttachmentRefused(str(error)) from error
            if _key_taken(error, attachments):
                raise AttachmentTaken(str(error)) from error
            raise
        if ids:
            for attachment in attachments:
                attachment.saved = True
        return ids

    def record(self, stored_events: Sequence[StoredEvent], attachments: Sequence[Attachment]) -> list[int]:
        """Insert ``stored_events``, then the attachments' rows, in one transaction; their
        notification ids. Raises (and rolls back) if anything fails."""
        raise NotImplementedError


class PostgresAttachingRecorder(AttachingRecorder, PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The library keeps these as composed SQL, which psycopg turns into bytes again on every
        # execution; as text they are converted once and then found in psycopg's query cache
        # (one insert costs ~8 % less CPU: BENCHMARKS.md, *Write path*).
        self.insert_events_statement = self.insert_events_statement.as_string()  # type: ignore[assignment]
        self.lock_table_statements = [s.as_string() if isinstance(s, sql.Composable) else s
                                      for s in self.lock_table_statements]
        self.notify_statement = f"NOTIFY {sql.Identifier(self.channel_name).as_string()}"
        self.attachment_statements: dict[tuple[str, tuple[str, ...], Guard | None], str] = {}

    def attachment_insert(self, attachment: Attachment, columns: tuple[str, ...]) -> str:
        """The attachment's INSERT (:func:`insert_statement`), made once per table, columns and guard."""
        shape = (attachment.table, columns, attachment.guard)
        found = self.attachment_statements.get(shape)
        if found is None:
            schema = sql.Identifier(self.datastore.schema).as_string()
            found = self.attachment_statements[shape] = insert_statement(
                attachment, columns, "%s", table=lambda name: f"{schema}.{sql.Identifier(name).as_string()}",
                column=lambda name: sql.Identifier(name).as_string())
        return found

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's insert_events
    def record(self, stored_events: Sequence[StoredEvent], attachments: Sequence[Attachment]) -> list[int]:
        if not stored_events:
            return []  # nothing to record, nothing to attach to
        rows = [self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
                for e in stored_events]
        ids: list[int] = []
        failure: Exception | None = None
        with self.datastore.get_connection() as conn:
            with conn.pipeline() as pipeline:
                try:
                    with conn.transaction(), conn.cursor() as curs:
                        for statement in self.lock_table_statements:
                            curs.execute(statement, prepare=True)
                        curs.execute(self.notify_statement)
                        curs.execute(self.insert_events_statement, (rows,))
                        # Sync now: a taken version raises here (an IntegrityError), and the ids
                        # are known before the rows that need them are made.
                        pipeline.sync()
                        ids = [row["notification_id"] for row in curs.fetchall()]
                        if len(ids) != len(stored_events):
                            raise RuntimeError(f"got {len(ids)} notification ids for {len(stored_events)} events")
                        for attachment, row in attachment_rows(attachments, ids):
                            columns = tuple(row)
                            curs.execute(self.attachment_insert(attachment, columns), [row[c] for c in columns],
                                         prepare=False)
                except Exception as error:  # rolled back; raised once the pipeline is closed
                    failure = error
            if failure is not None:
                raise failure  # psycopg's errors become the library's here (get_connection)
        return ids


class SQLiteAttachingRecorder(AttachingRecorder, SQLiteApplicationRecorder):
    def record(self, stored_events: Sequence[StoredEvent], attachments: Sequence[Attachment]) -> list[int]:
        ids: list[int] = []
        with self.datastore.transaction(commit=True) as c:  # sqlite3's errors become the library's here
            for s in stored_events:
                originator = s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id
                c.execute(self.insert_events_statement, (originator, s.originator_version, s.topic, s.state))
                ids.append(c.lastrowid)
            if ids:  # else nothing was inserted: nothing to attach to
                for attachment, row in attachment_rows(attachments, ids):
                    c.execute(insert_statement(attachment, tuple(row), "?", table=str, column=str),
                              list(row.values()))
        return ids
