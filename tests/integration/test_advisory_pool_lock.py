"""storage.locks.AdvisoryCommandLock: the per-pool advisory lock on PostgreSQL (one
instance per process in production; two instances here are two processes' sessions)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import psycopg
import pytest

from bootstrap import open_ledger
from domain.aggregates import pool_id
from domain.errors import ConcurrencyConflict
from storage.locks import AdvisoryCommandLock, pool_lock_key
from storage.urls import parse_database_url, with_schema
from tests.builders import SimClock, fleet, reserve

pytestmark = pytest.mark.postgres


def held_advisory_locks(url: str, key: int, *, granted: bool = True) -> int:
    """Sessions holding (``granted=False``: waiting for) the advisory lock ``key`` (a bigint key:
    its high and low 32 bits are pg_locks' classid and objid; other suites' locks on the same
    server are not counted)."""
    config = parse_database_url(url)
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    with psycopg.connect(f"host={config.host} port={config.port} dbname={config.dbname} "
                         f"user={config.user or 'postgres'}") as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted = %s "
                           "AND objsubid = 1 AND classid::bigint = %s AND objid::bigint = %s",
                           (granted, unsigned >> 32, unsigned & 0xFFFFFFFF)).fetchone()
    return int(row[0]) if row else 0


def wait_until(condition: Callable[[], bool], seconds: float = 10) -> None:
    """Poll ``condition`` (a real state of the server) until it holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_two_sessions_take_turns_on_one_pool_and_not_on_two(postgres_url: str) -> None:
    config = parse_database_url(postgres_url)
    mine, theirs = AdvisoryCommandLock(config), AdvisoryCommandLock(config)
    pool, other = uuid.uuid4(), uuid.uuid4()
    order: list[str] = []
    try:
        with mine.hold(pool):
            def contender() -> None:
                with theirs.hold(pool):
                    order.append("theirs")

            thread = threading.Thread(target=contender)
            thread.start()
            with theirs.hold(other):  # another pool is free meanwhile
                order.append("other pool")
            # the contender is blocked in pg_advisory_lock on our pool before we let go
            wait_until(lambda: held_advisory_locks(postgres_url, pool_lock_key(config, pool), granted=False) == 1)
            order.append("mine done")
        thread.join(timeout=10)
        assert order == ["other pool", "mine done", "theirs"]
    finally:
        mine.close()
        theirs.close()


def test_the_key_depends_on_the_schema(postgres_url: str) -> None:
    config = parse_database_url(postgres_url)
    pool = uuid.uuid4()
    assert pool_lock_key(config, pool) != pool_lock_key(with_schema(config, "elsewhere"), pool)
    assert pool_lock_key(config, pool) == pool_lock_key(parse_database_url(postgres_url), pool)
    assert -(2 ** 63) <= pool_lock_key(config, pool) < 2 ** 63


def test_a_waiter_gives_up_with_concurrency_conflict_after_wait_seconds(postgres_url: str) -> None:
    config = parse_database_url(postgres_url)
    mine, theirs = AdvisoryCommandLock(config), AdvisoryCommandLock(config, wait_seconds=0.2)
    pool = uuid.uuid4()
    try:
        with mine.hold(pool):
            started = time.monotonic()
            with pytest.raises(ConcurrencyConflict, match="retry later"), theirs.hold(pool):
                pass
            assert time.monotonic() - started < 5
        with theirs.hold(pool):  # and the lock connection is fine for the next command
            pass
    finally:
        mine.close()
        theirs.close()


def test_the_lock_is_released_after_a_refused_or_failed_command(postgres_url: str) -> None:
    ledger = open_ledger(postgres_url, clock=SimClock())
    try:
        assert isinstance(ledger.command_lock, AdvisoryCommandLock)
        f = fleet(ledger, gpus=2)
        key = pool_lock_key(parse_database_url(postgres_url), pool_id(f.site_id, f.model))
        from domain.errors import InsufficientCapacity

        with ledger.command_lock.hold(pool_id(f.site_id, f.model)):  # the count sees a held lock
            assert held_advisory_locks(postgres_url, key) == 1
        with pytest.raises(InsufficientCapacity):
            reserve(f, 3, 1, 2)
        reserve(f, 2, 1, 2)
        assert held_advisory_locks(postgres_url, key) == 0
        assert ledger.command_lock.max_connections == 4
    finally:
        ledger.close()


def test_a_lock_connection_killed_by_the_server_is_replaced(postgres_url: str) -> None:
    name = f"pool-lock-test-{uuid.uuid4().hex[:8]}"  # kill only our own connection
    config = parse_database_url(f"{postgres_url}&application_name={name}")
    lock = AdvisoryCommandLock(config)
    try:
        with lock.hold(uuid.uuid4()):
            pass
        with psycopg.connect(f"host={config.host} port={config.port} dbname={config.dbname} "
                             f"user={config.user or 'postgres'}", autocommit=True) as admin:
            killed = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                   "WHERE application_name = %s", (name,)).fetchall()
            assert len(killed) == 1
            # pg_terminate_backend only signals: wait until the backend has actually gone
            wait_until(lambda: admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                                             (name,)).fetchone() == (0,))
        with lock.hold(uuid.uuid4()):  # the dead idle connection is retried once on a fresh one
            pass
    finally:
        lock.close()


def test_sqlite_and_memory_ledgers_keep_the_in_process_lock_only(sqlite_url: str) -> None:
    for url in (sqlite_url, "memory:"):
        ledger = open_ledger(url)
        try:
            assert ledger.command_lock is None
        finally:
            ledger.close()
    with pytest.raises(ValueError, match="PostgreSQL"):
        AdvisoryCommandLock(parse_database_url(sqlite_url))
