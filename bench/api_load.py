"""Load test of the HTTP API on PostgreSQL: `python -m bench.api_load [--db URL] [--requests N]`.

Starts `ledger serve` in a subprocess on a fresh schema (projection runner in-process, the
default), seeds capacity over HTTP, then drives 16 concurrent connections (httpx) at
POST /v1/reservations (1 GPU for one hour each, spread over --pools sites) and at
GET /v1/reports/utilisation, and prints requests/s with p50/p99 latency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from bench.common import percentile
from tests.e2e.scenario import MODEL, bearer, build_capacity, register_tenant

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def issue(url: str, role: str, tenant: str | None = None) -> str:
    from api.store import ApiStore
    from api.tokens import Role, create_token

    store = ApiStore.open(url)
    try:
        return create_token(store, Role(role), uuid.UUID(tenant) if tenant else None)
    finally:
        store.close()


async def drive(base: str, concurrency: int, total: int, request: Any) -> tuple[float, list[float], int]:
    """``total`` requests over ``concurrency`` connections; (seconds, latencies, non-2xx count)."""
    latencies: list[float] = []
    failures = 0
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        async def worker() -> None:
            nonlocal failures
            for i in counter:
                began = time.perf_counter()
                response = await request(client, i)
                latencies.append(time.perf_counter() - began)
                failures += response.status_code >= 300
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, failures


def report(name: str, seconds: float, latencies: list[float], failures: int) -> None:
    print(f"{name:<34} {len(latencies) / seconds:8.1f} req/s   p50 {percentile(latencies, 0.5) * 1000:7.1f} ms"
          f"   p99 {percentile(latencies, 0.99) * 1000:7.1f} ms   non-2xx {failures}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_load")
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pools", type=int, default=1, help="spread bookings over this many sites")
    args = parser.parse_args()
    import psycopg

    schema = f"bench_api_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.db, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{args.db}{'&' if '?' in args.db else '?'}schema={schema}"
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", "from api.cli import app; app()", "serve", "--db", url,
                               "--port", str(port), "--log-level", "warning"], env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        began = time.perf_counter()
        while True:
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.perf_counter() - began > 30:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.05)
        print(f"ledger serve answered after {time.perf_counter() - began:.2f} s")
        operator = issue(url, "operator")
        with httpx.Client(base_url=base, timeout=60) as client:
            sites = [build_capacity(client, operator, gpus=args.requests)["site"]["id"] for _ in range(args.pools)]
            tenant = register_tenant(client, operator)
        token = issue(url, "tenant", tenant["id"])
        finance = issue(url, "finance")

        async def book(client: httpx.AsyncClient, i: int) -> httpx.Response:
            start = START + timedelta(hours=i // args.pools)
            return await client.post("/v1/reservations", headers=bearer(token, f"bench-{i}"), json={
                "site_id": sites[i % args.pools], "model": MODEL, "gpus": 1,
                "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()})

        async def read(client: httpx.AsyncClient, i: int) -> httpx.Response:
            return await client.get("/v1/reports/utilisation", headers=bearer(finance),
                                    params={"site_id": sites[i % args.pools], "granularity": "day"})

        print(f"PostgreSQL, {args.concurrency} connections, {args.requests} requests, {args.pools} pool(s)")
        report("POST /v1/reservations", *asyncio.run(drive(base, args.concurrency, args.requests, book)))
        report("GET /v1/reports/utilisation", *asyncio.run(drive(base, args.concurrency, args.requests, read)))
    finally:
        server.terminate()
        server.wait(timeout=20)
        with psycopg.connect(args.db, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
