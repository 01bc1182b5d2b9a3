"""Shared fixtures: the same tests run on SQLite and on PostgreSQL.

``database_url`` is parametrised over both stores. Each PostgreSQL test gets a fresh schema
(dropped afterwards); each SQLite test a fresh file. Random ids keep tests independent.
"""

from __future__ import annotations

import contextlib
import ctypes.util as ctypes_util
import multiprocessing.process
import os
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator
from typing import Any, TypeVar

import pytest
import uvicorn
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

F = TypeVar("F", bound=Callable[..., Any])

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


# --- The fast tier: ``pytest -m "not slow"`` ----------------------------------------------------
# A test is ``slow`` when it spawns processes (``ledger`` as a child, subprocess, multiprocessing),
# runs a uvicorn server, starts its own PostgreSQL server, or drives a browser. Where the test's
# body does that, its module or the test carries ``pytest.mark.slow``; where a fixture does, the
# fixture is decorated with ``@spawns`` and every test whose fixture closure includes it is marked
# here (parametrised dispatch fixtures such as ``any_api`` put the mark on their server param).
# A test left in the fast tier that starts a process or a uvicorn server anyway fails, naming it.


def spawns(function: F) -> F:
    """Declare a fixture (under ``@pytest.fixture``) that starts processes, servers or a browser."""
    function.spawns = True  # type: ignore[attr-defined]
    return function


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fast tier (``-m "not slow"``) runs in-process on SQLite: a test that spawns (its
    fixture is ``@spawns``) or needs the PostgreSQL server is in the slow tier, which the whole
    suite (the README's test command, CI) runs on both backends."""
    for item in items:
        if item.get_closest_marker("postgres") is not None:
            item.add_marker(pytest.mark.slow)
            continue
        info = getattr(item, "_fixtureinfo", None)
        if info is not None and any(getattr(fixturedef.func, "spawns", False)
                                    for fixturedefs in info.name2fixturedefs.values() for fixturedef in fixturedefs):
            item.add_marker(pytest.mark.slow)


class SpawnedInFastTier(AssertionError):
    pass


def _allowed_spawn() -> bool:
    """Spawns the fast tier may make: ctypes looking a library up (ldconfig), and the suite's one
    search for a PostgreSQL server (which may start a throwaway one on a machine without one)."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is find_server.__code__ or frame.f_code.co_filename == ctypes_util.__file__:
            return True
        frame = frame.f_back
    return False


@contextlib.contextmanager
def _refuse_spawning(item: pytest.Item) -> Iterator[list[str]]:
    started: list[str] = []
    if item.get_closest_marker("slow") is not None:
        yield started
        return

    def refuse(what: str) -> None:
        started.append(what)
        raise SpawnedInFastTier(f"{item.nodeid} is not marked slow but {what}: mark it (or its fixture) slow")

    execute_child, process_start, serve = (subprocess.Popen._execute_child,  # type: ignore[attr-defined]
                                           multiprocessing.process.BaseProcess.start, uvicorn.Server.serve)

    def guarded_execute_child(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> Any:
        if not _allowed_spawn():
            refuse(f"started a process {args!r}")
        return execute_child(self, args, *rest, **kwargs)

    def guarded_start(self: multiprocessing.process.BaseProcess) -> None:
        refuse(f"started a multiprocessing process {self.name}")

    async def guarded_serve(self: uvicorn.Server, *args: Any, **kwargs: Any) -> None:
        refuse("started a uvicorn server")

    subprocess.Popen._execute_child = guarded_execute_child  # type: ignore[attr-defined]
    multiprocessing.process.BaseProcess.start = guarded_start  # type: ignore[method-assign]
    uvicorn.Server.serve = guarded_serve  # type: ignore[method-assign]
    try:
        yield started
    finally:
        subprocess.Popen._execute_child = execute_child  # type: ignore[attr-defined]
        multiprocessing.process.BaseProcess.start = process_start  # type: ignore[method-assign]
        uvicorn.Server.serve = serve  # type: ignore[method-assign]


def _fast_tier_phase(item: pytest.Item) -> Generator[None, object, object]:
    with _refuse_spawning(item) as started:
        try:
            result = yield
        except SpawnedInFastTier:
            raise
        except BaseException as error:
            if started:
                raise SpawnedInFastTier(f"{item.nodeid} is not marked slow but {started[0]}") from error
            raise
    if started:  # the test swallowed the refusal
        raise SpawnedInFastTier(f"{item.nodeid} is not marked slow but {started[0]}")
    return result


# Setup and call only: a module-scoped fixture of a slow test may be torn down in the teardown of
# the module's last test, which may be a fast one.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _fast_tier_phase(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _fast_tier_phase(item))
