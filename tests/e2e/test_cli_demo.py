"""`ledger demo` and `ledger report` as a user runs them: a real process, a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs `ledger` as a child process

MONTHS = "2"


def ledger(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A pipe's width is the CLI's own default: no COLUMNS/LINES inherited from the test process
    (a pytest-xdist worker or another test may have set a narrow one)."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=300,
                          env={**inherited, **(env or {})})


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, subprocess.CompletedProcess[str]]]:
    db = tmp_path_factory.mktemp("cli") / "ledger.db"
    result = ledger("demo", "--months", MONTHS, "--db", str(db))
    yield db, result


def test_the_demo_prints_the_four_reports_and_the_next_commands(demo_db: tuple[Path, subprocess.CompletedProcess[str]]
                                                                ) -> None:
    db, result = demo_db
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for title in ("Fleet utilisation per site and month", "Top tenants' bills for 2026-10",
                  "Sustainability per site and tenant", "Capex position of the round",
                  "Commitments", "Credits", "Revenue recognition"):
        assert title in out
    for name in ("Thames Estuary AI Campus", "Nordfjord Hydro Campus", "Series B", "1,100,000,000"):
        assert name in out
    for command in ("ledger serve", "ledger report", "ledger audit verify"):
        assert command in out
    assert "Traceback" not in result.stderr
    assert db.exists()


def test_running_it_again_says_the_data_is_already_there(demo_db: tuple[Path, subprocess.CompletedProcess[str]]
                                                         ) -> None:
    db, _ = demo_db
    size = db.stat().st_size
    again = ledger("demo", "--months", MONTHS, "--db", str(db))
    assert again.returncode == 0
    assert "already" in again.stdout and "--reset" in again.stdout
    assert db.stat().st_size == size


def test_reports_as_csv_and_json_agree(demo_db: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    db, _ = demo_db
    as_csv = ledger("report", "billing_totals", "--db", str(db), "--format", "csv")
    as_json = ledger("report", "billing_totals", "--db", str(db), "--format", "json")
    assert as_csv.returncode == 0 and as_json.returncode == 0, as_csv.stderr + as_json.stderr
    lines = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    answer = json.loads(as_json.stdout)
    data = answer["rows"]
    rows, totals = lines[:len(data)], lines[len(data):]  # the rows, then a totals line per currency
    assert len(rows) == len(data) > 0 and len(totals) == len(answer["totals"]) == 4
    assert {r["currency"] for r in rows} == {"USD", "GBP", "EUR", "NOK"}
    assert sum(Decimal(r["total"]) for r in rows) == sum(Decimal(r["total"]) for r in data)
    assert all(t["tenant"] == "Total" for t in totals)
    for total in answer["totals"]:  # each currency's total is its rows' sum
        assert Decimal(total["total"]) == sum(Decimal(r["total"]) for r in data if r["currency"] == total["currency"])
    assert all(r["tenant"] and r["tenant"].count("-") != 4 for r in rows)  # names, not ids


def test_report_filters_take_names(demo_db: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    db, _ = demo_db
    day = ledger("report", "utilisation", "--db", str(db), "--site", "nordfjord", "--model", "GB300",
                 "--granularity", "day", "--from", "2026-10-01", "--to", "2026-10-07", "--format", "json")
    assert day.returncode == 0, day.stderr
    rows = json.loads(day.stdout)["rows"]
    assert [r["period"] for r in rows] == [f"2026-10-0{d}" for d in range(1, 8)]
    assert {r["site"] for r in rows} == {"Nordfjord Hydro Campus"} and {r["model"] for r in rows} == {"GB300"}
    tenant = ledger("report", "sustainability", "--db", str(db), "--tenant", "Helixa AI", "--format", "csv")
    assert tenant.returncode == 0, tenant.stderr
    assert {r["tenant"] for r in csv.DictReader(io.StringIO(tenant.stdout))} == {"Helixa AI", "Total"}
    rounds = ledger("report", "funding_rounds", "--db", str(db))
    assert rounds.returncode == 0 and "Series B" in rounds.stdout


def test_every_report_of_the_registry_runs_from_the_command_line(
        demo_db: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    from projections.registry import REPORTS

    db, _ = demo_db
    for name, report in REPORTS.items():
        result = ledger("report", name, "--db", str(db), "--format", "json")
        assert result.returncode == 0, (name, result.stderr)
        rows = json.loads(result.stdout)["rows"]
        assert rows, f"the demo gives the {name} report no rows"
        assert all({c.name for c in report.columns} <= set(row) for row in rows), name
    wrong = ledger("report", "biling", "--db", str(db))
    assert wrong.returncode == 2 and "did you mean 'billing'" in wrong.stderr


def test_report_errors_are_one_line(demo_db: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    db, _ = demo_db
    for args, expected in ((("report", "capex", "--tenant", "Helixa AI"), "does not apply"),
                           (("report", "billing", "--tenant", "Nobody Ltd"), "no tenant named"),
                           (("report", "utilisation", "--from", "2026-13"), "--from: month 13 is not a month (01-12)"),
                           (("report", "utilisation", "--model", "B999"), "unknown GPU model")):
        result = ledger(*args, "--db", str(db))
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], (args, result.stderr)


def recorded(output: str) -> str:
    """'Recorded 12,345 events' from the demo's summary line."""
    (line,) = [line for line in output.splitlines() if line.startswith("Recorded")]
    return line.split(" and brought")[0]


def bills(db: Path) -> list[tuple[str, str, str, str]]:
    result = ledger("report", "billing_totals", "--db", str(db), "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = csv.DictReader(io.StringIO(result.stdout))
    return sorted((r["tenant"], r["month"], r["currency"], r["total"]) for r in rows if r["tenant"] != "Total")


def test_reset_rebuilds_the_same_history_from_the_same_seed(demo_db: tuple[Path, subprocess.CompletedProcess[str]],
                                                            tmp_path: Path) -> None:
    db, first = demo_db
    other = tmp_path / "other.db"
    assert ledger("demo", "--months", "1", "--db", str(other)).returncode == 0
    reset = ledger("demo", "--months", MONTHS, "--db", str(other), "--reset")
    assert reset.returncode == 0, reset.stderr
    assert "Reset SQLite" in reset.stderr
    assert recorded(reset.stdout) == recorded(first.stdout)
    assert bills(other) == bills(db)


def test_the_demo_in_a_pipe_prints_no_progress(demo_db: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, result = demo_db
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr + result.stdout
    assert result.stderr.strip() == ""  # no bars, no blank lines left behind by them
