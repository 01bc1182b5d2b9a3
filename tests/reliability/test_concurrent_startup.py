"""Processes started at the same instant on a fresh PostgreSQL schema all come up.

Before table creation was serialised (an advisory lock keyed on the schema, storage/), two
`ledger serve` on a fresh database died with ``UniqueViolation ... pg_type_typname_nsp_index
(api_tokens)`` in 3 of 4 tries, and four processes opening a Ledger hit ``tuple concurrently
updated``. Here N processes open the API's services (ledger, projection and API tables) at one
instant, on a fresh schema each try; then four real `ledger serve` and two `ledger project`
processes do the same, ten times.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from tests.conftest import postgres_admin_url
from tests.e2e.conftest import free_port
from tests.postgres_server import schema_url, scratch_schema
from tests.reliability.startup_worker import open_services

pytestmark = pytest.mark.slow  # spawns `ledger` and multiprocessing processes

PROCESSES = 6
TRIES = 5


@pytest.fixture
def fresh_schemas() -> Iterator[list[str]]:
    """TRIES fresh schemas on the test server (dropped afterwards)."""
    admin = postgres_admin_url()
    urls: list[str] = []
    with ExitStack() as stack:
        for _ in range(TRIES):
            urls.append(schema_url(admin, stack.enter_context(scratch_schema(admin, prefix="start_"))))
        yield urls


@pytest.mark.postgres
def test_processes_opening_services_at_once_all_succeed(fresh_schemas: list[str]) -> None:
    context = multiprocessing.get_context("spawn")
    failures: list[str] = []
    for url in fresh_schemas:
        results = context.Queue()
        # Spawned interpreters need a moment to import; the barrier lets them all go at once when
        # the last one is ready (rather than at an instant guessed to be late enough).
        ready = context.Barrier(PROCESSES)
        workers = [context.Process(target=open_services, args=(url, ready, results)) for _ in range(PROCESSES)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=90)
        outcomes = [results.get(timeout=5) for _ in workers]
        failures += [detail for status, _, detail in outcomes if status != "ok"]
        print(sorted(detail for _, _, detail in outcomes))
        assert all(w.exitcode == 0 for w in workers) or failures, [w.exitcode for w in workers]
    assert not failures, failures
    print(f"concurrent startup: {TRIES} tries x {PROCESSES} processes on a fresh schema, all came up")


def ledger_process(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    return subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def ten_fresh_schemas() -> Iterator[list[str]]:
    admin = postgres_admin_url()
    with ExitStack() as stack:
        yield [schema_url(admin, stack.enter_context(scratch_schema(admin, prefix="start_"))) for _ in range(10)]


@pytest.mark.postgres
def test_four_serve_and_two_project_at_once_on_a_fresh_schema_come_up_ten_times(
        ten_fresh_schemas: list[str]) -> None:
    """The issue's check: 4 `ledger serve` and 2 `ledger project` started at the same instant on a
    fresh database, 10 times; every process comes up (serve answers /health, project catches up
    and exits 0) every time."""
    for attempt, url in enumerate(ten_fresh_schemas):
        ports = [free_port() for _ in range(4)]
        servers = [ledger_process("serve", "--db", url, "--port", str(port), "--log-level", "warning", "--create")
                   for port in ports]
        workers = [ledger_process("project", "--db", url, "--create") for _ in range(2)]
        try:
            deadline = time.monotonic() + 60
            up: set[int] = set()
            while len(up) < len(ports) and time.monotonic() < deadline:
                for port, server in zip(ports, servers, strict=True):
                    if port in up:
                        continue
                    assert server.poll() is None, \
                        f"try {attempt}: ledger serve on {port} died: {server.communicate()[1][-2000:]}"
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                            up.add(port)
                    except httpx.TransportError:
                        pass
                time.sleep(0.1)
            assert up == set(ports), f"try {attempt}: not up after 60 s: {sorted(set(ports) - up)}"
            for worker in workers:
                _, err = worker.communicate(timeout=60)
                assert worker.returncode == 0, f"try {attempt}: ledger project failed: {err[-2000:]}"
        finally:
            for process in (*servers, *workers):
                if process.poll() is None:
                    process.terminate()
            for process in (*servers, *workers):
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
