"""Shared helpers for the benchmark scripts: timing, medians, fresh databases, a seeded pool."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bootstrap import open_ledger
from domain import Ledger

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2027, 6, 1, tzinfo=UTC)


def median_rate(runs: int, work: Callable[[], int]) -> tuple[float, list[float]]:
    """Run ``work`` (returns items done) ``runs`` times; the median items/s and all rates."""
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        done = work()
        rates.append(done / (time.perf_counter() - started))
    return statistics.median(rates), rates


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fresh_url(base: str, tmpdir: str) -> str:
    """A new empty store: a new schema on PostgreSQL, a new file on SQLite."""
    if base == "sqlite":
        return f"{tmpdir}/bench-{uuid.uuid4().hex[:10]}.db"
    if base.startswith("postgres"):
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return f"{base}{'&' if '?' in base else '?'}schema={schema}"
    return f"{tmpdir}/bench-{uuid.uuid4().hex[:10]}.db"


def drop_url(url: str) -> None:
    if url.startswith("postgres") and "schema=" in url:
        import psycopg

        base, schema = url.split("?schema=") if "?schema=" in url else url.split("&schema=")
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@dataclass
class Fleet:
    ledger: Ledger
    site_id: uuid.UUID
    tenant_id: uuid.UUID
    model: str


def seeded_fleet(url: str, gpus: int = 100_000, model: str = "H100-SXM") -> Fleet:
    """A ledger with one site, one pool of ``gpus`` commissioned GPUs and one tenant."""
    ledger = open_ledger(url, clock=lambda: NOW)
    site = ledger.register_site(name="Bench", country="GB", grid_intensity_g_per_kwh="225", pue="1.18",
                                carbon_free_share="0.6", effective_from=T0)
    fund = ledger.open_funding_round(name="Bench", currency="USD", opened_at=T0)
    total = gpus * 10_000
    ledger.record_commitment(fund.id, investor="I", amount=total, currency="USD", equity_percent="1")
    ledger.record_tranche(fund.id, investor="I", amount=total, currency="USD", received_at=T0)
    order = ledger.place_supply_order(funding_round_id=fund.id, site_id=site.id, model=model, quantity=gpus,
                                      unit_price="10000", currency="USD", placed_at=T0)
    ledger.record_delivery(order.id, quantity=gpus, delivered_at=T0)
    ledger.commission(order.id, quantity=gpus, commissioned_at=T0)
    tenant = ledger.register_tenant(name="Bench tenant", billing_currency="USD", rates={model: "2.00"})
    return Fleet(ledger, site.id, tenant.id, model)


def window(i: int, hours: int = 24) -> dict[str, Any]:
    start = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(hours=i % 2000)
    return {"start": start, "end": start + timedelta(hours=hours)}
