"""What every projection is: a name, its tables (named rows), and one handler per event class.

    class Billing(Projection):
        name = "billing"
        tables = (LINES, INVOICES, RESERVATIONS)

        def begin(self, db, events) -> BillingBatch: ...      # the batch's row sets

        @singledispatchmethod
        def handle(self, event: object, batch: BillingBatch) -> None: ...

        @handle.register(Reservation.Confirmed)
        def _(self, event: Any, batch: BillingBatch) -> None: ...

The engine hands a projection only the events of the classes it registered handlers for (read
once per page and shared by every projection), inside the transaction that also moves the
projection's tracking position. Handlers never load aggregates: whatever a later event needs
from an earlier one is kept in the projection's own tables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import singledispatchmethod
from typing import Any, ClassVar, TypeVar

from eventsourcing.utils import get_topic

from projections.rows import RowSet, TableCache
from storage.database import Database
from storage.tables import Table

R = TypeVar("R")
Positioned = tuple[int, Any]  # (log position, decoded domain event)

_ids: dict[int, str] = {}


def text_id(value: object) -> str:
    """An id (UUID) as the canonical text rows keep. Ids repeat on almost every event (a
    reservation's usage, a pool's bookings): memoised by the UUID's integer (``str(UUID)`` costs
    ~1 us, and a UUID's own hash is computed in Python)."""
    number = getattr(value, "int", None)
    if number is None:
        return str(value)
    found = _ids.get(number)
    if found is None:
        found = str(value)
        if len(_ids) > 500_000:
            _ids.clear()
        _ids[number] = found
    return found


class Batch:
    """State of one batch: the projection's row sets and the position of the event being handled."""

    position: int = 0

    def flush(self) -> None:
        """Write every changed row (called once, at the end of the batch)."""


class Projection:
    """Base class of every read model; see the module docstring."""

    name: ClassVar[str]
    title: ClassVar[str] = ""
    tables: ClassVar[tuple[Table[Any], ...]]

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.caches: dict[str, TableCache[Any]] = {t.name: TableCache() for t in self.tables}
        self.cache_mark: tuple[int, int] | None = None  # (position, generation) the caches are valid at
        self.classes = frozenset(self.event_classes())
        self._handlers: dict[type, Any] = {}  # event class -> bound handler (dispatch resolved once)

    # ---- declaration ------------------------------------------------------------------------

    @classmethod
    def event_classes(cls) -> tuple[type, ...]:
        """The event classes this projection handles: those its ``handle`` has handlers for."""
        found: list[type] = []
        for klass in cls.__mro__:
            handle = klass.__dict__.get("handle")
            if isinstance(handle, singledispatchmethod):
                found.extend(t for t in handle.dispatcher.registry if t is not object)
        return tuple(dict.fromkeys(found))

    @classmethod
    def topics(cls) -> tuple[str, ...]:
        return tuple(sorted(get_topic(c) for c in cls.event_classes()))

    @classmethod
    def layout(cls) -> str:
        """A fingerprint of the table declarations: stored tables with another layout are rebuilt."""
        text = repr([(t.name, [(c.name, c.sql_type, c.nullable) for c in t.columns], t.key, t.indexes)
                     for t in cls.tables])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def t(self, table: Table[Any]) -> str:
        """The table's name in the database (scratch copies are prefixed)."""
        return f"{self.prefix}{table.name}"

    # ---- batches ----------------------------------------------------------------------------

    def rows(self, db: Database, table: Table[R]) -> RowSet[R]:
        return RowSet(db, table, self.t(table), self.caches[table.name])

    def begin(self, db: Database, events: Sequence[Positioned]) -> Batch:
        raise NotImplementedError

    @singledispatchmethod
    def handle(self, event: object, batch: Any) -> None:
        """Events without a handler are ignored (the engine does not even pass them)."""

    def apply(self, db: Database, events: Sequence[Positioned]) -> None:
        """Apply a batch of events in log order (inside the engine's transaction)."""
        batch = self.begin(db, events)
        handlers = self._handlers
        for position, event in events:
            batch.position = position
            handler = handlers.get(type(event))
            if handler is None:
                handler = handlers[type(event)] = self._handler_for(type(event))
            handler(event, batch)
        batch.flush()
        for cache in self.caches.values():
            cache.trim()

    def _handler_for(self, cls: type) -> Any:
        for klass in type(self).__mro__:
            handle = klass.__dict__.get("handle")
            if isinstance(handle, singledispatchmethod):
                return handle.dispatcher.dispatch(cls).__get__(self)
        raise TypeError(f"{type(self).__name__} declares no handle()")

    def forget(self) -> None:
        """Drop everything cached (after a rollback, or when another process wrote the tables)."""
        for cache in self.caches.values():
            cache.clear()
        self.cache_mark = None

    def known_empty(self, mark: tuple[int, int]) -> None:
        """The tables were just created empty: every lookup miss is an absent row."""
        for cache in self.caches.values():
            cache.clear()
            cache.complete = True
        self.cache_mark = mark
