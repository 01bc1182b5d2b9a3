"""Raw access to the ledger's event table and the audit tables, on SQLite and PostgreSQL.

The auditor reads the stored events exactly as they sit in the database (no aggregate cache,
no upcasting) and writes its own tables through the ledger's own datastore, so that it uses
the same file / schema / connection settings as the event store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from eventsourcing.persistence import Notification

from domain import Ledger
from domain.errors import InvalidInput
from storage.dialect import Dialect

DEFAULT_PAGE_SIZE = 2000


class AuditStore:
    """The SQL dialect, table names and transactions of one ledger's store."""

    def __init__(self, ledger: Ledger) -> None:
        kind = ledger.store_config.kind
        if kind not in ("sqlite", "postgres"):
            raise InvalidInput(f"db: the auditor needs a SQLite or PostgreSQL store, not {kind!r}", field="db")
        self.ledger = ledger
        self.kind = kind
        self.recorder: Any = ledger.recorder
        # The recorder's datastore (its connections) is not in the library's documented API; the
        # auditor writes its own tables and bulk-imports events through it (see README, Auditors).
        self.datastore: Any = cast(Any, self.recorder).datastore
        # One placeholder style per driver; every statement here is written with "?".
        self.is_postgres = kind == "postgres"
        self.schema: str = self.datastore.schema if self.is_postgres else ""
        self.dialect = Dialect(kind, self.schema)

    def table(self, name: str) -> str:
        """A table name, qualified by the ledger's schema on PostgreSQL."""
        return self.dialect.table(name)

    @property
    def events_table(self) -> str:
        return self.table(self.recorder.events_table_name)

    @property
    def position_column(self) -> str:
        # SQLite's application recorder uses the implicit rowid as the notification id.
        return "notification_id" if self.is_postgres else "rowid"

    def sql(self, statement: str) -> str:
        return self.dialect.sql(statement)

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def query(self, statement: str, params: Sequence[object] = ()) -> list[Any]:
        with self.transaction(commit=False) as cursor:
            cursor.execute(self.sql(statement), tuple(params))
            return list(cursor.fetchall())

    def max_position(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    def notifications(self, *, after: int = 0, upto: int | None = None,
                      page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[Notification]:
        """Every stored event with after < position <= upto, in position order, one page of
        ``page_size`` in memory at a time (each page is its own short read)."""
        position = after
        while upto is None or position < upto:
            page = self.recorder.select_notifications(position, page_size, stop=upto, inclusive_of_start=False)
            if not page:
                return
            yield from page
            position = page[-1].id
            if len(page) < page_size:
                return


def position_range(start: int | None, stop: int | None) -> tuple[int, int | None]:
    """Turn an inclusive [start, stop] position filter into (after, upto); refuse nonsense."""
    if start is not None and start < 1:
        raise InvalidInput(f"from: positions start at 1, got {start}", field="from")
    if stop is not None and stop < 0:
        raise InvalidInput(f"to: a position cannot be negative, got {stop}", field="to")
    if start is not None and stop is not None and stop < start:
        raise InvalidInput(f"to: {stop} is before from {start}", field="to")
    return (start - 1 if start else 0), stop
