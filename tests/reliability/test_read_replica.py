"""Read replicas (LEDGER_READ_DATABASE_URL) against a real streaming replica that the test starts
from the same binaries (tests/reliability/streaming_replica.py: initdb, pg_basebackup -R).

The API writes, keeps its tokens and idempotency keys and runs its projection follower on the
primary; its report and tenant-list reads go to the hot standby, whose projection tables arrive
by streaming replication. Shown here:

- after catch-up every report and tenant list read from the replica equals the primary's, and an
  invoice (whose lines are read on the read side) is issued through the replica;
- with replay paused on the standby, a read with a fresh ``min_position`` waits
  LEDGER_READ_WAIT_SECONDS and answers 503 ``projection-lagging`` with ``Retry-After`` (a read
  without one answers the replica's older snapshot); resumed, the same read answers;
- with the standby stopped, reads answer 503 ``database-unavailable`` with ``Retry-After`` within
  LEDGER_DB_TIMEOUT_SECONDS, the API stays up and writes go on; restarted, reads come back;
- a read-only ``Projections`` issues no DDL and no writes (the standby would refuse them) and
  refuses to run projections.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from bootstrap import open_ledger
from projections import REPORT_NAMES, Projections, ProjectionsNotReady, ReadOnlyProjections
from tests.conftest import spawns
from tests.e2e.conftest import Api, ServerThread
from tests.e2e.scenario import bearer, build_capacity, ok, register_tenant, reserve
from tests.e2e.test_flow import usage_batch
from tests.postgres_server import schema_url, scratch_schema
from tests.reliability.streaming_replica import StreamingPair

pytestmark = pytest.mark.postgres

READ_WAIT = 1.0  # LEDGER_READ_WAIT_SECONDS of the API under test
DB_TIMEOUT = 2.0  # LEDGER_DB_TIMEOUT_SECONDS
MARGIN = 3.0  # scheduling slack on a shared machine


@pytest.fixture(scope="module")
@spawns  # its own PostgreSQL primary and streaming replica
def pair() -> Iterator[StreamingPair]:
    try:
        started = StreamingPair()
    except RuntimeError as error:
        pytest.skip(f"no PostgreSQL binaries to start a primary and a streaming replica with: {error}")
    try:
        started.start()
        yield started
    finally:
        started.remove()


@pytest.fixture
def schema(pair: StreamingPair) -> Iterator[str]:
    """A fresh schema on the primary (the standby receives it)."""
    with scratch_schema(pair.primary_url) as name:
        yield name


def reads(c: httpx.Client, token: str, tenant_id: str, **params: Any) -> dict[str, Any]:
    """Every report (default filters) and the tenant's three lists, as the API answers them."""
    out: dict[str, Any] = {}
    for name in REPORT_NAMES:
        out[name] = ok(c.get(f"/v1/reports/{name}", headers=bearer(token), params=params), 200)
    for kind in ("reservations", "usage", "invoices"):
        out[kind] = ok(c.get(f"/v1/tenants/{tenant_id}/{kind}", headers=bearer(token), params=params), 200)
    return out


def timed_get(c: httpx.Client, url: str, token: str, **params: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = c.get(url, headers=bearer(token), params=params)
    return response, time.monotonic() - started


def test_reads_come_from_the_replica_wait_for_it_and_outlive_it(pair: StreamingPair, schema: str) -> None:
    primary, replica = schema_url(pair.primary_url, schema), schema_url(pair.standby_url, schema)
    with ServerThread(primary, read_database_url=replica, read_wait_seconds=READ_WAIT,
                      db_timeout_seconds=DB_TIMEOUT) as base, \
            ServerThread(primary, run_projector=False) as primary_base, \
            httpx.Client(base_url=base, timeout=30) as c, httpx.Client(base_url=primary_base, timeout=30) as p:
        api = Api(c, primary)
        op, finance = api.operator, api.tokens["finance"]

        # --- a history through the replica-backed API; its reads equal the primary's ---------------
        world = build_capacity(c, op, gpus=8)
        tenant = register_tenant(c, finance)
        booked = reserve(c, op, world["site"]["id"], gpus=2, day=1, tenant_id=tenant["id"], backfill=True)
        written = time.monotonic()
        receipt = ok(c.post("/v1/usage", headers=bearer(api.tokens["meter"]), json=usage_batch(booked["id"])), 200)
        position = receipt["position"]
        # Catch-up: the primary's follower projects the batch, then the standby replays it.
        ok(p.get("/v1/reports/billing", headers=bearer(finance), params={"min_position": position}), 200)
        projected = time.monotonic() - written
        replayed = pair.replay_lag_seconds()
        print(f"\nprimary projected position {position} in {projected:.3f} s; standby replayed in {replayed:.3f} s")

        # Issuing an invoice reads its lines on the read side: it waits for the replica to reach the head.
        issued = c.post("/v1/invoices", headers=bearer(finance), json={"tenant_id": tenant["id"], "month": "2025-03"})
        assert ok(issued)["total"] == "120.00"
        position = int(issued.headers["Ledger-Position"])

        from_replica = reads(c, finance, tenant["id"], min_position=position)
        from_primary = reads(p, finance, tenant["id"], min_position=position)
        assert from_replica == from_primary
        assert from_replica["billing"]["rows"] and from_replica["usage"]["items"] and from_replica["invoices"]["items"]
        assert {r["position"] for r in (from_replica[n] for n in REPORT_NAMES)} == {position}
        # The replica's reads hold read connections on the standby, none of them writing.
        sessions = pair.standby_sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                                    "AND datname = 'postgres' AND pid <> pg_backend_pid()")
        assert isinstance(sessions, int) and sessions >= 1

        # --- replay paused: min_position beyond the replica is a 503 after the read wait --------------
        pair.standby_sql("SELECT pg_wal_replay_pause()")
        try:
            fresh = c.post("/v1/tenants", headers=bearer(finance), json={
                "name": "Paused Lab", "billing_currency": "USD", "rates": {"H100-SXM": "2.50"}})
            ok(fresh)
            later = int(fresh.headers["Ledger-Position"])
            assert later > position
            ok(p.get("/v1/reports/billing", headers=bearer(finance), params={"min_position": later}), 200)
            for url in ("/v1/reports/billing", f"/v1/tenants/{tenant['id']}/invoices"):
                lagging, took = timed_get(c, url, finance, min_position=later)
                assert lagging.status_code == 503, lagging.text
                assert lagging.json()["type"].endswith("/projection-lagging")
                assert lagging.headers["retry-after"] == "1"
                assert READ_WAIT <= took < READ_WAIT + MARGIN, took
            # Without min_position the replica answers its own (older) snapshot at once.
            stale = ok(c.get("/v1/reports/billing", headers=bearer(finance)), 200)
            assert stale["position"] < later
        finally:
            pair.standby_sql("SELECT pg_wal_replay_resume()")
        caught_up = ok(c.get("/v1/reports/billing", headers=bearer(finance), params={"min_position": later}), 200)
        assert caught_up == ok(p.get("/v1/reports/billing", headers=bearer(finance),
                                     params={"min_position": later}), 200)

        # --- the standby goes away: reads 503 database-unavailable, the API stays up -------------------
        pair.stop_standby()
        try:
            for url in ("/v1/reports/capex", f"/v1/tenants/{tenant['id']}/reservations"):
                for _ in range(2):  # a pooled connection that died, then a new connect that is refused
                    down, took = timed_get(c, url, finance)
                    assert down.status_code == 503, down.text
                    assert down.json()["type"].endswith("/database-unavailable")
                    assert down.headers["retry-after"]
                    assert took < DB_TIMEOUT + MARGIN, took
            assert c.get("/health").json() == {"status": "ok"}
            # Writes, and reads of aggregates from the event store, use the primary: they go on.
            ok(c.post("/v1/tenants", headers=bearer(finance), json={
                "name": "Outage Lab", "billing_currency": "USD", "rates": {"H100-SXM": "2.50"}}))
            ok(c.get(f"/v1/tenants/{tenant['id']}", headers=bearer(finance)), 200)
            # /ready reads the projections' positions where the reads go: the replica is not ready.
            assert c.get("/ready").status_code == 503
        finally:
            pair.start_standby()
        back = ok(c.get("/v1/reports/capex", headers=bearer(finance)), 200)
        assert back["rows"]


def test_read_only_projections_issue_no_ddl_and_no_writes(pair: StreamingPair, schema: str) -> None:
    primary, replica = schema_url(pair.primary_url, schema), schema_url(pair.standby_url, schema)
    ledger = open_ledger(primary)
    try:
        # No tables yet: read-only projections neither create them (the standby could not) nor
        # answer reads from missing tables. Projections(read_only=False) on the standby cannot even
        # connect: it creates the schema if missing.
        with pytest.raises(ProjectionsNotReady):
            Projections.open(primary, app=ledger, read_only=True)
        with psycopg.connect(pair.primary_url) as conn:
            tables = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s "
                                  "AND table_name LIKE 'read_%%'", (schema,)).fetchone()
        assert tables == (0,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            Projections.open(replica, app=ledger)

        Projections.open(primary, app=ledger).close()  # the primary's worker creates the tables
        pair.replay_lag_seconds()
        for url in (replica, primary):  # read-only on the primary too: the session refuses writes
            with Projections.open(url, app=ledger, read_only=True) as projections:
                assert projections.report("capex") == []
                assert projections.position() == 0
                assert projections.wait_for(0, 0.0, assist=False)
                for run in (projections.catch_up, lambda: projections.rebuild("billing"),
                            lambda: projections.verify("billing"), lambda: projections.wait_for(1, 0.0)):
                    with pytest.raises(ReadOnlyProjections):
                        run()
                with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                    projections.db.execute("CREATE TABLE read_nothing (a int)")
    finally:
        ledger.close()


def test_a_read_replica_needs_postgresql_on_both_sides() -> None:
    from api.readside import check_replica_setting
    from domain.errors import InvalidInput

    check_replica_setting("postgresql://h1/db?schema=s", "postgresql://h2/db?schema=s")
    for primary, replica in (("ledger.db", "postgresql://h2/db"), ("postgresql://h1/db", "replica.db")):
        with pytest.raises(InvalidInput, match="read_database_url"):
            check_replica_setting(primary, replica)
