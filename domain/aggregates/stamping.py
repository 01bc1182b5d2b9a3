"""Event timestamps from the ledger's clock.

The library stamps each new event with ``create_timestamp()`` of its class (the wall clock by
default). Every aggregate's base ``Event`` class -- the one the library derives each of the
aggregate's event classes from -- gets a ``create_timestamp`` that asks the clock of the
command being run (``stamped_by``, set by ``Ledger`` around each of its commands), and falls
back to the library's own when an aggregate is changed outside a command. So a ledger opened
with a simulated clock (``ledger demo``) records its events at the simulated time, and the
production ledger, whose clock is the wall clock, records them as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from eventsourcing.domain import Aggregate

Clock = Callable[[], datetime]
_CLOCK: ContextVar[Clock | None] = ContextVar("ledger_event_clock", default=None)


def event_timestamp() -> datetime:
    """The timestamp of an event created now: the running command's clock, else the library's."""
    clock = _CLOCK.get()
    return clock() if clock is not None else Aggregate.Event.create_timestamp()


@contextmanager
def stamped_by(clock: Clock) -> Iterator[None]:
    """Events created inside this block (in this thread or task) carry ``clock()``."""
    token = _CLOCK.set(clock)
    try:
        yield
    finally:
        _CLOCK.reset(token)


def stamp_events(*aggregates: type[Aggregate]) -> None:
    """Give each aggregate's base event class the clock-aware ``create_timestamp``."""
    for aggregate in aggregates:
        aggregate.Event.create_timestamp = staticmethod(event_timestamp)  # type: ignore[method-assign]
