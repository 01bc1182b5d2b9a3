"""DemoRun: ``ledger demo``'s own record of itself, so that a partial history is never taken for
the whole one.

The demo records ``Started`` (seed, calendar, scale) as its first event and ``Completed`` (the
counts) as its last. A store holding a DemoRun that has not completed is a demo cut short
(interrupted, or it failed): ``ledger demo`` refuses to add to it and ``ledger report`` /
``ledger serve`` warn. Both events are in the log like any other: chained, exported, auditable.
One demo per store, so the id is fixed (:data:`DEMO_RUN_ID`).
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

DEMO_RUN_ID = uuid5(NAMESPACE_URL, "https://ledger.example/demo-run")


class DemoRun(Aggregate):
    TOPIC = "ledger:DemoRun"

    class Created(Aggregate.Created):  # unused; every event class needs an explicit topic
        TOPIC = "ledger:DemoRun.Created"

    @staticmethod
    def create_id(**_: object) -> UUID:
        return DEMO_RUN_ID

    class Started(Aggregate.Created):
        TOPIC = "ledger:DemoRun.Started"
        seed: int
        start: datetime
        end: datetime
        months: int
        scale: str

    @event(Started)
    def __init__(self, seed: int, start: datetime, end: datetime, months: int, scale: str) -> None:
        self.seed = seed
        self.start = start
        self.end = end
        self.months = months
        self.scale = scale
        self.completed = False
        self.counts: dict[str, int] = {}

    class Completed(Aggregate.Event):
        """The scenario's last event: the counts of what it recorded (``events``: every event
        before this one)."""

        TOPIC = "ledger:DemoRun.Completed"
        counts: dict[str, int]

    @event(Completed)
    def complete(self, counts: dict[str, int]) -> None:
        self.completed = True
        self.counts = dict(counts)
