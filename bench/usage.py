"""Usage ingestion: per-hour usage records/s through the service's batch path (one
transaction per batch, exactly once), against raw psycopg COPY of the same rows (PostgreSQL)
or executemany into a plain table (SQLite) as the baseline."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.common import drop_url, fresh_url, median_rate, seeded_fleet
from domain import UsageRecord
from storage.urls import conninfo, parse_database_url

HOURS = 500  # hours per reservation window


def _records(reservations: list[uuid.UUID], hour_offset: int, count: int) -> list[UsageRecord]:
    start = datetime(2027, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(count):
        rows.append(UsageRecord(uuid.uuid4(), reservations[i % len(reservations)],
                                start + timedelta(hours=hour_offset + i // len(reservations)), Decimal("0.875")))
    return rows


def service_rate(store: str, batch: int, runs: int, *, warm_up: bool = False) -> float:
    """Records/s of ``Ledger.record_usage`` in batches of ``batch`` over 50 reservations of a new
    fleet at ``store`` (median of ``runs``; ``warm_up``: one untimed batch first)."""
    fleet = seeded_fleet(store)
    start = datetime(2027, 1, 1, tzinfo=UTC)
    reservations = [fleet.ledger.confirm_reservation(
        tenant_id=fleet.tenant_id, site_id=fleet.site_id, model=fleet.model, gpus=1,
        start=start, end=start + timedelta(hours=HOURS), backfill=True).id for _ in range(50)]
    offset = [0]

    def service() -> int:
        records = _records(reservations, offset[0], batch)
        offset[0] += batch // len(reservations)
        receipt = fleet.ledger.record_usage(records)
        assert receipt.recorded == batch
        return batch

    if warm_up:
        service()
    rate, _ = median_rate(runs, service)
    fleet.ledger.close()
    return rate


def run(url: str, tmpdir: str, quick: bool = False) -> list[dict[str, Any]]:
    batch, runs = (1000, 3) if quick else (5000, 5)
    store = fresh_url(url, tmpdir)
    rate = service_rate(store, batch, runs)
    baseline = _raw_rate(store, batch, runs)
    drop_url(store)
    return [
        {"benchmark": "usage", "case": f"raw insert of {batch} rows (baseline)", "rate_per_s": baseline, "ratio": 1.0},
        {"benchmark": "usage", "case": f"service record_usage, batches of {batch}", "rate_per_s": rate,
         "ratio": rate / baseline, "target": ">= 10,000 records/s", "met": rate >= 10_000},
    ]


def _raw_rate(store: str, batch: int, runs: int) -> float:
    config = parse_database_url(store)
    rows = [(str(uuid.uuid4()), str(uuid.uuid4()), datetime(2027, 1, 1, tzinfo=UTC), "0.875")
            for _ in range(batch)]
    if config.is_postgres:
        import psycopg

        with psycopg.connect(conninfo(config)) as conn:
            conn.execute(f"SET search_path TO {config.schema}")
            conn.execute("CREATE TABLE raw_usage (record_id uuid, reservation_id uuid, hour timestamptz, "
                         "gpu_hours numeric)")
            conn.commit()

            def copy() -> int:
                with conn.cursor() as cur, cur.copy("COPY raw_usage FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
                conn.commit()
                return batch

            rate, _ = median_rate(runs, copy)
            return rate
    conn = sqlite3.connect(config.sqlite_path)
    conn.execute("CREATE TABLE raw_usage (record_id text, reservation_id text, hour text, gpu_hours text)")

    def insert() -> int:
        with conn:
            conn.executemany("INSERT INTO raw_usage VALUES (?, ?, ?, ?)",
                             [(a, b, c.isoformat(), d) for a, b, c, d in rows])
        return batch

    rate, _ = median_rate(runs, insert)
    conn.close()
    return rate
