"""The recording commands through `cli.main.run`, on both stores: capacity in, tenants, a
backfilled month, `invoice issue --month` for every tenant (idempotent), corrections, lists in
every format, and bad input as one line with nothing recorded."""

from __future__ import annotations

import csv
import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from uuid import UUID

import pytest

from bootstrap import open_ledger
from cli.main import run as ledger_cli
from domain.aggregates import invoice_id


@pytest.fixture(autouse=True)
def terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables render at one width whatever the runner's terminal is (pytest-xdist workers have
    none): wide, as these tests check what the commands record, not the layout."""
    monkeypatch.setenv("COLUMNS", "200")


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = ledger_cli(list(args))
    return code, out.getvalue(), err.getvalue()


def wrote(db: str, *args: str) -> tuple[str, int]:
    """Run a write command; (id, position) from its `what: id=... position=N` line."""
    code, out, err = run(*args, "--db", db)
    assert code == 0, (args, out, err)
    found = re.search(r"id=(\S+) position=(\d+)", out)
    assert found, out
    return found.group(1), int(found.group(2))


def head(db: str) -> int:
    ledger = open_ledger(db)
    try:
        return ledger.max_position()
    finally:
        ledger.close()


def refused(db: str, *args: str) -> str:
    before = head(db)
    code, out, err = run(*args, "--db", db)
    assert code == 2, (args, out, err)
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert head(db) == before, "a refused command recorded events"
    return err


@pytest.fixture
def db(database_url: str) -> str:
    assert run("init", "--db", database_url)[0] == 0
    return database_url


def capacity(db: str) -> str:
    """Stargate with 16 H100s in service from 2025-01, paid from Series B; returns the site id."""
    site, _ = wrote(db, "site", "add", "UK Stargate", "--country", "GB", "--grid", "225", "--pue", "1.18",
                    "--carbon-free-share", "0.6", "--effective-from", "2025-01-01T00:00Z")
    wrote(db, "funding", "open", "Series B", "--currency", "USD", "--opened-at", "2025-01-01T00:00Z")
    wrote(db, "funding", "commit", "Series B", "--investor", "Fund X", "--amount", "1000000", "--currency", "USD",
          "--equity-percent", "10")
    wrote(db, "funding", "tranche", "series b", "--investor", "Fund X", "--amount", "1000000", "--currency", "USD",
          "--received-at", "2025-01-02T00:00Z")
    order, _ = wrote(db, "order", "place", "--round", "Series B", "--site", "Stargate", "--model", "H100-SXM",
                     "--quantity", "16", "--unit-price", "25000", "--currency", "USD",
                     "--placed-at", "2025-01-03T00:00Z")
    wrote(db, "order", "deliver", order, "--quantity", "16", "--at", "2025-01-10T00:00Z")
    wrote(db, "order", "commission", order, "--quantity", "16", "--at", "2025-01-11T00:00Z")
    return site


def test_a_month_from_capacity_to_invoices(db: str) -> None:
    site = capacity(db)
    for name, currency in (("Lab", "USD"), ("Studio", "EUR"), ("Idle", "GBP")):
        wrote(db, "tenant", "add", name, "--currency", currency, "--rate", "H100-SXM=2.50")
    assert "start: " in refused(db, "reservation", "book", "--tenant", "Lab", "--site", site, "--model", "H100-SXM",
                                "--gpus", "2", "--start", "2025-03-01T00:00Z", "--end", "2025-03-02T00:00Z")
    for tenant in ("Lab", "Studio"):
        wrote(db, "reservation", "book", "--tenant", tenant, "--site", site, "--model", "H100-SXM", "--gpus", "2",
              "--start", "2025-03-01T00:00Z", "--end", "2025-03-02T00:00Z", "--backfill")

    code, out, err = run("invoice", "issue", "--month", "2025-03", "--db", db)
    assert code == 0, err
    assert "2025-03: 2 issued, 0 already issued" in out and out.count("invoice issued:") == 2
    code, out, _ = run("invoice", "issue", "--month", "2025-03", "--db", db)
    assert code == 0 and "2025-03: 0 issued, 2 already issued" in out and "invoice issued:" not in out
    refused(db, "invoice", "issue", "--month", "2999-01")  # not closed
    refused(db, "invoice", "issue", "--month", "2025-03", "--tenant", "Lab")  # already issued: one line

    code, out, _ = run("invoice", "list", "--format", "json", "--db", db)
    listed = json.loads(out)
    assert code == 0 and sorted(r["tenant"] for r in listed) == ["Lab", "Studio"]
    assert {r["total"] for r in listed} == {"120.00"}
    lab = next(r for r in listed if r["tenant"] == "Lab")
    assert lab["id"] == str(invoice_id(UUID(lab["tenant_id"]), "2025-03"))

    wrote(db, "invoice", "credit", lab["id"], "--amount", "20", "--reason", "SLA breach")
    code, out, _ = run("invoice", "show", lab["id"], "--format", "json", "--db", db)
    shown = json.loads(out)
    assert (shown["total"], shown["credited"], shown["due"], shown["status"]) == ("120.00", "20", "100.00", "issued")
    assert [n["reason"] for n in shown["credit_notes"]] == ["SLA breach"] and len(shown["lines"]) == 1
    code, out, _ = run("invoice", "show", lab["id"], "--db", db)
    assert code == 0 and "Credit notes" in out and "SLA breach" in out and "120.00" in out
    assert "credit note" in refused(db, "invoice", "void", lab["id"], "--reason", "wrong entity")  # credited
    studio = next(r for r in listed if r["tenant"] == "Studio")
    wrote(db, "invoice", "void", studio["id"], "--reason", "wrong entity")
    refused(db, "invoice", "void", studio["id"], "--reason", "twice")
    refused(db, "invoice", "credit", studio["id"], "--amount", "1", "--reason", "void")

    # a single tenant with nothing to bill gets an (empty) invoice when asked for by name, as over HTTP
    empty, _ = wrote(db, "invoice", "issue", "--month", "2025-03", "--tenant", "Idle")
    code, out, _ = run("invoice", "show", empty, "--format", "json", "--db", db)
    assert json.loads(out)["lines"] == [] and json.loads(out)["total"] == "0"


def test_changes_and_lists(db: str) -> None:
    site = capacity(db)
    wrote(db, "site", "revise", "Stargate", "--grid", "200", "--pue", "1.15", "--carbon-free-share", "0.7",
          "--effective-from", "2026-01-01T00:00Z")
    pool, _ = wrote(db, "pool", "decommission", "--site", site, "--model", "H100-SXM", "--quantity", "2",
                    "--reason", "failed boards")
    wrote(db, "tenant", "add", "Lab", "--currency", "USD", "--rate", "H100-SXM=2.50")
    wrote(db, "tenant", "plan", "Lab", "--rate", "H100-SXM=2.40", "--cancellation-fee-share", "0.2")
    wrote(db, "tenant", "suspend", "Lab", "--reason", "unpaid")
    assert "suspended" in refused(db, "reservation", "book", "--tenant", "Lab", "--site", site, "--model", "H100-SXM",
                                  "--gpus", "1", "--start", "2100-01-01T00:00Z", "--end", "2100-01-01T02:00Z")
    wrote(db, "tenant", "reinstate", "Lab")
    booked, _ = wrote(db, "reservation", "book", "--tenant", "Lab", "--site", site, "--model", "H100-SXM",
                      "--gpus", "1", "--start", "2100-01-01T00:00Z", "--end", "2100-01-01T02:00Z")
    wrote(db, "reservation", "extend", booked, "--end", "2100-01-01T05:00Z")
    wrote(db, "reservation", "cancel", booked)

    code, out, _ = run("tenant", "list", "--format", "json", "--db", db)
    [lab] = json.loads(out)
    assert (lab["rates"], lab["cancellation_fee_share"], lab["suspended"]) == ({"H100-SXM": "2.40"}, "0.2", False)
    code, out, _ = run("site", "list", "--format", "csv", "--db", db)
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert (row["id"], row["grid_intensity_g_per_kwh"], row["revisions"]) == (site, "200", "2")
    code, out, _ = run("funding", "list", "--db", db)
    assert code == 0 and "Series B" in out and "Funding rounds" in out
    code, out, _ = run("tenant", "list", "--db", db)
    assert code == 0 and "Lab" in out and "H100-SXM=2.40" in out
    assert pool


@pytest.mark.parametrize("args", [
    ("site", "add", "X", "--country", "GBR", "--grid", "1", "--pue", "1.1", "--carbon-free-share", "0"),
    ("site", "revise", "Nowhere", "--grid", "1", "--pue", "1.1", "--carbon-free-share", "0"),
    ("tenant", "add", "X", "--currency", "USD", "--rate", "H100-SXM"),
    ("tenant", "add", "X", "--currency", "XXX", "--rate", "H100-SXM=1"),
    ("funding", "open", "R", "--currency", "USD", "--opened-at", "yesterday"),
    ("invoice", "issue", "--month", "2025-13"),
    ("invoice", "show", "not-an-id"),
    ("pool", "decommission", "--site", "00000000-0000-0000-0000-000000000001", "--model", "H100-SXM",
     "--quantity", "1", "--reason", "x"),
])
def test_bad_input_is_one_line_and_records_nothing(db: str, args: tuple[str, ...]) -> None:
    refused(db, *args)


def test_close_and_journal_export_on_an_empty_ledger(tmp_path: object) -> None:
    """`ledger close` closes an ended month once (exit 0 both times, the second recording
    nothing), refuses a month that has not ended in one line, and a closed month's journal
    exports without the open-month note."""
    db = str(tmp_path / "ledger.db")  # type: ignore[operator]
    assert run("init", "--db", db)[0] == 0
    code, out, _ = run("close", "--month", "2026-01", "--db", db)
    assert code == 0 and out.startswith("month closed: month=2026-01 position=1 invoices=0"), out
    code, out, _ = run("close", "--month", "2026-01", "--db", db)
    assert code == 0 and "2026-01 is already closed" in out and "nothing recorded" in out and head(db) == 1
    assert "2999-01 has not ended yet" in refused(db, "close", "--month", "2999-01")
    for bad in ("January", "2026-13", "26-01", ""):
        assert "month" in refused(db, "close", "--month", bad)
    code, out, err = run("journal", "export", "--month", "2026-01", "--db", db)
    assert code == 0 and out.splitlines() == ["External ID,Posting Period,Date,Currency,Account,Debit,Credit,Memo,"
                                              "Name,Reference"] and "not closed" not in err
    code, out, err = run("journal", "export", "--month", "2026-02", "--db", db)
    assert code == 0 and "2026-02 is not closed" in err
