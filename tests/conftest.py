"""Shared fixtures: the same tests run on SQLite and on PostgreSQL.

``database_url`` is parametrised over both stores. Each PostgreSQL test gets a fresh schema
(dropped afterwards); each SQLite test a fresh file. Random ids keep tests independent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from bootstrap import open_ledger
from tests import postgres_server
from tests.postgres_server import find_server, schema_url, scratch_schema

# CI runs the property tests as HYPOTHESIS_PROFILE=ci with a fixed seed (.ci/run sets
# PYTEST_ADDOPTS=--hypothesis-seed=...): a red build is reproducible, nothing is read from or
# written to a local example database, and exploring new examples is left to developers' runs.
# (Not derandomize=True: its examples are markedly shorter and miss multi-step histories.)
settings.register_profile("ci", print_blob=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

_server: tuple[str | None, str] | None = None
_server_how: str | None = None  # which server the fixtures use (the end of the test report names it)


def postgres_admin_url() -> str:
    """The admin URL of a PostgreSQL server, or skip (fail in CI) with the reason."""
    global _server, _server_how
    if _server is None:
        _server = find_server()
        _server_how = postgres_server.found_how
    url, reason = _server
    if url is None:
        if os.environ.get("LEDGER_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (LEDGER_REQUIRE_POSTGRES=1): {reason}")
        pytest.skip(f"PostgreSQL suite skipped: {reason}")
    return url


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which PostgreSQL the run used (only if a test asked for one)."""
    if _server_how is not None:
        terminalreporter.write_line(f"PostgreSQL for this run: {_server_how}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    admin = postgres_admin_url()
    with scratch_schema(admin) as schema:
        yield schema_url(admin, schema)


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return str(tmp_path / "ledger.db")  # type: ignore[operator]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    name = "postgres_url" if request.param == "postgres" else "sqlite_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def clock() -> object:
    """A simulated clock (tests.builders.SimClock) starting at 2026-01-01T00:00Z."""
    from tests.builders import SimClock

    return SimClock()


@pytest.fixture
def memory_ledger(clock: object) -> Iterator[object]:
    """A Ledger on the in-process store, driven by the ``clock`` fixture (unit tests)."""

    ledger = open_ledger("memory:", clock=clock)  # type: ignore[arg-type]
    yield ledger
    ledger.close()
