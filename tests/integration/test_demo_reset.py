"""`ledger demo --reset` on PostgreSQL drops the ledger's tables in the configured schema only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from rich.console import Console

from bootstrap import open_ledger
from cli.demo.runner import DemoOptions, run_demo
from tests.conftest import postgres_admin_url
from tests.postgres_server import schema_url, scratch_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def two_schemas() -> Iterator[tuple[str, str, str]]:
    import psycopg

    admin = postgres_admin_url()
    with scratch_schema(admin, "t_reset_") as ours, scratch_schema(admin, "t_other_") as theirs:
        with psycopg.connect(admin, autocommit=True) as conn:
            for schema in (ours, theirs):
                # A table that is not the ledger's, and a ledger-named table in another schema.
                conn.execute(f"CREATE TABLE {schema}.keep_me (x int)")
            conn.execute(f"CREATE TABLE {theirs}.ledger_events (x int)")
        yield admin, schema_url(admin, ours), theirs


def tables(admin: str, schema: str) -> set[str]:
    import psycopg

    with psycopg.connect(admin) as conn:
        rows = conn.execute("select tablename from pg_tables where schemaname = %s", (schema,)).fetchall()
    return {name for (name,) in rows}


def schemas(admin: str) -> set[str]:
    import psycopg

    with psycopg.connect(admin) as conn:
        return {name for (name,) in conn.execute("select nspname from pg_namespace").fetchall()}


def events(url: str) -> int:
    ledger = open_ledger(url)
    try:
        return ledger.max_position()
    finally:
        ledger.close()


def test_reset_drops_only_the_ledger_tables_of_the_configured_schema(two_schemas: tuple[str, str, str]) -> None:
    admin, url, other_schema = two_schemas
    quiet = Console(quiet=True)
    options = DemoOptions(db=url, months=1, scale="small", seed=3, reset=False)
    assert run_demo(options, out=quiet, err=quiet) == 0
    first = events(url)
    assert first > 100
    # Without the reset this would only say "already there" and leave the 1-month history.
    assert run_demo(DemoOptions(db=url, months=2, scale="small", seed=3, reset=True), out=quiet, err=quiet) == 0
    ours = url.split("schema=")[1]
    assert "keep_me" in tables(admin, ours)
    assert {"keep_me", "ledger_events"} == tables(admin, other_schema)
    assert events(url) > first


def test_the_demo_creates_a_missing_schema_and_writes_into_it() -> None:
    import psycopg

    admin = postgres_admin_url()
    schema = f"t_new_{uuid.uuid4().hex[:8]}"
    sep = "&" if "?" in admin else "?"
    url = f"{admin}{sep}schema={schema}"
    quiet = Console(quiet=True)
    assert schema not in schemas(admin)
    try:
        assert run_demo(DemoOptions(db=url, months=1, scale="small", seed=5, reset=False), out=quiet, err=quiet) == 0
        assert events(url) > 100
        assert schema in schemas(admin)
        assert {"ledger_events", "read_tracking"} <= tables(admin, schema)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
