"""A PostgreSQL statement_timeout bounds every query an API process runs for a request
(LEDGER_STATEMENT_TIMEOUT_SECONDS): the event store's pool, the API store's pool and the shared
read connections all carry it; a runaway query is cancelled and answered 503 deadline-exceeded
with Retry-After, and the process goes on serving (on the same read connections)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

import projections
from access.issuing import issue_token
from bootstrap import init_store, open_services
from tests.e2e.conftest import ServerThread, settings_for
from tests.e2e.scenario import bearer

PROBLEM = "application/problem+json"


@pytest.mark.postgres
@pytest.mark.parametrize(("seconds", "shown"), [(0.25, "250ms"), (0.0, "0")])
def test_every_connection_of_the_api_carries_the_timeout(postgres_url: str, seconds: float, shown: str) -> None:
    services = open_services(settings_for(postgres_url, statement_timeout_seconds=seconds))
    try:
        pool = services.ledger.recorder.datastore.pool  # type: ignore[attr-defined]
        with pool.connection() as conn:
            assert conn.execute("SHOW statement_timeout").fetchone()["statement_timeout"] == shown
        with services.store.transaction() as tx:
            assert tx.one("SHOW statement_timeout") == (shown,)
        with services.readside.pool.lease() as reads:
            assert reads.db.fetchone("SHOW statement_timeout") == (shown,)
    finally:
        services.close()


@pytest.mark.postgres
@pytest.mark.slow  # a uvicorn server
def test_a_runaway_report_query_is_cancelled_and_answered_503(postgres_url: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    init_store(postgres_url)
    token, _ = issue_token(postgres_url, "operator")
    original = projections.Projections.report_at

    def runaway(self: projections.Projections, name: str, filters: Any = None) -> Any:
        self.db.execute("SELECT pg_sleep(5)")  # on the read connection, like a report gone wrong
        return original(self, name, filters)

    with ServerThread(postgres_url, statement_timeout_seconds=0.3, read_connections=1) as base, \
            httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/v1/reports/capex", headers=bearer(token)).status_code == 200
        monkeypatch.setattr(projections.Projections, "report_at", runaway)
        for _ in range(2):  # the one read connection survives a cancelled query, twice
            started = time.monotonic()
            response = client.get("/v1/reports/capex", headers=bearer(token))
            elapsed = time.monotonic() - started
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith(PROBLEM)
            assert response.json()["type"].endswith("/deadline-exceeded"), response.json()
            assert int(response.headers["retry-after"]) > 0
            assert elapsed < 3, f"answered after {elapsed:.1f} s: the query was not cancelled"
            print(f"runaway report answered 503 after {elapsed * 1000:.0f} ms")
        monkeypatch.undo()
        assert client.get("/health").status_code == 200
        assert client.get("/v1/reports/capex", headers=bearer(token)).status_code == 200
