"""Shared, cached event logs for the benchmarks that need a long history (rebuild, reports, memory).

``history(base, events)`` returns the URL of a PostgreSQL schema ``bench_hist_<events>`` holding
a realistic log of about ``events`` events (sites, funded and commissioned pools, tenants,
reservations with extensions and cancellations, then hourly usage: see
``build_history`` below), written through the service's own paths (usage through the
batch path ``Ledger.record_usage``). Building 1,000,000 events takes minutes, so the schema is
kept and reused by later runs as long as its marker matches (the requested size and the
generator's version). After a change to the events' shape, run with ``--fresh-data`` on
``python -m bench`` (or ``python -m bench.dataset --fresh``) to write them again in the new
shape; ``python -m bench.dataset --drop`` removes them.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bootstrap import open_ledger

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "bench_hist_"
GENERATOR = "hourly-meter-v1"  # bump when build_history changes


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "domain" / "aggregates").glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _url(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}schema={schema}"


def history(base: str, events: int, *, fresh: bool = False, log: bool = True) -> str:
    """The URL of a store with a history of about ``events`` events (built once, then reused)."""
    import psycopg

    if not base.startswith("postgres"):
        raise ValueError("the long-history benchmarks run on PostgreSQL")
    schema = f"{PREFIX}{events}"
    url = _url(base, schema)
    mark = f"{events}:{GENERATOR}"
    with psycopg.connect(base, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
                             "AND table_name = 'bench_marker'", (schema,)).fetchone()
        if found and not fresh:
            row = conn.execute(f'SELECT mark FROM "{schema}".bench_marker').fetchone()
            if row and row[0] == mark:
                return url
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    started = time.perf_counter()
    if log:
        print(f"building a {events:,}-event history in schema {schema} (kept for later runs) ...", flush=True)
    total = build_history(url, events)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{schema}".bench_marker (mark text NOT NULL, events bigint NOT NULL, '
                     'seconds double precision NOT NULL)')
        conn.execute(f'INSERT INTO "{schema}".bench_marker VALUES (%s, %s, %s)',
                     (mark, total, time.perf_counter() - started))
    if log:
        print(f"built {total:,} events in {time.perf_counter() - started:.0f} s", flush=True)
    return url


def open_fleet(ledger: Any, t0: datetime) -> tuple[list[tuple[uuid.UUID, str]], list[uuid.UUID]]:
    """Two funded sites (one grid revision each) with 2,000 commissioned H100-SXM and GB300
    GPUs per site, and 20 tenants: the fleet every long benchmark history runs on. Returns the
    pools as (site id, model) and the tenant ids."""
    utc = UTC
    pools = []
    for s in range(2):
        site = ledger.register_site(name=f"S{s}", country="GB" if s == 0 else "NO", grid_intensity_g_per_kwh="225",
                                    pue="1.18", carbon_free_share="0.6", effective_from=t0)
        ledger.revise_site(site.id, effective_from=datetime(2026, 4, 15, 12, 30, tzinfo=utc),
                           grid_intensity_g_per_kwh="190", pue="1.15", carbon_free_share="0.7")
        fund = ledger.open_funding_round(name=f"R{s}", currency="USD", opened_at=t0)
        ledger.record_commitment(fund.id, investor="Inv", amount="900000000", currency="USD", equity_percent="10")
        ledger.record_tranche(fund.id, investor="Inv", amount="900000000", currency="USD", received_at=t0)
        for model in ("H100-SXM", "GB300"):
            order = ledger.place_supply_order(funding_round_id=fund.id, site_id=site.id, model=model, quantity=2000,
                                              unit_price="30000", currency="USD", placed_at=t0)
            ledger.record_delivery(order.id, quantity=2000, delivered_at=t0)
            ledger.commission(order.id, quantity=2000, commissioned_at=t0)
            pools.append((site.id, model))
    tenants = [ledger.register_tenant(name=f"T{i}", billing_currency="USD",
                                      rates={"H100-SXM": "2.10", "GB300": "4.255"}).id for i in range(20)]
    return pools, tenants


def build_history(url: str, target_events: int, seed: int = 7) -> int:
    """About ``target_events`` events, shaped like a metered production log: capacity, funding
    and tenants through the service; reservations through ``confirm_reservation`` (10% extended,
    10% cancelled half-way); then usage as an hourly metering agent sends it, one batch per hour
    with one record per active reservation (so one usage event per record, whatever the
    batching of the event shape). Usage is recorded on the Reservation aggregates held in
    memory and saved many at a time with ``Ledger.save`` (the events the service's batch path
    writes, without re-loading each reservation per batch): ~10x faster to set up."""
    import random
    from decimal import Decimal

    utc = UTC
    t0 = datetime(2026, 1, 1, tzinfo=utc)
    now = datetime(2027, 6, 1, tzinfo=utc)
    rng = random.Random(seed)
    clock = [t0]
    ledger = open_ledger(url, clock=lambda: clock[0])
    pools, tenants = open_fleet(ledger, t0)
    span = 24 * 330
    windows: list[tuple[uuid.UUID, int, int, int]] = []  # (reservation, gpus, first hour, end hour)
    usage_target = target_events - ledger.max_position()
    planned = 0
    while planned < usage_target * 1.02:
        site, model = rng.choice(pools)
        first = rng.randrange(0, span - 48)
        hours = min(rng.randrange(48, 3000), span - first)
        gpus = rng.randrange(1, 8)
        start = t0 + timedelta(hours=first)
        written = ledger.confirm_reservation(tenant_id=rng.choice(tenants), site_id=site, model=model, gpus=gpus,
                                             start=start, end=start + timedelta(hours=hours))
        if rng.random() < 0.1:
            ledger.extend_reservation(written.id, end=start + timedelta(hours=hours + 24))
            hours += 24
        if rng.random() < 0.1:
            clock[0] = start + timedelta(hours=hours // 2, minutes=7)
            ledger.cancel_reservation(written.id)
            hours = hours // 2 + 1
            clock[0] = t0
        windows.append((written.id, gpus, first, first + hours))
        planned += 2 + hours
    clock[0] = now
    held = {rid: ledger.get_reservation(rid) for rid, _, _, _ in windows}
    left = target_events - ledger.max_position()
    pending: dict[uuid.UUID, object] = {}
    amounts = [Decimal(f"{rng.uniform(0, 1):.3f}") for _ in range(997)]
    for hour in range(span):
        at = t0 + timedelta(hours=hour)
        for i, (rid, gpus, first, end) in enumerate(windows):
            if left <= 0:
                break
            if first <= hour < end:
                reservation = held[rid]
                reservation.record_usage(record_id=uuid.uuid4(), hour=at, gpu_hours=amounts[(hour + i) % 997] * gpus,
                                         now=now)
                pending[rid] = reservation
                left -= 1
        if len(pending) and (sum(len(r._pending_events) for r in pending.values()) >= 5_000  # type: ignore[attr-defined]
                             or left <= 0 or hour == span - 1):
            ledger.save(*pending.values())
            pending.clear()
        if left <= 0:
            break
    total = ledger.max_position()
    ledger.close()
    return total


def drop_all(base: str) -> list[str]:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        schemas = [r[0] for r in conn.execute("SELECT schema_name FROM information_schema.schemata "
                                               "WHERE schema_name LIKE %s", (PREFIX + "%",)).fetchall()]
        for schema in schemas:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return schemas


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dataset")
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--events", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop every cached history")
    args = parser.parse_args(argv)
    if args.drop:
        print("dropped", ", ".join(drop_all(args.db)) or "nothing")
        return 0
    for events in args.events:
        print(history(args.db, events, fresh=args.fresh))
    return 0


if __name__ == "__main__":
    sys.exit(main())
