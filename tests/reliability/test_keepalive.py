"""An unexpected exception and a read past its deadline are ordinary answers on a real server:
problem+json (500 internal-error; 503 deadline-exceeded with Retry-After), and the keep-alive
connection they came on serves the next request. Writes are never cut short by the deadline.

A raw socket proves the connection is the same one (an HTTP client would quietly reconnect).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import api.routes.audit
from tests.e2e.conftest import Api, ServerThread
from tests.e2e.scenario import bearer

pytestmark = pytest.mark.slow  # uvicorn servers

DEADLINE = 0.5


class Connection:
    """One HTTP/1.1 keep-alive connection, requests written and responses read by hand."""

    def __init__(self, base: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.buffer = b""

    def request(self, method: str, path: str, token: str, body: bytes = b"") -> tuple[int, dict[str, str], Any]:
        head = (f"{method} {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        self.sock.sendall(head.encode() + body)
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        raw, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._read()
        content, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, json.loads(content) if content else None

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the keep-alive connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server(sqlite_url: str) -> Iterator[tuple[str, Api]]:
    with ServerThread(sqlite_url, request_deadline_seconds=DEADLINE) as base, \
            httpx.Client(base_url=base, timeout=30) as client:
        yield base, Api(client, sqlite_url)


def test_an_unexpected_exception_is_a_problem_and_keeps_the_connection(
        server: tuple[str, Api], monkeypatch: pytest.MonkeyPatch) -> None:
    base, api_ = server
    auditor = api_.tokens["auditor"]

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a bug")

    conn = Connection(base)
    try:
        status, _, _ = conn.request("GET", "/v1/audit/events", auditor)
        assert status == 200
        monkeypatch.setattr(api.routes.audit, "events_after", broken)
        for _ in range(5):  # the same connection, again and again
            status, headers, problem = conn.request("GET", "/v1/audit/events", auditor)
            assert status == 500
            assert headers["content-type"].startswith("application/problem+json")
            assert problem["type"].endswith("/internal-error") and problem["status"] == 500
            assert "a bug" not in json.dumps(problem)  # nothing internal leaks
            assert headers.get("connection", "").lower() != "close"
            status, _, _ = conn.request("GET", "/health", auditor)
            assert status == 200
        monkeypatch.undo()
        status, _, page = conn.request("GET", "/v1/audit/events", auditor)
        assert status == 200 and "items" in page
    finally:
        conn.close()

    # And through an ordinary client: no connection error, ever.
    monkeypatch.setattr(api.routes.audit, "events_after", broken)
    with httpx.Client(base_url=base, timeout=30) as client:
        statuses = [client.get(path, headers=bearer(auditor)).status_code
                    for _ in range(20) for path in ("/v1/audit/events", "/health")]
    assert statuses == [500, 200] * 20


def test_a_read_past_its_deadline_is_a_503_and_keeps_the_connection(
        server: tuple[str, Api], monkeypatch: pytest.MonkeyPatch) -> None:
    base, api_ = server
    auditor = api_.tokens["auditor"]
    original = api.routes.audit.events_after

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(DEADLINE * 4)
        return original(*args, **kwargs)

    monkeypatch.setattr(api.routes.audit, "events_after", slow)
    conn = Connection(base)
    try:
        for _ in range(3):
            began = time.monotonic()
            status, headers, problem = conn.request("GET", "/v1/audit/events", auditor)
            took = time.monotonic() - began
            assert status == 503, problem
            assert problem["type"].endswith("/deadline-exceeded"), problem
            assert int(headers["retry-after"]) >= 1
            assert DEADLINE <= took < DEADLINE + 1.0, took
            status, _, _ = conn.request("GET", "/health", auditor)  # the same connection serves on
            assert status == 200
    finally:
        conn.close()


def test_writes_are_not_cut_short_by_the_read_deadline(
        server: tuple[str, Api], monkeypatch: pytest.MonkeyPatch) -> None:
    from projections.audit import AuditChain

    base, api_ = server
    auditor = api_.tokens["auditor"]
    original = AuditChain.catch_up

    def slow(self: Any, *args: Any, **kwargs: Any) -> Any:
        time.sleep(DEADLINE * 3)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AuditChain, "catch_up", slow)
    conn = Connection(base)
    try:
        status, _, body = conn.request("POST", "/v1/audit/verify", auditor, b"{}")
        assert status == 200 and body["ok"] is True, body
    finally:
        conn.close()
