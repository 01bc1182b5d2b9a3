"""How the suite finds PostgreSQL on a machine without a server: start one, else skip visibly,
and in CI (LEDGER_REQUIRE_POSTGRES=1) fail instead of skipping."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres_server import find_binaries, find_server, free_port, private_tmpdir, reachable

ROOT = Path(__file__).resolve().parents[2]
SMOKE = "tests/integration/test_smoke_backends.py"


def dead_url() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"


def run_pytest(env_changes: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LEDGER_REQUIRE_POSTGRES", "PYTEST_ADDOPTS")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-m", "pytest", SMOKE, "-k", "postgres", "-rs", "-p", "no:cacheprovider"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_a_dead_server_without_fallback_is_reported_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    url = dead_url()
    monkeypatch.setenv("LEDGER_TEST_POSTGRES_URL", url)
    monkeypatch.setenv("LEDGER_TEST_POSTGRES_START", "0")
    assert not reachable(url)
    found, reason = find_server()
    assert found is None
    assert url in reason and "LEDGER_TEST_POSTGRES_START=0" in reason


@pytest.mark.slow  # runs pytest as a child process (which may start its own PostgreSQL server)
def test_the_postgres_suite_skips_visibly_without_a_server_and_fails_when_required() -> None:
    env = {"LEDGER_TEST_POSTGRES_URL": dead_url(), "LEDGER_TEST_POSTGRES_START": "0"}
    skipped = run_pytest(env)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "SKIPPED" in skipped.stdout and "PostgreSQL suite skipped: no PostgreSQL server at" in skipped.stdout

    required = run_pytest({**env, "LEDGER_REQUIRE_POSTGRES": "1"})
    assert required.returncode != 0
    assert "PostgreSQL required (LEDGER_REQUIRE_POSTGRES=1)" in required.stdout


@pytest.mark.skipif(find_binaries() is None, reason="no initdb/pg_ctl on this machine to start a server with")
@pytest.mark.slow  # runs pytest as a child process (which may start its own PostgreSQL server)
def test_without_a_server_the_suite_starts_a_throwaway_one_and_removes_it() -> None:
    with private_tmpdir() as private:
        result = run_pytest({"LEDGER_TEST_POSTGRES_URL": dead_url(), "LEDGER_REQUIRE_POSTGRES": "1",
                             "TMPDIR": str(private)})
        left = list(private.glob("ledger-pg-*"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert not left, "the throwaway server's directory was left behind"
