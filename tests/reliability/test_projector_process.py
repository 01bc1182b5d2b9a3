"""`ledger serve` on PostgreSQL follows the log in a child process: restarted when it dies,
gone when its server is gone (a SIGKILLed server leaves no follower writing behind it)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from access.tokens import Role, create_token
from bootstrap import open_api_store
from tests.e2e.scenario import T0, bearer
from tests.reliability.process import LedgerServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # runs `ledger serve` as a child process


def children(pid: int) -> set[int]:
    """The processes ``pid`` spawned with multiprocessing (not its resource tracker)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":  # after the state: the parent's pid
            try:
                command = (stat.parent / "cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in command:
                found.add(int(stat.parent.name))
    return found


def wait_until(condition: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def written_and_projected(client: httpx.Client, operator: str, finance: str) -> None:
    """A write, then a report that waits for the projections to reach it (the follower's work)."""
    response = client.post("/v1/sites", headers=bearer(operator), json={
        "name": f"Site {uuid4().hex[:6]}", "country": "GB", "grid_intensity_g_per_kwh": "225", "pue": "1.18",
        "carbon_free_share": "0.6", "effective_from": T0})
    assert response.status_code == 201, response.text
    report = client.get("/v1/reports/capex", headers=bearer(finance),
                        params={"min_position": response.headers["Ledger-Position"]})
    assert report.status_code == 200, report.text


def test_the_follower_is_a_child_restarted_when_it_dies_and_gone_with_its_server(postgres_url: str) -> None:
    store = open_api_store(postgres_url)
    server = LedgerServer(postgres_url)
    try:
        server.start()
        operator, finance = create_token(store, Role.operator), create_token(store, Role.finance)
        assert server.process is not None
        with httpx.Client(base_url=server.base, timeout=30) as client:
            wait_until(lambda: len(children(server.process.pid)) == 1)  # type: ignore[union-attr]
            (first,) = children(server.process.pid)
            written_and_projected(client, operator, finance)

            os.kill(first, signal.SIGKILL)
            wait_until(lambda: children(server.process.pid) - {first})  # type: ignore[union-attr]
            (second,) = children(server.process.pid) - {first}
            written_and_projected(client, operator, finance)  # the new child follows on

        server.kill()
        wait_until(lambda: not alive(second), seconds=10)
    finally:
        server.stop()
        store.close()
