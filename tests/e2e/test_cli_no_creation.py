"""No silent creation: only `ledger init`, `ledger demo` and `serve`/`project --create` make a
ledger; every other command refuses a store without one in one line and leaves it as it was."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import postgres_admin_url
from tests.e2e.cli_process import ledger, one_line, schema_objects
from tests.postgres_server import schema_url, scratch_schema

pytestmark = pytest.mark.slow  # runs `ledger` as a child process

SOME_ID = "645b1957-4960-4f10-ae46-c1781a89a68a"
READ_ONLY = [
    ("report", "billing"),
    ("report", "utilisation", "--granularity", "day"),
    ("verify", "all"),
    ("audit", "verify"),
    ("audit", "head"),
    ("audit", "aggregate", SOME_ID),
    ("audit", "replay"),
    ("export", "events"),
]
REFUSING = [*READ_ONLY, ("rebuild", "all"), ("project",), ("token", "create", "--role", "operator"),
            ("token", "revoke", "lgr_0123456789")]


@pytest.fixture
def empty_schema() -> Iterator[tuple[str, str, str]]:
    """(admin URL, schema, ledger URL) of a new, empty PostgreSQL schema."""
    admin = postgres_admin_url()
    with scratch_schema(admin, prefix="empty_") as schema:
        yield admin, schema, schema_url(admin, schema)


@pytest.mark.postgres
def test_read_only_commands_create_nothing_on_an_empty_postgresql_schema(
        empty_schema: tuple[str, str, str]) -> None:
    admin, schema, url = empty_schema
    assert schema_objects(admin, schema) == (0, 0)
    for args in READ_ONLY:
        line = one_line(ledger(*args, "--db", url))
        assert "no ledger at PostgreSQL" in line and f"schema {schema}" in line and "ledger init" in line, line
        assert schema_objects(admin, schema) == (0, 0), f"`ledger {' '.join(args)}` created something"


@pytest.mark.postgres
def test_serve_and_project_on_an_empty_schema_refuse_unless_created(empty_schema: tuple[str, str, str]) -> None:
    admin, schema, url = empty_schema
    for args in (("serve", "--port", "1"), ("project",), ("token", "create", "--role", "operator")):
        line = one_line(ledger(*args, "--db", url))
        assert "ledger init" in line, line
        if args[0] in ("serve", "project"):
            assert "--create" in line, line
    assert schema_objects(admin, schema) == (0, 0)
    created = ledger("project", "--create", "--db", url)
    assert created.returncode == 0, created.stderr
    tables, _ = schema_objects(admin, schema)
    assert tables > 10
    again = ledger("report", "billing", "--db", url)  # now there is a ledger: an empty report
    assert again.returncode == 0, again.stderr
    assert schema_objects(admin, schema)[0] == tables


@pytest.mark.postgres
def test_init_then_report_creates_nothing_more(empty_schema: tuple[str, str, str]) -> None:
    admin, schema, url = empty_schema
    assert ledger("init", "--db", url).returncode == 0
    after_init = schema_objects(admin, schema)
    for args in READ_ONLY:
        result = ledger(*args, "--db", url)
        assert result.returncode in (0, 2), result.stderr  # the aggregate does not exist: 2
        assert schema_objects(admin, schema) == after_init, f"`ledger {' '.join(args)}` created something"


@pytest.mark.parametrize("args", REFUSING, ids=lambda a: " ".join(a[:2]))
def test_every_command_but_init_and_demo_refuses_a_missing_sqlite_file(args: tuple[str, ...], tmp_path: Path) -> None:
    db = tmp_path / "typo.db"
    line = one_line(ledger(*args, "--db", str(db)))
    assert f"no ledger at SQLite {db}" in line and "ledger init" in line
    assert not db.exists()


def test_an_empty_or_foreign_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    foreign = tmp_path / "crm.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("create table customers (name text)")
    before = foreign.read_bytes()
    for args in (("report", "billing"), ("verify", "all"), ("serve",), ("project",), ("audit", "head")):
        assert "has no stored_events table" in one_line(ledger(*args, "--db", str(empty)))
        assert "has no stored_events table" in one_line(ledger(*args, "--db", str(foreign)))
    assert empty.stat().st_size == 0
    assert foreign.read_bytes() == before


def test_project_create_makes_a_ledger_that_report_reads(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    result = ledger("project", "--create", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "at position 0" in result.stdout
    assert ledger("report", "capex", "--db", str(db)).returncode == 0
