"""``ledger demo``'s record of itself (``domain.aggregates.demo``): started, completed, or cut short."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from eventsourcing.application import AggregateNotFoundError

from domain.aggregates.demo import DEMO_RUN_ID, DemoRun
from domain.attachments import NO_CONTEXT
from domain.service.core import LedgerCore


class DemoRunCommands(LedgerCore):
    def start_demo_run(self, *, seed: int, start: datetime, end: datetime, months: int, scale: str) -> int | None:
        """The demo's first event (at the ledger's clock); returns its position."""
        return self._save(NO_CONTEXT, DemoRun(seed, start, end, months, scale))

    def complete_demo_run(self, counts: Mapping[str, int]) -> int | None:
        """The demo's last event: the history is whole. Returns its position."""
        run: object = self.repository.get(DEMO_RUN_ID)
        assert isinstance(run, DemoRun)
        run.complete({key: int(value) for key, value in counts.items()})
        return self._save(NO_CONTEXT, run)

    def get_demo_run(self) -> DemoRun | None:
        """The store's demo run, or None (a store the demo never wrote to)."""
        try:
            run: object = self.repository.get(DEMO_RUN_ID)
        except AggregateNotFoundError:
            return None
        return run if isinstance(run, DemoRun) else None
