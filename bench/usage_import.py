"""Bulk metering from CSV (`ledger usage import`): records/s of ``import_usage`` reading a file,
against the service's own ``record_usage`` on the same kind of batches as the baseline, in the
same run and on the same store, rounds interleaved (service, import, service, import, ...).

Both sides record batches of ``BATCH`` records over 50 reservations each (100 hours x 50), so
each batch is 50 events in one transaction: the CSV side adds reading, parsing and checking the
file's fields. Target: >= 15,000 records/s on PostgreSQL.
"""

from __future__ import annotations

import csv
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.api_load import loadavg
from bench.common import drop_url, fresh_url, seeded_fleet
from domain import UsageRecord
from domain.service.usage_import import COLUMNS, import_usage

BATCH = 5_000
GROUP = 50  # reservations per batch
GROUPS = 20
HOURS = 500  # each reservation's window
TARGET = 15_000


class Chunks:
    """Batches of fresh records: each over one group of 50 reservations and 100 new hours."""

    def __init__(self, reservations: list[uuid.UUID]) -> None:
        self.reservations = reservations
        self.next = 0

    def take(self) -> list[UsageRecord]:
        k = self.next
        self.next += 1
        group = self.reservations[(k % GROUPS) * GROUP:(k % GROUPS + 1) * GROUP]
        first = (k // GROUPS) * (BATCH // GROUP)
        if first + BATCH // GROUP > HOURS:
            raise RuntimeError("the bench ran out of reserved hours")
        start = datetime(2027, 1, 1, tzinfo=UTC)
        return [UsageRecord(uuid.uuid4(), reservation, start + timedelta(hours=first + h), Decimal("0.875"))
                for h in range(BATCH // GROUP) for reservation in group]


def run(url: str, tmpdir: str, *, quick: bool = False) -> list[dict[str, Any]]:
    batches, rounds = (2, 2) if quick else (10, 3)
    store = fresh_url(url, tmpdir)
    fleet = seeded_fleet(store)
    try:
        start = datetime(2027, 1, 1, tzinfo=UTC)
        reservations = [fleet.ledger.confirm_reservation(
            tenant_id=fleet.tenant_id, site_id=fleet.site_id, model=fleet.model, gpus=1, start=start,
            end=start + timedelta(hours=HOURS)).id for _ in range(GROUP * GROUPS)]
        chunks = Chunks(reservations)
        service_rates, import_rates = [], []
        for i in range(rounds):
            work = [chunks.take() for _ in range(batches)]
            began = time.perf_counter()
            for records in work:
                assert fleet.ledger.record_usage(records).recorded == BATCH
            service_rates.append(batches * BATCH / (time.perf_counter() - began))
            path = os.path.join(tmpdir, f"usage-{i}.csv")
            with open(path, "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(COLUMNS)
                for _ in range(batches):
                    writer.writerows([str(r.record_id), str(r.reservation_id), r.hour.isoformat(), str(r.gpu_hours)]
                                     for r in chunks.take())
            began = time.perf_counter()
            with open(path, newline="", encoding="utf-8") as source:
                result = import_usage(fleet.ledger, source, batch_size=BATCH)
            import_rates.append(batches * BATCH / (time.perf_counter() - began))
            assert result.error is None and result.recorded == batches * BATCH, result.error
        service, imported = statistics.median(service_rates), statistics.median(import_rates)
        load = loadavg()
        n = f"{batches * BATCH:,} records x {rounds} rounds, batches of {BATCH:,}"
        return [
            {"benchmark": "usage-import", "case": f"service record_usage (baseline), {n}", "rate_per_s": service,
             "ratio": 1.0, "load": load},
            {"benchmark": "usage-import", "case": f"ledger usage import FILE.csv, {n}", "rate_per_s": imported,
             "ratio": imported / service, "target": f">= {TARGET:,} records/s", "met": imported >= TARGET,
             "load": load},
        ]
    finally:
        fleet.ledger.close()
        drop_url(store)
