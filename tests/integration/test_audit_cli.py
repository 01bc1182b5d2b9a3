"""The auditor's command line on both stores: head, verify, export/import, replay, aggregate."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from bootstrap import open_ledger, open_projections
from cli.main import run as ledger_cli
from domain import Ledger
from projections.audit.asof import scratch_store
from projections.audit.store import AuditStore
from tests.builders import SimClock, fleet, reserve


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    ledger = open_ledger(database_url, clock=SimClock())
    reserve(fleet(ledger), 2, 1, 5)
    yield ledger
    ledger.close()


def run(*args: str) -> tuple[int, str, str]:
    """`ledger ARGS...` in this process, with its one error policy: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = ledger_cli(list(args))
    return code, out.getvalue(), err.getvalue()


def test_head_then_verify_passes_and_a_tampered_log_fails_naming_the_position(
        ledger: Ledger, database_url: str) -> None:
    code, out, _ = run("audit", "head", "--db", database_url)
    assert code == 0 and out.strip().startswith(f"{ledger.max_position()}:")
    head = out.strip()
    code, out, _ = run("audit", "verify", "--db", database_url, "--head", head)
    assert code == 0 and f"{ledger.max_position()} events verified" in out and "is a prefix" in out
    store = AuditStore(ledger)
    with store.transaction(commit=True) as cursor:
        cursor.execute(f"DELETE FROM {store.events_table} WHERE {store.position_column} = 4")
    code, _, err = run("audit", "verify", "--db", database_url)
    assert code == 1 and "position 4" in err


def test_bad_input_is_one_line_and_exit_2(ledger: Ledger, database_url: str, tmp_path: Path) -> None:
    for args in (("audit", "verify", "--db", database_url, "--head", "12:nothex"),
                 ("audit", "head", "--db", str(tmp_path / "missing.db")),
                 ("export", "events", "--db", database_url, "--from", "9", "--to", "3"),
                 ("audit", "aggregate", "not-a-uuid", "--db", database_url)):
        code, out, err = run(*args)
        assert code == 2, (args, out, err)
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_export_to_a_file_then_import_into_an_empty_store(ledger: Ledger, database_url: str, tmp_path: Path) -> None:
    target = tmp_path / "events.jsonl"
    code, _, err = run("export", "events", "--db", database_url, "--out", str(target))
    assert code == 0 and f"exported {ledger.max_position()} events" in err
    lines = target.read_text().splitlines()
    assert [json.loads(line)["position"] for line in lines] == list(range(1, ledger.max_position() + 1))
    code, out, _ = run("export", "events", "--db", database_url, "--from", "2", "--to", "3")
    assert code == 0 and [json.loads(line)["position"] for line in out.splitlines()] == [2, 3]
    with scratch_store(ledger) as url:
        # a new SQLite file or an empty schema: only `ledger init` (or the demo) creates a ledger
        code, _, err = run("import", "events", str(target), "--db", url)
        assert code == 2 and "no ledger at" in err
        assert run("init", "--db", url)[0] == 0
        code, out, err = run("import", "events", str(target), "--db", url)
        assert code == 0 and out.startswith(f"imported {len(lines)} events"), err
        code, out, _ = run("audit", "head", "--db", url)
        assert out.strip() == run("audit", "head", "--db", database_url)[1].strip()


def test_replay_compares_every_projection(ledger: Ledger, database_url: str) -> None:
    with open_projections(database_url) as projections:
        projections.catch_up()
    code, out, err = run("audit", "replay", "--db", database_url)
    assert code == 0, err
    for name in ("utilisation", "billing", "sustainability", "capex"):
        assert name in out
    with open_projections(database_url) as projections:  # corrupt a live billing row
        projections.db.execute("UPDATE bil_lines SET amount = '0.01'")
    code, out, err = run("audit", "replay", "--db", database_url)
    assert code == 1 and "billing" in err


def test_aggregate_as_of_a_version_prints_json(ledger: Ledger, database_url: str) -> None:
    tenant = ledger.register_tenant(name="Lab 2", billing_currency="EUR", rates={"H100-SXM": "2.00"}).id
    ledger.suspend_tenant(tenant, reason="audit")
    code, out, _ = run("audit", "aggregate", str(tenant), "--db", database_url, "--as-of", "1")
    assert code == 0
    printed = json.loads(out)
    assert printed["version"] == 1 and printed["state"]["suspended"] is False
    assert printed["state"]["rates"] == {"H100-SXM": "2.00"}
