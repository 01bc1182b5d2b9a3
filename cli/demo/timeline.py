"""The demo's calendar and state: its scales, its simulated clock, the tenants it simulates and
the summary it prints. Shared by the history (``cli.demo.history``), its commercial terms
(``cli.demo.terms``) and its printed reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from cli.demo.cast import TenantProfile
from cli.demo.ids import ScenarioIds
from domain import Ledger
from domain.errors import InvalidInput
from domain.timeutil import UTC
from operations.invoicing import ProjectionReads

# By default the history ends here (exclusive) whatever its length, so a seed always means the
# same dates, whatever the day it runs (``--start YYYY-MM`` moves the calendar: it then starts there).
HISTORY_END = datetime(2026, 11, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
USAGE_CHUNK = 10_000


@dataclass(frozen=True)
class Scale:
    name: str
    months: int  # default length of the history
    copies: int  # copies of each tenant archetype (more tenants, smaller blocks)
    # How often the metering agent posts the hours just ended (one batch, one transaction; one
    # event per reservation and batch). Divides 24, so batches never straddle a midnight.
    meter_every_hours: int = 1


SCALES: dict[str, Scale] = {
    "small": Scale("small", 6, 1, 2),
    "medium": Scale("medium", 12, 3, 1),
    "large": Scale("large", 18, 8, 1),
}


class SimulatedClock:
    """The ledger's clock during the demo: moved forward by the simulation, never back."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance_to(self, moment: datetime) -> None:
        if moment > self.now:
            self.now = moment


class InvoiceSource(ProjectionReads, Protocol):
    """What finance needs from the projections to close a month (``operations.invoicing``)."""

    def catch_up(self, names: Any = None, *, batch_size: int = 5000, progress: Any = None) -> int: ...


@dataclass
class TenantState:
    profile: TenantProfile
    name: str
    demand_gpus: int
    tenant_id: UUID | None = None
    site_key: str = ""
    paused_until: datetime | None = None
    reservations: list[SimReservation] = field(default_factory=list)


@dataclass
class SimReservation:
    id: UUID
    tenant: TenantState
    site_key: str
    model: str
    gpus: int
    start: datetime
    end: datetime
    cancelled: bool = False
    idle_left: int = 0
    hours_metered: int = 0


@dataclass
class DemoSummary:
    start: datetime
    end: datetime
    months: int
    scale: str
    seed: int
    site_ids: dict[str, UUID] = field(default_factory=dict)
    round_id: UUID | None = None
    tenant_ids: dict[str, UUID] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    invoices_skipped: str = ""
    months_invoiced: list[str] = field(default_factory=list)

    def bump(self, key: str, by: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + by


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def month_text(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def history_window(months: int, start: datetime | None = None) -> tuple[datetime, datetime]:
    """[start, end) of the history: ``months`` from ``start`` (a month's first instant), or by
    default the ``months`` ending at :data:`HISTORY_END`."""
    if start is None:
        return add_months(HISTORY_END, -months), HISTORY_END
    return start, add_months(start, months)


def parse_start(value: str) -> datetime:
    """``--start YYYY-MM``: the first instant (UTC) of that month."""
    text = value.strip()
    if len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isdigit() or not text.isascii():
        raise InvalidInput(f"--start: expected a month as YYYY-MM, got {value!r}", field="start")
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12 or year < 2000:
        raise InvalidInput(f"--start: expected a month as YYYY-MM (from 2000-01), got {value!r}", field="start")
    return datetime(year, month, 1, tzinfo=UTC)




class Timeline(Protocol):
    """What the commercial terms need of the running history: the ledger, the window, the tenants,
    the summary, and a way to schedule an action at a later simulated moment."""

    ledger: Ledger
    ids: ScenarioIds
    start: datetime
    scale: Scale
    tenants: list[TenantState]
    summary: DemoSummary

    def at(self, moment: datetime, action: Callable[[], None]) -> None: ...
