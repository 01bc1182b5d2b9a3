"""Which reservations, usage records and invoices belong to which tenant.

A small read model of the API's own, built from the ledger's notification log (never from
request handlers, so it cannot drift from the ledger): rows keyed by log position for the
topics below, with a tracking position, written in one transaction per batch. Reads first
catch up to the head of the log, so a tenant always sees its own latest writes. Rows are
idempotent (keyed by position), so several API processes may catch up at once.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from api.schemas.common import plain
from api.store import ApiStore, Tx
from domain import Ledger

CONFIRMED = "ledger:Reservation.Confirmed"
USAGE = "ledger:Reservation.UsageRecorded"
USAGE_BATCH = "ledger:Reservation.UsageBatchRecorded"
ISSUED = "ledger:Invoice.Issued"
TOPICS = (CONFIRMED, USAGE, USAGE_BATCH, ISSUED)
KIND = {CONFIRMED: "reservation", USAGE: "usage", USAGE_BATCH: "usage", ISSUED: "invoice"}
BATCH = 2000
TRACKING_NAME = "tenant_index"


@dataclass(frozen=True)
class IndexRow:
    position: int
    resource_id: str
    detail: dict[str, Any]


class TenantIndex:
    def __init__(self, ledger: Ledger, store: ApiStore) -> None:
        self.ledger = ledger
        self.store = store
        self._lock = threading.Lock()
        with store.transaction() as tx:
            tx.execute("INSERT INTO api_tracking (name, position) VALUES (?, 0) ON CONFLICT (name) DO NOTHING",
                       (TRACKING_NAME,))

    def catch_up(self) -> int:
        """Index every new event of interest up to the head of the log; return the position."""
        with self._lock:
            with self.store.transaction() as tx:
                row = tx.one("SELECT position FROM api_tracking WHERE name = ?", (TRACKING_NAME,))
            position = int(row[0]) if row else 0
            head = self.ledger.max_position()
            while position < head:
                notifications = self.ledger.recorder.select_notifications(
                    start=position, limit=BATCH, stop=head, topics=TOPICS, inclusive_of_start=False)
                last = notifications[-1].id if len(notifications) == BATCH else head
                with self.store.transaction() as tx:
                    for notification in notifications:
                        self._index(tx, notification)
                    tx.execute("UPDATE api_tracking SET position = ? WHERE name = ? AND position < ?",
                               (last, TRACKING_NAME, last))
                position = last
            return position

    def _index(self, tx: Tx, notification: Any) -> None:
        event = self.ledger.mapper.to_domain_event(notification)
        kind = KIND[notification.topic]
        resource = str(event.originator_id)
        if kind == "usage":
            owner = tx.one("SELECT tenant_id FROM api_tenant_log WHERE resource_id = ? AND kind = 'reservation'",
                           (resource,))
            if owner is None:
                return
            tenant = str(owner[0])
            if notification.topic == USAGE_BATCH:
                # One row per metering batch (one log position); readers expand "records".
                detail = {"records": [{"record_id": str(UUID(rid)), "hour": hour, "gpu_hours": gpu_hours}
                                      for rid, hour, gpu_hours in event.records]}
            else:
                detail = {"records": [{"record_id": str(event.record_id), "hour": event.hour.isoformat(),
                                       "gpu_hours": plain(event.gpu_hours)}]}
        else:
            tenant = str(event.tenant_id)
            detail = {}
        tx.execute("INSERT INTO api_tenant_log (position, tenant_id, kind, resource_id, detail) "
                   "VALUES (?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING",
                   (notification.id, tenant, kind, resource, json.dumps(detail)))

    def page(self, tenant_id: UUID, kind: str, after: int, limit: int) -> list[IndexRow]:
        """Up to ``limit`` rows of ``kind`` for the tenant after log position ``after``."""
        self.catch_up()
        with self.store.transaction() as tx:
            rows = tx.all("SELECT position, resource_id, detail FROM api_tenant_log WHERE tenant_id = ? AND kind = ? "
                          "AND position > ? ORDER BY position LIMIT ?", (str(tenant_id), kind, after, limit))
        return [IndexRow(int(p), str(r), json.loads(d)) for p, r, d in rows]
