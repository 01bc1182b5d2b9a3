"""Overbooking attack: 32 concurrent HTTP clients race for the last GPUs of a pool over real
uvicorn servers on PostgreSQL.

Two API servers (each with its own Ledger, so the in-process per-pool lock does not serialise
them: across servers only optimistic concurrency on the pool aggregate protects it) share one
database; 16 client threads talk to each. Checked against the pool aggregate itself:

- round 1: 10 GPUs free in a window, 32 clients want 1 each at the same instant: exactly 10
  confirmations (201), 22 problem+json 409 insufficient-capacity, nothing else;
- round 2: 32 clients x 6 requests with random sizes and overlapping windows: for every hour
  booked <= in service, and the pool's booked GPUs equal the sum of the confirmed reservations
  (nothing lost, nothing phantom).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bootstrap import open_ledger
from domain.timeutil import hour_index
from tests.e2e.conftest import Api, ServerThread
from tests.e2e.scenario import MODEL, bearer, build_capacity, ok, register_tenant

UTC = UTC
CLIENTS = 32
GPUS = 40
WINDOW = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC))


def race(bases: list[str], tokens: list[str], bodies: list[list[dict[str, Any]]]) -> list[list[httpx.Response]]:
    """Client i sends bodies[i] one after another; all clients start at the same instant."""
    barrier = threading.Barrier(len(bodies))
    results: list[list[httpx.Response]] = [[] for _ in bodies]
    errors: list[BaseException] = []

    def client(i: int) -> None:
        try:
            with httpx.Client(base_url=bases[i % len(bases)], timeout=60) as http:
                http.get("/v1/reports/capex", headers=bearer(tokens[i]))  # connect before the start
                barrier.wait(timeout=60)
                for body in bodies[i]:
                    results[i].append(http.post("/v1/reservations", headers=bearer(tokens[i]), json=body))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    return results


def outcome(response: httpx.Response) -> str:
    if response.status_code == 201:
        return "confirmed"
    assert response.status_code == 409, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()["type"].rsplit("/", 1)[-1]


@pytest.mark.postgres
def test_32_clients_never_overbook_the_last_gpus(postgres_api: Api) -> None:
    c, op = postgres_api.client, postgres_api.operator
    site = build_capacity(c, op, gpus=GPUS)["site"]["id"]
    tenants = [register_tenant(c, op, f"Racer {i}")["id"] for i in range(4)]
    tokens = [postgres_api.tenant_token(t) for t in tenants]
    start, end = (w.isoformat() for w in WINDOW)
    ok(c.post("/v1/reservations", headers=bearer(op), json={"tenant_id": tenants[0], "site_id": site, "model": MODEL,
                                                            "gpus": GPUS - 10, "start": start, "end": end}))
    one = {"site_id": site, "model": MODEL, "gpus": 1, "start": start, "end": end}

    with ExitStack() as stack:
        second = stack.enter_context(ServerThread(postgres_api.url, run_projector=False))
        bases = [str(c.base_url).rstrip("/"), second]
        clients_tokens = [tokens[i % len(tokens)] for i in range(CLIENTS)]

        # Round 1: the last 10 GPUs, 32 takers.
        results = race(bases, clients_tokens, [[one] for _ in range(CLIENTS)])
        counts = Counter(outcome(r) for rs in results for r in rs)
        assert counts == {"confirmed": 10, "insufficient-capacity": CLIENTS - 10}, counts

        # Round 2: random sizes and overlapping windows in the following week.
        rng = random.Random(8)
        base = WINDOW[1]
        bodies = []
        for _ in range(CLIENTS):
            mine = []
            for _ in range(6):
                first = rng.randrange(0, 72)
                mine.append({"site_id": site, "model": MODEL, "gpus": rng.randint(1, 6),
                             "start": (base + timedelta(hours=first)).isoformat(),
                             "end": (base + timedelta(hours=first + rng.randint(1, 24))).isoformat()})
            bodies.append(mine)
        results2 = race(bases, clients_tokens, bodies)
    counts2 = Counter(outcome(r) for rs in results2 for r in rs)
    assert set(counts2) <= {"confirmed", "insufficient-capacity"}, counts2
    assert counts2["confirmed"] > 0 and counts2["insufficient-capacity"] > 0, counts2

    ledger = open_ledger(postgres_api.url)  # a fresh process view: no cache shared with the servers
    try:
        pool = ledger.get_pool(site, MODEL)
        confirmed = [r.json() for rs in results + results2 for r in rs if r.status_code == 201]
        expected: Counter[int] = Counter()
        for hour in range(hour_index(WINDOW[0]), hour_index(WINDOW[1])):
            expected[hour] += GPUS - 10
        for r in confirmed:
            assert ledger.get_reservation(r["id"]).status == "confirmed"
            start_h = hour_index(datetime.fromisoformat(r["start"]))
            end_h = hour_index(datetime.fromisoformat(r["end"]))
            for hour in range(start_h, end_h):
                expected[hour] += r["gpus"]
        booked = {h: n for h, n in pool.booked.items() if n}
        assert booked == dict(expected), "the pool's bookings differ from the confirmations"
        for hour, n in booked.items():
            assert n <= pool.in_service_at(hour), f"overbooked at hour {hour}: {n} > {pool.in_service_at(hour)}"
        assert booked[hour_index(WINDOW[0])] == GPUS  # round 1 filled the window exactly
        full_hours = sum(1 for h, n in booked.items() if n == GPUS)
    finally:
        ledger.close()
    print(f"overbooking: {CLIENTS} + {CLIENTS * 6} requests; round 1 {dict(counts)}; round 2 {dict(counts2)}; "
          f"{full_hours} hours booked to the last GPU, none over")
