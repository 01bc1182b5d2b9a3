"""Dashboard page latency: every page's p95 against the report API's own latency, same run.

    python -m bench ui --db postgresql://...     [--quick]

On the cached history of ``bench.dataset`` (1,000,000 events; ``--quick``: 100,000), projections
caught up first, ``ledger serve --no-projector`` in a subprocess, one signed-in session per role
(httpx, one connection, requests one after another). Each page is fetched ``CALLS`` times after
``WARMUP`` calls; its p50/p95 are reported with, as the baseline, the p95 of the report API calls
that return the same rows (``GET /v1/reports/NAME`` with the same filters; for a page built from
several reports, the sum of their p95s). Target: page p95 <= 300 ms.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench.api_load import issue, loadavg, start_server, stop, wait_ready
from bench.common import percentile
from bench.dataset import ROOT, history
from bootstrap import open_projections

CALLS = 40
WARMUP = 3
TARGET_P95_MS = 300.0


def timed(calls: int, call: Callable[[], httpx.Response]) -> list[float]:
    for _ in range(WARMUP):
        call().raise_for_status()
    samples = []
    for _ in range(calls):
        began = time.perf_counter()
        answer = call()
        samples.append((time.perf_counter() - began) * 1000)
        answer.raise_for_status()
    return samples


def session(base: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    form = client.get("/ui/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    signed = client.post("/ui/login", data={"token": token, "csrf": csrf.group(1)})
    if signed.status_code != 303:
        raise RuntimeError(f"sign-in answered {signed.status_code}")
    return client


def run(url: str, tmpdir: str, quick: bool = False, fresh: bool = False) -> list[dict[str, Any]]:
    if not url.startswith("postgres"):
        return []  # measured on PostgreSQL, the production store
    events = 100_000 if quick else 1_000_000
    store = history(url, events, fresh=fresh)
    p = open_projections(store)
    try:
        p.catch_up()
        last_month = p.db.fetchone("SELECT MAX(month) FROM bil_lines")[0]
        tenant = p.db.fetchone("SELECT tenant_id FROM bil_lines ORDER BY tenant_id LIMIT 1")[0]
    finally:
        p.close()
    sys.path.insert(0, str(ROOT))
    began = time.perf_counter()
    proc, base = start_server([sys.executable, "-c", "from cli.main import main; main()", "serve", "--db", store,
                               "--no-projector"])
    rows: list[dict[str, Any]] = []
    try:
        wait_ready(base, "/health", proc, began)
        tokens = {role: issue(store, role) for role in ("finance", "auditor")}
        tokens["tenant"] = issue(store, "tenant", tenant)
        api = httpx.Client(base_url=base, timeout=60)
        calls = 15 if quick else CALLS

        def api_p95(token: str, name: str, params: dict[str, str]) -> float:
            return percentile(timed(calls, lambda: api.get(f"/v1/reports/{name}", params=params,
                                                           headers={"Authorization": f"Bearer {token}"})), 95)

        month = {"from": last_month, "to": last_month}
        fin = tokens["finance"]
        cases: list[tuple[str, str, str, Callable[[], float]]] = [
            ("finance", "/ui/finance", "utilisation (by month; by day, last month) + funding_rounds + capex + "
             "billing_totals + sustainability (last month)", lambda: sum(api_p95(fin, n, f) for n, f in (
                 ("utilisation", {"granularity": "month"}), ("utilisation", {**month, "granularity": "day"}),
                 ("funding_rounds", {}), ("capex", {}), ("billing_totals", month), ("sustainability", month)))),
            ("finance", f"/ui/finance?from={last_month}&to={last_month}", "the same reports, one month",
             lambda: sum(api_p95(fin, n, f) for n, f in (
                 ("utilisation", {**month, "granularity": "day"}), ("funding_rounds", {}), ("capex", {}),
                 ("billing_totals", month), ("sustainability", month)))),
            ("tenant", f"/ui/tenant?from={last_month}&to={last_month}", "its tenant-scoped reports, one month",
             lambda: sum(api_p95(tokens["tenant"], n, month) for n in ("billing", "billing_totals",
                                                                       "sustainability"))),
            ("auditor", "/ui/audit", "GET /v1/audit/events?limit=50",
             lambda: percentile(timed(calls, lambda: api.get("/v1/audit/events", params={"limit": "50"}, headers={
                 "Authorization": f"Bearer {tokens['auditor']}"})), 0.95)),
        ]
        from projections.registry import REPORTS

        for name, report in REPORTS.items():
            params = dict(month) if report.filter("from") else {}
            if name == "utilisation":
                params["granularity"] = "day"
            query = "&".join(f"{k}={v}" for k, v in params.items())
            cases.append(("finance", f"/ui/reports/{name}" + (f"?{query}" if query else ""), f"GET /v1/reports/{name}",
                          lambda n=name, f=params: api_p95(fin, n, f)))  # type: ignore[misc]
        for role, path, baseline_name, baseline in cases:
            client = session(base, tokens[role])
            try:
                samples = timed(calls, lambda c=client, p=path: c.get(p))  # type: ignore[misc]
            finally:
                client.close()
            p95, base_ms = percentile(samples, 0.95), baseline()
            rows.append({"benchmark": "ui", "case": f"{role} {path} ({events:,} events)",
                         "value": round(p95, 1), "unit": "ms p95", "p50_ms": round(percentile(samples, 0.5), 1),
                         "p99_ms": round(percentile(samples, 0.99), 1),
                         "baseline": round(base_ms, 1), "baseline_case": baseline_name,
                         "ratio": p95 / base_ms if base_ms else None, "target": f"<= {TARGET_P95_MS:g} ms",
                         "met": p95 <= TARGET_P95_MS, "load": loadavg()})
        api.close()
    finally:
        stop(proc)
    return rows
