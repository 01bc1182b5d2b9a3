"""`ledger serve --workers N` (PostgreSQL): N worker processes on one socket, one projection
follower, a worker that dies replaced, /metrics adding up every worker's series (those of dead
workers included), one session key for the dashboard, an idempotency key honoured across
workers, and nothing left behind when the server stops."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from access.tokens import Role, create_token
from bootstrap import open_api_store
from server.names import FOLLOWER_NAME, WORKER_NAME
from tests.e2e.scenario import MODEL, bearer, build_capacity, register_tenant
from tests.e2e.test_observability import scrape, value
from tests.e2e.test_ui import csrf_of
from tests.reliability.process import LedgerServer, logged
from tests.reliability.test_projector_process import alive, children, wait_until, written_and_projected

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # runs `ledger serve --workers` as a child process

WORKERS = 2


def named(pid: int) -> dict[str, set[int]]:
    """The server's children by the name the kernel shows (``ledger-worker``, ``ledger-follower``)."""
    found: dict[str, set[int]] = {}
    for child in children(pid):
        try:
            found.setdefault(Path(f"/proc/{child}/comm").read_text().strip(), set()).add(child)
        except OSError:
            continue
    return found


def served(server: LedgerServer) -> dict[str, set[int]]:
    assert server.process is not None
    return named(server.process.pid)


@pytest.fixture
def workers(postgres_url: str) -> LedgerServer:
    server = LedgerServer(postgres_url, args=("--workers", str(WORKERS)))
    try:
        server.start()
        wait_until(lambda: len(served(server).get(WORKER_NAME, ())) == WORKERS)
        yield server  # type: ignore[misc]
    finally:
        server.stop()


def test_workers_and_one_follower_answer_and_a_dead_worker_is_replaced_its_counts_kept(
        workers: LedgerServer, postgres_url: str) -> None:
    store = open_api_store(postgres_url)
    try:
        operator, finance = create_token(store, Role.operator), create_token(store, Role.finance)
    finally:
        store.close()
    processes = served(workers)
    assert len(processes[FOLLOWER_NAME]) == 1 and len(processes[WORKER_NAME]) == WORKERS
    with httpx.Client(base_url=workers.base, timeout=30) as client:
        written_and_projected(client, operator, finance)  # the parent's follower projects the workers' writes
    asked = 24
    for _ in range(asked):  # a connection each: the workers take turns accepting
        assert httpx.get(workers.base + "/health", timeout=10).status_code == 200

    first = processes[WORKER_NAME]
    for pid in first:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: len(served(workers).get(WORKER_NAME, set()) - first) == WORKERS, seconds=30)
    wait_until(lambda: httpx.get(workers.base + "/health", timeout=10).status_code == 200)
    # Every worker that answered those requests is dead; their counts are still there.
    with httpx.Client(base_url=workers.base, timeout=10) as client:
        counted = value(scrape(client), "ledger_http_requests_total", method="GET", route="/health", status="200")
    assert counted >= asked + 1
    assert served(workers)[FOLLOWER_NAME] == processes[FOLLOWER_NAME]  # the follower was not touched


def test_one_key_sent_to_every_worker_at_once_books_once(workers: LedgerServer, postgres_url: str) -> None:
    store = open_api_store(postgres_url)
    try:
        operator = create_token(store, Role.operator)
        with httpx.Client(base_url=workers.base, timeout=30) as client:
            site = build_capacity(client, operator, gpus=8)["site"]["id"]
            tenant = register_tenant(client, operator)["id"]
        token = create_token(store, Role.tenant, tenant_id=tenant)  # type: ignore[arg-type]
    finally:
        store.close()
    body = {"site_id": site, "model": MODEL, "gpus": 8, "start": "2030-03-01T00:00:00Z", "end": "2030-03-02T00:00:00Z"}

    def send(_: int) -> httpx.Response:  # a connection each, so that both workers take some
        return httpx.post(workers.base + "/v1/reservations", headers=bearer(token, "same-key-on-every-worker"),
                          json=body, timeout=30)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(send, range(12)))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers if a.status_code != 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert [ident for _, ident, _ in logged(postgres_url, "ledger:Reservation.Confirmed")] == [answers[0].json()["id"]]


def test_a_dashboard_session_is_honoured_by_every_worker(workers: LedgerServer, postgres_url: str) -> None:
    store = open_api_store(postgres_url)
    try:
        finance = create_token(store, Role.finance)
    finally:
        store.close()
    with httpx.Client(base_url=workers.base, timeout=30) as client:
        form = client.get("/ui/login")
        signed = client.post("/ui/login", data={"token": finance, "csrf": csrf_of(form.text)}, follow_redirects=False)
        assert signed.status_code == 303, signed.text
        cookies, home = dict(client.cookies), signed.headers["location"]
    assert home.startswith("/ui/") and home != "/ui/login"
    for _ in range(12):  # a connection each: a worker with a key of its own would send us to sign in
        page = httpx.get(workers.base + home, cookies=cookies, follow_redirects=False, timeout=30)
        assert page.status_code == 200, page.headers.get("location")


def test_the_server_stops_its_workers_and_follower_and_removes_the_metrics(workers: LedgerServer) -> None:
    processes = served(workers)
    everyone = set().union(*processes.values())
    (worker, *_) = processes[WORKER_NAME]
    variables = Path(f"/proc/{worker}/environ").read_text().split("\0")
    environment = dict(line.split("=", 1) for line in variables if "=" in line)
    shared = Path(environment["PROMETHEUS_MULTIPROC_DIR"])
    assert shared.is_dir() and any(shared.glob("counter_*.db"))
    assert workers.process is not None
    workers.process.send_signal(signal.SIGTERM)
    assert workers.process.wait(timeout=30) == -signal.SIGTERM  # exit 143, as one process's server
    wait_until(lambda: not any(alive(pid) for pid in everyone), seconds=10)
    assert not shared.exists()
