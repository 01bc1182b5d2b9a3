"""One API process stays within its documented PostgreSQL connection budget under 64 concurrent
clients (docs/operators.md, Connections per process): the ledger's pool (up to 10), the API store's
pool (up to ``storage.api_store.MAX_CONNECTIONS``), the shared read connections (``LEDGER_READ_CONNECTIONS``) and
the projection follower's 2.

The server is a `ledger serve` process whose database URL carries a unique ``application_name``
(libpq passes it to every connection, the event store's pool through ``PGAPPNAME``); a sampler
counts that name's rows in ``pg_stat_activity`` every few milliseconds while 64 clients send
640 report and tenant-list GETs.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest

from access.issuing import issue_token
from bootstrap import init_store
from storage.api_store import MAX_CONNECTIONS as API_STORE_CONNECTIONS
from tests.conftest import postgres_admin_url
from tests.e2e.scenario import bearer, build_capacity, ok, register_tenant, reserve
from tests.reliability.process import LedgerServer, log_head

pytestmark = pytest.mark.slow  # runs `ledger serve` as a child process

CLIENTS = 64
REQUESTS_PER_CLIENT = 10
READ_CONNECTIONS = 4
LEDGER_POOL = 10  # domain/storage.py: POSTGRES_POOL_SIZE 2 + POSTGRES_MAX_OVERFLOW 8
FOLLOWER = 2  # the projector's batch connection and its LISTEN connection
BUDGET = LEDGER_POOL + API_STORE_CONNECTIONS + READ_CONNECTIONS + FOLLOWER


class Sampler(threading.Thread):
    """The peak number of connections named ``name`` seen in pg_stat_activity."""

    def __init__(self, name: str) -> None:
        super().__init__(daemon=True)
        self.name = name
        self.peak = 0
        self.samples = 0
        self.stop = threading.Event()

    def count(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                           (self.name,)).fetchone()
        return int(row[0]) if row else 0

    def run(self) -> None:
        with psycopg.connect(postgres_admin_url(), autocommit=True) as conn:
            while not self.stop.is_set():
                self.peak = max(self.peak, self.count(conn))
                self.samples += 1
                time.sleep(0.002)


@pytest.mark.postgres
def test_one_process_holds_at_most_its_budget_under_64_clients(postgres_url: str) -> None:
    init_store(postgres_url)
    name = f"budget_{uuid4().hex[:10]}"
    tagged = f"{postgres_url}&application_name={name}"
    server = LedgerServer(tagged, env={"LEDGER_READ_CONNECTIONS": str(READ_CONNECTIONS)})
    for inherited in ("PGAPPNAME", "PGOPTIONS"):  # only the URL names this server's connections
        server.env.pop(inherited, None)
    operator, _ = issue_token(postgres_url, "operator")
    server.start()
    sampler = Sampler(name)
    try:
        with httpx.Client(base_url=server.base, timeout=30) as c:
            world = build_capacity(c, operator, gpus=16)
            tenant = register_tenant(c, operator)
            tenant_token, _ = issue_token(postgres_url, "tenant", tenant["id"])
            written = [reserve(c, tenant_token, world["site"]["id"], day=day) for day in range(1, 6)]
            assert all(w["id"] for w in written)
            # The projector has caught up (the reads below then do real work).
            ok(c.get("/v1/reports/billing", headers=bearer(operator), params={"min_position": log_head(postgres_url)}),
               200)
        paths = ["/v1/reports/capex", "/v1/reports/utilisation?granularity=day", "/v1/reports/billing",
                 "/v1/reports/billing_totals", "/v1/reports/sustainability", "/v1/reports/funding_rounds",
                 "/v1/reports/site_revenue", f"/v1/tenants/{tenant['id']}/reservations"]
        statuses: list[int] = []
        lock = threading.Lock()
        start = threading.Barrier(CLIENTS)

        def client(n: int) -> None:
            with httpx.Client(base_url=server.base, timeout=60) as c:
                start.wait()
                for i in range(REQUESTS_PER_CLIENT):
                    path = paths[(n + i) % len(paths)]
                    token = tenant_token if "/tenants/" in path else operator
                    status = c.get(path, headers=bearer(token)).status_code
                    with lock:
                        statuses.append(status)

        sampler.start()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        elapsed = time.monotonic() - started
        sampler.stop.set()
        sampler.join(timeout=10)
        print(f"{len(statuses)} GETs from {CLIENTS} clients in {elapsed:.1f} s; peak connections {sampler.peak} "
              f"(budget {BUDGET}, {sampler.samples} samples)")
        assert statuses.count(200) == CLIENTS * REQUESTS_PER_CLIENT, sorted(set(statuses))
        assert 0 < sampler.peak <= BUDGET
    finally:
        sampler.stop.set()
        server.stop()

