"""What the ledger's commands take and return, and the default clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

MAX_USAGE_BATCH = 20_000  # one transaction; larger batches were measured to stall the psycopg pipeline


@dataclass(frozen=True)
class Written:
    """What a command returns: the id it acted on and the log position of its last event
    (``None`` when it recorded nothing, e.g. an idempotent usage retry)."""

    id: UUID
    position: int | None


@dataclass(frozen=True)
class UsageRecord:
    """GPU-hours used by a reservation in the hour starting at ``hour``; ``record_id`` makes a
    retried record harmless."""

    record_id: UUID
    reservation_id: UUID
    hour: datetime
    gpu_hours: Decimal


@dataclass(frozen=True)
class UsageReceipt:
    recorded: int
    duplicates: int
    position: int | None


def system_clock() -> datetime:
    return datetime.now(UTC)
