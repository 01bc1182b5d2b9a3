"""Report latency at two history lengths: p50/p99 of each report query at ~100,000 and
~1,000,000 events (``--quick``: ~20,000 and ~100,000).

Reports read projection tables only, so the two sizes must be close: the 1,000,000-event
figure is shown as a ratio to the 100,000-event one (the baseline). The queries run in
process through ``Projections`` (the code the report GETs call, without HTTP), on the cached
histories of ``bench.dataset`` with their projections caught up first (not timed). Each query
runs ``CALLS`` times after a warm-up; the histories grow the number of reservations and hours
with the log, so the answers are not identical in size: the row counts are reported too.
"""

from __future__ import annotations

import time
from typing import Any

from bench.api_load import loadavg
from bench.common import percentile
from bench.dataset import history
from bootstrap import open_projections

TARGET_P99_MS = 20.0


def queries(p: Any) -> list[tuple[str, Any]]:
    """(name, call) for each report a client asks for; filters from the data itself."""
    site, model = p.db.fetchone("SELECT site_id, model FROM utl_months ORDER BY site_id, model LIMIT 1") \
        if p.db.table_exists("utl_months") else (None, None)
    tenant = (p.db.fetchone("SELECT tenant_id FROM bil_lines ORDER BY tenant_id LIMIT 1")
              if p.db.table_exists("bil_lines") else None)
    tenant_id = tenant[0] if tenant else None
    return [
        ("utilisation, one site+model, by month", lambda: p.utilisation(site_id=site, model=model)),
        ("utilisation, one site, by day, one month", lambda: p.utilisation(
            site_id=site, start="2026-03-01T00:00:00+00:00", end="2026-04-01T00:00:00+00:00", granularity="day")),
        ("utilisation, one site, by hour, one day", lambda: p.utilisation(
            site_id=site, start="2026-03-10T00:00:00+00:00", end="2026-03-11T00:00:00+00:00", granularity="hour")),
        ("billing lines, one tenant, one month", lambda: p.billing(tenant_id=tenant_id, month_from="2026-03",
                                                                    month_to="2026-03")),
        ("billing totals, all tenants", lambda: p.billing_totals()),
        ("sustainability, one tenant", lambda: p.sustainability(tenant_id=tenant_id)),
        ("capex", lambda: p.capex()),
    ]


def measure(url: str, calls: int) -> dict[str, dict[str, float]]:
    p = open_projections(url)
    try:
        p.catch_up()  # once per cached history: the projections then stay in its schema
        events = p.position()
        out = {}
        for name, call in queries(p):
            for _ in range(5):
                rows = call()
            samples = []
            for _ in range(calls):
                began = time.perf_counter()
                call()
                samples.append((time.perf_counter() - began) * 1000)
            size = len(rows) if isinstance(rows, list) else sum(len(v) for v in rows.values())
            out[name] = {"p50_ms": percentile(samples, 0.5), "p99_ms": percentile(samples, 0.99), "rows": size,
                         "events": events}
        return out
    finally:
        p.close()


def run(url: str, tmpdir: str, quick: bool = False, fresh: bool = False) -> list[dict[str, Any]]:
    if not url.startswith("postgres"):
        return []
    small, large = (20_000, 100_000) if quick else (100_000, 1_000_000)
    calls = 50 if quick else 200
    before = measure(history(url, small, fresh=fresh), calls)
    after = measure(history(url, large, fresh=fresh), calls)
    rows = []
    for name, base in before.items():
        big = after[name]
        for size, figures in ((small, base), (large, big)):
            row = {"benchmark": "reports", "case": f"{name} @ {size:,} events", "value": figures["p99_ms"],
                   "unit": "ms p99", "p50_ms": figures["p50_ms"], "p99_ms": figures["p99_ms"],
                   "rows": figures["rows"], "events": figures["events"], "load": loadavg()}
            if size == large:
                row.update(ratio=figures["p99_ms"] / base["p99_ms"], baseline=base["p99_ms"],
                           target=f"p99 <= {TARGET_P99_MS:.0f} ms", met=figures["p99_ms"] <= TARGET_P99_MS)
            else:
                row["ratio"] = 1.0
            rows.append(row)
    return rows
