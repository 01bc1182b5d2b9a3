"""Report latency and cost at two history lengths (~100,000 and ~1,000,000 events; ``--quick``:
~20,000 and ~100,000).

Two sets of requests, run in process through ``Projections.report`` (the code the report GETs
call, without HTTP) on the cached histories of ``bench.dataset``, projections caught up first:
- typical requests a client makes (one site by day over a month, one tenant's month, ...):
  p50/p99 over ``CALLS`` calls, the 1,000,000-event p99 as a ratio to the 100,000-event one;
- the worst request each report allows (its widest range at its finest granularity, no filter):
  wall time and peak Python memory (tracemalloc) of one call, against the targets of 1 s and
  50 MiB at 1,000,000 events.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from bench.api_load import loadavg
from bench.common import percentile
from bench.dataset import history
from bootstrap import open_projections

TARGET_P99_MS = 20.0
TARGET_WORST_S = 1.0
TARGET_WORST_MIB = 50.0


def last_hour(p: Any) -> int:
    row = p.db.fetchone("SELECT MAX(hour) FROM utl_hours")
    return int(row[0]) if row and row[0] is not None else 0


def typical(p: Any) -> list[tuple[str, Callable[[], list[dict[str, Any]]]]]:
    """(name, call) for the requests clients make; filters from the data itself."""
    site, model = p.db.fetchone("SELECT site_id, model FROM utl_months ORDER BY site_id, model LIMIT 1")
    tenant = p.db.fetchone("SELECT tenant_id FROM bil_lines ORDER BY tenant_id LIMIT 1")[0]
    month = p.db.fetchone("SELECT MAX(month) FROM bil_lines")[0]
    return [
        ("utilisation, one site+model, by month", lambda: p.report("utilisation", {"site_id": site, "model": model})),
        ("utilisation, one site, by day, one month", lambda: p.report(
            "utilisation", {"site_id": site, "from": month, "to": month, "granularity": "day"})),
        ("billing lines, one tenant, one month", lambda: p.report(
            "billing", {"tenant_id": tenant, "from": month, "to": month})),
        ("billing totals, all tenants, one month", lambda: p.report("billing_totals", {"from": month, "to": month})),
        ("sustainability, one tenant", lambda: p.report("sustainability", {"tenant_id": tenant})),
        ("capex", lambda: p.report("capex")),
    ]


def worst(p: Any) -> list[tuple[str, Callable[[], list[dict[str, Any]]]]]:
    """(name, call) for the costliest request each report allows."""
    from projections.registry import REPORTS
    from projections.reports.base import MAX_MONTHS, MAX_SPAN_HOURS
    from projections.timeaxis import hour_start

    end = hour_start(last_hour(p) + 1)
    out: list[tuple[str, Callable[[], list[dict[str, Any]]]]] = []
    for granularity in ("hour", "day"):
        start = hour_start(last_hour(p) + 1 - MAX_SPAN_HOURS[granularity])
        filters = {"from": start.isoformat(), "to": end.isoformat(), "granularity": granularity}
        out.append((f"utilisation, every pool, by {granularity}, widest range",
                    lambda f=filters: p.report("utilisation", f)))  # type: ignore[misc]
    last = end.year * 12 + end.month - 1  # months since year 0, of the month holding the last hour
    first = last - (MAX_MONTHS - 1)
    months = {"from": f"{first // 12:04d}-{first % 12 + 1:02d}", "to": f"{last // 12:04d}-{last % 12 + 1:02d}"}
    out.append(("utilisation, every pool, by month, 120 months",
                lambda: p.report("utilisation", {**months, "granularity": "month"})))
    for name, report in REPORTS.items():
        if name == "utilisation":
            continue
        filters = months if report.filter("from") else {}
        out.append((f"{name}, no filter, widest range", lambda n=name, f=filters: p.report(n, f)))  # type: ignore[misc]
    return out


def answered(call: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]] | None:
    """The rows, or None when the report refuses the request (a 422 over HTTP)."""
    from domain.errors import InvalidInput

    try:
        return call()
    except InvalidInput:
        return None


def measure(url: str, calls: int) -> dict[str, dict[str, float]]:
    p = open_projections(url)
    try:
        p.catch_up()  # once per cached history: the projections then stay in its schema
        events = p.position()
        out: dict[str, dict[str, float]] = {}
        for name, call in typical(p):
            rows = call()
            for _ in range(4):
                call()
            samples = []
            for _ in range(calls):
                began = time.perf_counter()
                call()
                samples.append((time.perf_counter() - began) * 1000)
            out[name] = {"p50_ms": percentile(samples, 0.5), "p99_ms": percentile(samples, 0.99), "rows": len(rows),
                         "events": events, "kind": 0}
        for name, call in worst(p):
            answered(call)  # warm the caches of PostgreSQL, as for the typical requests
            tracemalloc.start()
            began = time.perf_counter()
            rows = answered(call)
            seconds = time.perf_counter() - began
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            # -1 rows: refused with a 422 (more than MAX_ROWS rows), after the same capped query
            out[name] = {"seconds": seconds, "peak_mib": peak, "rows": -1 if rows is None else len(rows),
                         "events": events, "kind": 1}
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
        for size, figures in ((small, base), (large, after[name])):
            common = {"benchmark": "reports", "case": f"{name} @ {size:,} events", "rows": figures["rows"],
                      "events": figures["events"], "load": loadavg()}
            if figures["kind"] == 0:
                row = {**common, "value": figures["p99_ms"], "unit": "ms p99", "p50_ms": figures["p50_ms"],
                       "p99_ms": figures["p99_ms"]}
                if size == large:
                    row.update(ratio=figures["p99_ms"] / base["p99_ms"], baseline=base["p99_ms"],
                               target=f"p99 <= {TARGET_P99_MS:.0f} ms", met=figures["p99_ms"] <= TARGET_P99_MS)
            else:
                row = {**common, "value": figures["seconds"] * 1000, "unit": "ms (worst allowed)",
                       "peak_mib": figures["peak_mib"]}
                if size == large:
                    row.update(ratio=figures["seconds"] / max(base["seconds"], 1e-9),
                               target=f"<= {TARGET_WORST_S:.0f} s, <= {TARGET_WORST_MIB:.0f} MiB",
                               met=figures["seconds"] <= TARGET_WORST_S and figures["peak_mib"] <= TARGET_WORST_MIB)
            if size == small:
                row["ratio"] = 1.0
            rows.append(row)
    return rows
