"""Dunning history: one row per dunning step recorded and currency (``DunningCase.ReminderSent``,
``SuspensionRequested`` and ``Resolved``; rules: ``domain.aggregates.dunning``). The ``dunning``
report reads it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import singledispatchmethod
from typing import Any

from domain.aggregates.dunning import DunningCase
from projections.projection import Batch, Positioned, Projection, text_id
from projections.rows import RowSet
from storage.database import Database
from storage.tables import Table


@dataclass(slots=True)
class DunningStepRow:
    position: int  # log position of the step's event
    currency: str  # "" for a resolved episode (nothing overdue)
    tenant_id: str
    day: str  # YYYY-MM-DD: the run's day
    month: str  # YYYY-MM of the day (the report's range)
    episode: int
    step: int  # 1..n reminders, n+1 the suspension, 0 resolved
    kind: str  # reminder | suspension | resolved
    invoices: str  # the overdue invoices' numbers, comma-separated
    days_overdue: int  # the oldest overdue invoice's
    overdue: Decimal  # total outstanding overdue in the currency


STEPS = Table("dun_steps", DunningStepRow, key=("position", "currency"))


@dataclass
class DunningBatch(Batch):
    steps: RowSet[DunningStepRow]

    def flush(self) -> None:
        self.steps.flush()


def _rows(position: int, tenant_id: str, day: str, episode: int, step: int, kind: str, days_overdue: int,
          invoices: Sequence[Mapping[str, Any]]) -> list[DunningStepRow]:
    numbers: dict[str, list[str]] = defaultdict(list)
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for entry in invoices:
        currency = str(entry["currency"])
        numbers[currency].append(str(entry["number"]))
        sums[currency] += Decimal(str(entry["outstanding"]))
    if not numbers:
        return [DunningStepRow(position, "", tenant_id, day, day[:7], episode, step, kind, "", days_overdue,
                               Decimal(0))]
    return [DunningStepRow(position, currency, tenant_id, day, day[:7], episode, step, kind,
                           ", ".join(numbers[currency]), days_overdue, sums[currency])
            for currency in sorted(numbers)]


class Dunning(Projection):
    name = "dunning"
    title = "Dunning: reminders, suspensions and resolved episodes per tenant"
    tables = (STEPS,)

    def begin(self, db: Database, events: Sequence[Positioned]) -> DunningBatch:
        return DunningBatch(self.rows(db, STEPS))

    @singledispatchmethod
    def handle(self, event: object, batch: DunningBatch) -> None:
        """Events without a handler are ignored."""

    @handle.register(DunningCase.ReminderSent)
    def _reminder(self, event: DunningCase.ReminderSent, batch: DunningBatch) -> None:
        for row in _rows(batch.position, text_id(event.tenant_id), event.day, event.episode, event.step,
                         "reminder", event.days_overdue, event.invoices):
            batch.steps.put(row)

    @handle.register(DunningCase.SuspensionRequested)
    def _suspension(self, event: DunningCase.SuspensionRequested, batch: DunningBatch) -> None:
        for row in _rows(batch.position, text_id(event.tenant_id), event.day, event.episode, event.step,
                         "suspension", event.days_overdue, event.invoices):
            batch.steps.put(row)

    @handle.register(DunningCase.Resolved)
    def _resolved(self, event: DunningCase.Resolved, batch: DunningBatch) -> None:
        for row in _rows(batch.position, text_id(event.tenant_id), event.day, event.episode, 0,
                         "resolved", 0, ()):
            batch.steps.put(row)
