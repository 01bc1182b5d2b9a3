"""The write path over HTTP against the service's own rate, measured in the same run.

    python -m bench write --db postgresql://postgres@127.0.0.1:5432/postgres [--quick]

Reservations: ``Ledger.confirm_reservation`` called in-process by 1 and 16 threads (the
service-level rate: ``bench/reservations.py``'s harness, the ledger opened as ``ledger serve``
opens it, with the cross-process pool lock) against ``POST /v1/reservations`` with a fresh
Idempotency-Key per request through ``ledger serve`` (projection follower in a child process, the
default) driven by ``wrk`` with 1 and 16 connections; and 16 connections on ``ledger serve
--workers 2`` (no target: what a second process buys on this machine). Each POST books 1 GPU
for an hour of the same pool, as the service-level case does. Both run with group commit on (the default), so the
service's queued bookings share transactions exactly as the server's do. Target: HTTP >= 0.6x
the service at the same concurrency, p99 <= 100 ms at 16 connections.

Group commit (``domain/service/batching.py``): the same bookings with ``LEDGER_GROUP_COMMIT``
off (each commits alone: the baseline) and on, through the service and over HTTP, at 8 and 32
clients.

Usage: batches of 5,000 per-hour records: raw psycopg ``COPY`` of the same rows (the floor a
user could build instead: no checks, no events), ``Ledger.record_usage`` in-process, and
``POST /v1/usage`` end to end (request bodies encoded before the clock starts; one connection,
as a meter sends its batches). Target: >= 15,000 records/s over HTTP.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench import api_load
from bench.common import drop_url, fresh_url, median_rate
from bench.reservations import service_rate
from bench.usage import HOURS, _raw_rate
from bench.usage import service_rate as usage_service_rate

USAGE_START = datetime(datetime.now(UTC).year - 1, 1, 1, tzinfo=UTC)  # metered hours must have passed


def _http_reservations(url: str, tmpdir: str, seconds: float, runs: int, connections_list: tuple[int, ...] = (1, 16),
                       group_commit: bool = True, workers: int = 1) -> dict[int, dict[str, Any]]:
    store = fresh_url(url, tmpdir)
    proc, base, seed = api_load.seeded_server(store, tmpdir, env={"LEDGER_GROUP_COMMIT": str(group_commit).lower()},
                                              workers=workers)
    try:
        headers = {"Authorization": f"Bearer {seed['tenant']}", "Content-Type": "application/json"}
        booked = api_load.START.replace(month=3)
        body = json.dumps({"site_id": seed["site"], "model": api_load.MODEL, "gpus": 1, "start": booked.isoformat(),
                           "end": (booked + timedelta(hours=1)).isoformat()})
        results = {}
        for connections in connections_list:
            def work(connections: int = connections) -> dict[str, float]:
                began = api_load.serving_cpu_seconds(proc.pid)
                result = api_load.load(f"{base}/v1/reservations", method="POST", headers=headers, body=body,
                                       seconds=seconds, concurrency=connections, vary_key=True, tmpdir=tmpdir)
                ended = api_load.serving_cpu_seconds(proc.pid)
                if began is not None and ended is not None and result["rate_per_s"]:
                    # The CPU of the processes answering requests (the server, or its workers):
                    # not the projection follower's, a process of its own.
                    result["cpu_ms"] = 1000 * (ended - began) / (result["rate_per_s"] * seconds)
                return result
            results[connections] = api_load.median_run(runs, work)
        return results
    finally:
        api_load.stop(proc)
        drop_url(store)


def _usage_bodies(reservations: list[str], batches: int, batch: int) -> list[bytes]:
    bodies = []
    for b in range(batches):
        offset = b * (batch // len(reservations))
        bodies.append(json.dumps({"records": [
            {"record_id": str(uuid.uuid4()), "reservation_id": reservations[i % len(reservations)],
             "hour": (USAGE_START + timedelta(hours=offset + i // len(reservations))).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "gpu_hours": "0.875"} for i in range(batch)]}).encode())
    return bodies


def _http_usage(url: str, tmpdir: str, batch: int, runs: int) -> float:
    store = fresh_url(url, tmpdir)
    proc, base, seed = api_load.seeded_server(store, tmpdir)
    try:
        operator = api_load.issue(store, "operator")
        meter = {"Authorization": f"Bearer {api_load.issue(store, 'meter')}", "Content-Type": "application/json"}
        with httpx.Client(base_url=base, timeout=120) as client:
            tenant = seed["tenant_id"]
            reservations = []
            for _ in range(50):
                response = client.post("/v1/reservations", headers={"Authorization": f"Bearer {operator}"}, json={
                    "tenant_id": tenant, "site_id": seed["site"], "model": api_load.MODEL, "gpus": 1,
                    "start": USAGE_START.isoformat(), "end": (USAGE_START + timedelta(hours=HOURS)).isoformat(),
                    "backfill": True})
                response.raise_for_status()
                reservations.append(response.json()["id"])
            bodies = iter(_usage_bodies(reservations, runs + 1, batch))

            def post() -> int:
                response = client.post("/v1/usage", headers=meter, content=next(bodies))
                response.raise_for_status()
                assert response.json()["recorded"] == batch, response.text
                return batch

            post()  # warm-up: first use of each reservation
            rate, _ = median_rate(runs, post)
            return rate
    finally:
        api_load.stop(proc)
        drop_url(store)


def _service_usage(url: str, tmpdir: str, batch: int, runs: int) -> float:
    store = fresh_url(url, tmpdir)
    try:
        return usage_service_rate(store, batch, runs, warm_up=True)  # warmed up, as for HTTP
    finally:
        drop_url(store)


GROUP_CLIENTS = (8, 32)


def _group_commit_rows(url: str, tmpdir: str, n: int, runs: int, seconds: float) -> list[dict[str, Any]]:
    """Group commit's gain: the same bookings with it off (the baseline: each commits alone) and
    on, through the service and over HTTP, at 8 and 32 clients."""
    rows: list[dict[str, Any]] = []
    service = {(on, c): service_rate(url, tmpdir, n, runs, c, group_commit=on) for on in (False, True)
               for c in GROUP_CLIENTS}
    http = {on: _http_reservations(url, tmpdir, seconds, runs, GROUP_CLIENTS, group_commit=on) for on in (False, True)}
    for clients in GROUP_CLIENTS:
        off, on = service[(False, clients)], service[(True, clients)]
        rows.append({"benchmark": "write", "case": f"group commit off, service, {clients} threads (baseline)",
                     "rate_per_s": off, "ratio": 1.0, "load": api_load.loadavg()})
        rows.append({"benchmark": "write", "case": f"group commit on, service, {clients} threads",
                     "rate_per_s": on, "ratio": on / off, "load": api_load.loadavg()})
        off_http, on_http = http[False][clients], http[True][clients]
        rows.append({"benchmark": "write", "case": f"group commit off, POST /v1/reservations, {clients} conns "
                     "(baseline)", **off_http, "ratio": 1.0, "load": api_load.loadavg()})
        rows.append({"benchmark": "write", "case": f"group commit on, POST /v1/reservations, {clients} conns",
                     **on_http, "ratio": on_http["rate_per_s"] / off_http["rate_per_s"], "load": api_load.loadavg()})
    return rows


def run(url: str, tmpdir: str, quick: bool = False) -> list[dict[str, Any]]:
    if not url.startswith("postgres"):
        return []  # PostgreSQL figures only (the production store)
    n, runs, seconds = (200, 1, 3) if quick else (800, 3, 6)
    load = api_load.loadavg
    rows: list[dict[str, Any]] = []
    cpu: dict[int, list[float]] = {1: [], 16: []}
    service = {clients: service_rate(url, tmpdir, n, runs, clients, cpu_ms=cpu[clients]) for clients in (1, 16)}
    http = _http_reservations(url, tmpdir, seconds, runs)
    for clients in (1, 16):
        # CPU per booking, side by side: with the server's GIL the bound at 16 connections, the
        # ratio of the two is about the most the HTTP rate can be of the service's.
        rows.append({"benchmark": "write", "case": f"service confirm_reservation, {clients} thread(s) (baseline)",
                     "rate_per_s": service[clients], "ratio": 1.0, "cpu_ms": statistics.median(cpu[clients]),
                     "load": load()})
        result = http[clients]
        ratio = result["rate_per_s"] / service[clients]
        target = ">= 0.6x service" + (", p99 <= 100 ms" if clients == 16 else "")
        met = ratio >= 0.6 and (clients == 1 or result["p99_ms"] <= 100)
        rows.append({"benchmark": "write", "case": f"POST /v1/reservations (Idempotency-Key), {clients} conn(s)",
                     **result, "ratio": ratio, "target": target, "met": met, "load": load()})
    # The same 16 connections on `ledger serve --workers 2` (two processes accepting on the one
    # socket): no target of its own, it shows what a second process buys on this machine.
    workers = _http_reservations(url, tmpdir, seconds, runs, (16,), workers=2)[16]
    rows.append({"benchmark": "write", "case": "POST /v1/reservations (Idempotency-Key), 16 conn(s), --workers 2",
                 **workers, "ratio": workers["rate_per_s"] / service[16], "load": load()})
    rows += _group_commit_rows(url, tmpdir, n, runs, seconds)
    batch = 1000 if quick else 5000
    usage_runs = runs + 1  # plus one warm-up batch: 5 batches of 100 hours fill the 500-hour windows
    raw = _raw_rate(fresh_url(url, tmpdir), batch, usage_runs)
    service_usage = _service_usage(url, tmpdir, batch, usage_runs)
    http_usage = _http_usage(url, tmpdir, batch, usage_runs)
    rows += [
        {"benchmark": "write", "case": f"usage: raw COPY of {batch} rows (baseline)", "rate_per_s": raw, "ratio": 1.0},
        {"benchmark": "write", "case": f"usage: service record_usage, batches of {batch}", "rate_per_s": service_usage,
         "ratio": service_usage / raw},
        {"benchmark": "write", "case": f"usage: POST /v1/usage, batches of {batch}", "rate_per_s": http_usage,
         "ratio": http_usage / raw, "vs_service": http_usage / service_usage, "target": ">= 15,000 records/s",
         "met": http_usage >= 15_000},
    ]
    return rows


def main() -> int:
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench.write_path")
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        began = time.time()
        for row in run(args.db, tmpdir, quick=args.quick):
            extra = (f" p50 {row['p50_ms']:.1f} ms p99 {row['p99_ms']:.1f} ms" if "p99_ms" in row else "")
            extra += f" CPU {row['cpu_ms']:.2f} ms each" if "cpu_ms" in row else ""
            print(f"{row['case']:<62} {row['rate_per_s']:10.1f}/s  x{row['ratio']:.3f}{extra}"
                  f"  {row.get('target', '')} {'' if 'met' not in row else ('MET' if row['met'] else 'MISSED')}"
                  f"  load {row.get('load', api_load.loadavg())}", flush=True)
        print(f"({time.time() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
