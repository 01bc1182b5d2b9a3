"""Database outage: the API's PostgreSQL server (a throwaway one) is stopped under load and
started again, without touching the API process.

- requests during the outage fail fast: 503 problem+json ``database-unavailable`` with
  ``Retry-After``, none slower than LEDGER_DB_TIMEOUT_SECONDS plus a margin; no other 5xx;
- the server recovers by itself (same process): writes and reads succeed again;
- every acknowledged write is in the log; writes refused during the outage are not;
- the projections (followed in the API process) resume: they reach the head, each funding
  round is in the capex projection exactly once, and every projection equals a clean rebuild.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from access.tokens import Role, create_token
from bootstrap import open_api_store, open_projections
from projections import PROJECTION_NAMES
from tests.reliability.process import LedgerServer, log_head, logged
from tests.reliability.throwaway_postgres import ThrowawayPostgres

TIMEOUT = 2.0  # LEDGER_DB_TIMEOUT_SECONDS for the API under test
MARGIN = 3.0  # scheduling slack on a shared 2-core machine
WRITERS = 4


@dataclass
class Call:
    kind: str
    name: str
    started: float
    ended: float
    status: int  # 0: no response
    body: Any
    retry_after: str | None


@pytest.mark.postgres
@pytest.mark.slow  # starts its own PostgreSQL server and `ledger serve`
def test_a_database_outage_fails_fast_with_503_and_recovers_by_itself() -> None:
    try:
        pg = ThrowawayPostgres()
    except RuntimeError as error:
        pytest.skip(f"no throwaway PostgreSQL server: {error}")
    try:
        pg.start()
        store = open_api_store(pg.url)
        token = create_token(store, Role.operator)
        auditor = create_token(store, Role.auditor)
        store.close()
        server = LedgerServer(pg.url, projector=True, env={"LEDGER_DB_TIMEOUT_SECONDS": str(TIMEOUT)})
        server.start()
        calls: list[Call] = []
        lock = threading.Lock()
        stop = threading.Event()
        counter = itertools.count()

        def record(kind: str, name: str, started: float, response: httpx.Response | None) -> None:
            body = None
            if response is not None and response.headers.get("content-type", "").startswith("application/"):
                body = response.json()
            with lock:
                calls.append(Call(kind, name, started, time.monotonic(), response.status_code if response else 0,
                                  body, response.headers.get("retry-after") if response else None))

        def writer() -> None:
            with httpx.Client(base_url=server.base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as c:
                while not stop.is_set():
                    name = f"round-{next(counter)}"
                    started = time.monotonic()
                    try:
                        response = c.post("/v1/funding-rounds", json={"name": name, "currency": "USD",
                                                                      "opened_at": "2025-01-01T00:00:00Z"})
                    except httpx.TransportError:
                        response = None
                    record("write", name, started, response)
                    time.sleep(0.02)

        def reader() -> None:
            with httpx.Client(base_url=server.base, timeout=60, headers={"Authorization": f"Bearer {auditor}"}) as c:
                while not stop.is_set():
                    started = time.monotonic()
                    try:
                        response = c.get("/v1/reports/capex")
                    except httpx.TransportError:
                        response = None
                    record("read", "", started, response)
                    time.sleep(0.05)

        threads = [threading.Thread(target=writer) for _ in range(WRITERS)] + [threading.Thread(target=reader)]
        for t in threads:
            t.start()
        try:
            time.sleep(2.0)
            down_from = time.monotonic()
            pg.stop("fast")
            down = time.monotonic()
            time.sleep(TIMEOUT * 3)
            up_from = time.monotonic()
            pg.start()
            up = time.monotonic()
            recovered = None
            deadline = up + 60
            while time.monotonic() < deadline:
                time.sleep(0.2)
                with lock:
                    if any(c.kind == "write" and c.status == 201 and c.started > up for c in calls) and any(
                            c.kind == "read" and c.status == 200 and c.started > up for c in calls):
                        recovered = time.monotonic() - up
                        break
            time.sleep(1.0)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        assert server.process is not None and server.process.poll() is None, "the API process died"
        assert recovered is not None, "the API did not recover after the database came back"

        statuses = {c.status for c in calls}
        assert statuses <= {200, 201, 503}, sorted(statuses)
        during = [c for c in calls if c.started >= down and c.ended <= up_from]
        assert len(during) >= 10, "no load during the outage"
        for c in during:
            assert c.status == 503, (c.kind, c.status, c.body)
            assert c.body["type"].endswith("/database-unavailable") and c.body["status"] == 503
            assert c.retry_after is not None and int(c.retry_after) >= 1
        slowest = max(c.ended - c.started for c in calls)
        assert slowest <= TIMEOUT + MARGIN, f"a request hung for {slowest:.1f}s"
        assert not any(c.status == 0 for c in calls), "a request got no response"

        # Nothing lost, nothing refused recorded, projections resumed exactly once.
        rounds = {state["name"]: ident for _, ident, state in logged(pg.url, "ledger:FundingRound.Opened")}
        acked = {c.name for c in calls if c.kind == "write" and c.status == 201}
        refused_during = {c.name for c in during if c.kind == "write"}
        assert acked <= set(rounds)
        assert not refused_during & set(rounds)
        projections = open_projections(pg.url)
        try:
            assert projections.wait_for(log_head(pg.url), timeout=30, assist=False), "projections did not resume"
            capex_rounds = [r["round_id"] for r in projections.capex()["rounds"]]
            assert sorted(capex_rounds) == sorted(rounds.values())  # each exactly once
            for name in PROJECTION_NAMES:
                assert projections.verify(name).ok, name
        finally:
            projections.close()
        server.stop()
        print(f"outage: {len(calls)} requests, {len(during)} during a {up_from - down_from:.1f}s outage (all 503 "
              f"database-unavailable with Retry-After), slowest {slowest:.2f}s "
              f"(LEDGER_DB_TIMEOUT_SECONDS={TIMEOUT}), recovered "
              f"{recovered:.1f}s after restart, {len(acked)} acknowledged rounds in the log and projected once")
    finally:
        pg.remove()



def test_database_errors_map_to_503_and_other_errors_stay_500(sqlite_api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a server to stop: each database error class a request can meet is answered 503
    database-unavailable with Retry-After; a SQLite error that is a bug stays a logged 500."""
    import sqlite3

    import psycopg
    from eventsourcing.persistence import ConnectionUnavailableError, OperationalError
    from psycopg_pool import PoolTimeout

    ledger = sqlite_api.client.app.state.services.ledger
    body = {"name": "R", "currency": "USD", "opened_at": "2025-01-01T00:00:00Z"}
    headers = {"Authorization": f"Bearer {sqlite_api.operator}"}
    unavailable = [OperationalError("server closed the connection"), ConnectionUnavailableError("no connection"),
                   PoolTimeout("couldn't get a connection after 2.00 sec"), psycopg.InterfaceError("closed"),
                   sqlite3.OperationalError("database is locked")]
    for error in unavailable:
        def fail(*args: Any, error: Exception = error, **kwargs: Any) -> Any:
            raise error
        monkeypatch.setattr(ledger, "open_funding_round", fail)
        response = sqlite_api.client.post("/v1/funding-rounds", headers=headers, json=body)
        assert response.status_code == 503, (error, response.text)
        assert response.json()["type"].endswith("/database-unavailable")
        assert response.headers["retry-after"] == "2"

    def bug(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("no such table: stored_events")
    monkeypatch.setattr(ledger, "open_funding_round", bug)
    response = sqlite_api.client.post("/v1/funding-rounds", headers=headers, json=body)
    assert response.status_code == 500 and response.json()["type"].endswith("/internal-error")
