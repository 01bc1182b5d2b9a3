"""An over-wide report request is refused at once, and the server's memory does not grow.

Before the reports were bounded, one authenticated utilisation GET over decades at hourly
granularity grew the server to gigabytes and killed it. Now every range beyond its report's
bound is a 422 naming the field, decided before any work."""

from __future__ import annotations

import time

import httpx
import pytest

from access.tokens import Role, create_token
from bootstrap import init_store, open_api_store
from tests.reliability.process import LedgerServer

pytestmark = pytest.mark.slow  # runs `ledger serve` as a child process

WIDE = [
    {"from": "1800-01-01T00:00:00Z", "to": "1900-01-01T00:00:00Z", "granularity": "hour"},
    {"from": "0001-02-01T00:00:00Z", "to": "9999-10-01T00:00:00Z", "granularity": "hour"},
    {"from": "1900-01", "to": "2100-12", "granularity": "day"},
    {"from": "1900-01", "to": "2100-12", "granularity": "month"},
]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_over_wide_report_requests_are_refused_quickly_without_growing_the_server(sqlite_url: str) -> None:
    init_store(sqlite_url)  # `ledger init`: serve refuses a file that holds no ledger
    store = open_api_store(sqlite_url)
    try:
        token = create_token(store, Role.finance)
    finally:
        store.close()
    server = LedgerServer(sqlite_url)
    server.start()
    try:
        assert server.process is not None
        with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            assert c.get("/v1/reports/utilisation", params={"granularity": "day"}).status_code == 200  # warm up
            before = rss_kib(server.process.pid)
            for _ in range(5):
                for params in WIDE:
                    began = time.monotonic()
                    response = c.get("/v1/reports/utilisation", params=params)
                    assert time.monotonic() - began < 2.0, params
                    assert response.status_code == 422, (params, response.text)
                    assert response.json()["field"] == "to"
            grown = rss_kib(server.process.pid) - before
        assert server.process.poll() is None
        assert grown < 20 * 1024, f"the server grew by {grown} KiB answering refusals"
    finally:
        server.stop()
