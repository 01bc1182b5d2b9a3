"""Event timestamps from the ledger's clock.

The library stamps each new event with ``create_timestamp()`` of its class: the wall clock. The
ledger's save (``LedgerCore._save``, and a group commit's shared save) stamps the new events of
the aggregates it saves with the time of the ledger's own clock instead (:func:`stamp`): the
clock is an attribute of the ledger (``Ledger.clock``), read by the save that records the
events, never by hidden state. So a ledger opened with a simulated clock (``ledger demo``)
records its events at the simulated time, and the production ledger, whose clock is the wall
clock, records them at the moment of their save. Aggregates changed outside a command keep the
library's own stamp.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

Clock = Callable[[], datetime]


def stamp(now: datetime, *aggregates: Aggregate) -> dict[UUID, Aggregate]:
    """Stamp the aggregates' pending events ``now``, in place (the save then collects them as
    it would), and mark each aggregate that has some as modified ``now``. Returns, for each
    aggregate these events create, its copy made from the stamped events (created ``now``, as
    a replay of the log makes it): what the ledger keeps in its cache."""
    made: dict[UUID, Aggregate] = {}
    for aggregate in aggregates:
        pending = aggregate.pending_events
        if not pending:
            continue
        pending[:] = [dataclasses.replace(event, timestamp=now) for event in pending]  # type: ignore[type-var]
        aggregate.modified_on = now
        if pending[0].originator_version == type(aggregate).INITIAL_VERSION:
            copy: Aggregate | None = None
            for event in pending:
                copy = event.mutate(copy)
            if copy is not None:
                made[aggregate.id] = copy
    return made
