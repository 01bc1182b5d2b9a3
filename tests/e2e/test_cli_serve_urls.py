"""`ledger serve` says where it is once it answers: one line per URL on stdout, with the host and
port it binds (the dashboard, the API docs, the health check)."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time

import httpx
import pytest

from cli.serve import urls
from tests.e2e.conftest import free_port


def test_the_lines_name_the_bound_host_and_port() -> None:
    assert urls("127.0.0.1", 8000) == ["dashboard: http://127.0.0.1:8000/ui/", "API docs: http://127.0.0.1:8000/docs",
                                       "health: http://127.0.0.1:8000/health"]
    assert urls("::1", 9001)[0] == "dashboard: http://[::1]:9001/ui/"


@pytest.mark.slow  # runs `ledger serve` as a child process
def test_ledger_serve_prints_its_urls_when_ready(sqlite_url: str) -> None:
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    subprocess.run([sys.executable, "-m", "cli", "init", "--db", sqlite_url], check=True, capture_output=True, env=env)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--db", sqlite_url, "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    try:
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 60
        while not selector.select(timeout=0.5):
            assert process.poll() is None and time.monotonic() < deadline, "ledger serve printed nothing"
        lines = [process.stdout.readline().rstrip("\n") for _ in range(3)]  # written at once, when ready
        assert lines == urls("127.0.0.1", port), lines
        for line in lines:  # each answers
            assert httpx.get(line.split(": ", 1)[1], follow_redirects=False).status_code in (200, 302, 303, 307)
    finally:
        process.terminate()
        process.communicate(timeout=30)
