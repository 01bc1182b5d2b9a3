"""Tenant index: which reservations, metering batches and invoices belong to which tenant.

One row per log position of interest (a reservation confirmed, a metering batch of one
reservation, an invoice issued), keyed by position, so a tenant's lists page by log position.
Followed by the projection workers like every other read model; requests only read it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from domain.aggregates import Invoice, Reservation
from projections.projection import Batch, Positioned, Projection, text_id
from projections.rows import RowSet
from storage.database import Database
from storage.tables import Table

KINDS = ("reservation", "usage", "invoice")
_compact = json.JSONEncoder(separators=(",", ":")).encode  # one encoder: json.dumps with options makes one per call


@dataclass(slots=True)
class TenantEntry:
    position: int
    tenant_id: str
    kind: str  # reservation | usage | invoice
    resource_id: str
    detail: str  # JSON: for usage, the batch's records as stored, [[record id hex, hour, GPU-hours], ...]

    @property
    def records(self) -> list[dict[str, Any]]:
        """The usage records, each {record_id, hour, gpu_hours}."""
        return [{"record_id": _dashed(rid), "hour": hour, "gpu_hours": gpu_hours}
                for rid, hour, gpu_hours in json.loads(self.detail or "[]")]


@dataclass(slots=True)
class ReservationOwner:
    reservation_id: str
    tenant_id: str


ENTRIES = Table("tix_entries", TenantEntry, key=("position",), indexes=(("tenant_id", "kind", "position"),))
OWNERS = Table("tix_owners", ReservationOwner, key=("reservation_id",))


@dataclass
class TenantIndexBatch(Batch):
    db: Database
    entries_table: str
    owners: RowSet[ReservationOwner]
    # Entries are append-only (one per log position, never read back while projecting): gathered
    # as plain rows and written once, not kept in a row cache.
    entries: list[tuple[int, str, str, str, str]] = field(default_factory=list)

    def add(self, tenant: str, kind: str, resource: str, detail: str) -> None:
        self.entries.append((self.position, tenant, kind, resource, detail))

    def flush(self) -> None:
        self.owners.flush()
        self.db.append(ENTRIES, self.entries_table, self.entries)
        self.entries.clear()

    def owner(self, reservation: object) -> str:
        return self.owners.require((text_id(reservation),),
                                   f"tenant index: usage for unknown reservation {reservation}").tenant_id


class TenantIndex(Projection):
    name = "tenant_index"
    title = "A tenant's reservations, metering batches and invoices, by log position"
    tables = (ENTRIES, OWNERS)

    def begin(self, db: Database, events: Sequence[Positioned]) -> TenantIndexBatch:
        batch = TenantIndexBatch(db, self.t(ENTRIES), self.rows(db, OWNERS))
        batch.owners.prefetch({(text_id(e.originator_id),) for _, e in events if isinstance(e, Reservation.Event)})
        return batch

    @singledispatchmethod
    def handle(self, event: object, batch: TenantIndexBatch) -> None:
        """Events without a handler are ignored."""

    @handle.register(Reservation.Confirmed)
    def _confirmed(self, event: Reservation.Confirmed, batch: TenantIndexBatch) -> None:
        reservation, tenant = text_id(event.originator_id), text_id(event.tenant_id)
        batch.owners.put(ReservationOwner(reservation, tenant))
        batch.add(tenant, "reservation", reservation, "")

    @handle.register(Reservation.UsageBatchRecorded)
    def _usage_batch(self, event: Reservation.UsageBatchRecorded, batch: TenantIndexBatch) -> None:
        self._usage(batch, event.originator_id, _compact(event.records))

    @handle.register(Reservation.UsageRecorded)
    def _usage_one(self, event: Reservation.UsageRecorded, batch: TenantIndexBatch) -> None:
        self._usage(batch, event.originator_id, json.dumps([[event.record_id.hex, event.hour.isoformat(),
                                                             str(event.gpu_hours)]]))

    @staticmethod
    def _usage(batch: TenantIndexBatch, reservation: object, records: str) -> None:
        batch.add(batch.owner(reservation), "usage", text_id(reservation), records)

    @handle.register(Invoice.Issued)
    def _issued(self, event: Invoice.Issued, batch: TenantIndexBatch) -> None:
        batch.add(text_id(event.tenant_id), "invoice", text_id(event.originator_id), "")


def _dashed(hex_id: str) -> str:
    """A record id as stored (32 hex digits) in the canonical dashed form."""
    if len(hex_id) == 32:
        return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"
    return str(UUID(hex_id))


def page(db: Database, tenant_id: UUID | str, kind: str, after: int, limit: int) -> list[TenantEntry]:
    """Up to ``limit`` entries of ``kind`` for the tenant after log position ``after``."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}")
    rows = db.fetchall(f"SELECT {', '.join(ENTRIES.column_names)} FROM {ENTRIES.name} "
                       "WHERE tenant_id = ? AND kind = ? AND position > ? ORDER BY position LIMIT ?",
                       (str(tenant_id), kind, after, limit))
    return [ENTRIES.from_db(r) for r in rows]
