"""Bad input on the command line: one line on stderr, exit 2, no traceback, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import run


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("argv, expected", [
    (["demo", "--scale", "huge"], "huge"),
    (["demo", "--months", "0"], "months"),
    (["demo", "--months", "many"], "months"),
    (["demo", "--seed", "x"], "seed"),
    (["demo", "--no-such-option"], "no-such-option"),
    (["report", "nosuch"], "nosuch"),
    (["report"], "name"),
    (["report", "utilisation", "--format", "xml"], "xml"),
    (["report", "utilisation", "--granularity", "week"], "week"),
    (["frobnicate"], "frobnicate"),
])
def test_bad_options_are_one_line_and_exit_2(argv: list[str], expected: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "ledger.db"
    assert run([*argv, "--db", str(db)] if argv[0] in ("demo",) else argv) == 2
    assert expected in one_error_line(capsys)
    assert not db.exists()


@pytest.mark.parametrize("url, expected", [
    ("mysql://root@localhost/ledger", "unsupported database URL"),
    ("postgresql://postgres@127.0.0.1:5432/", "names no database"),
    ("postgresql://postgres@127.0.0.1:notaport/ledger", "invalid port"),
    ("memory:", "SQLite path or a postgresql:// URL"),
])
def test_a_bad_database_url_is_refused(url: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "--db", url]) == 2
    assert expected in one_error_line(capsys)


def test_an_unreachable_postgresql_server_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["demo", "--db", "postgresql://postgres@127.0.0.1:1/ledger"]) == 2
    line = one_error_line(capsys)
    assert "cannot connect to PostgreSQL 127.0.0.1:1/ledger" in line


def test_a_sqlite_file_in_a_missing_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "missing" / "ledger.db"
    assert run(["demo", "--db", str(db)]) == 2
    assert "does not exist" in one_error_line(capsys)
    assert not db.parent.exists()


def test_a_report_on_a_missing_ledger_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "ledger.db"
    assert run(["report", "billing", "--db", str(db)]) == 2
    assert "no ledger at" in one_error_line(capsys)
    assert not db.exists()


def test_reset_refuses_a_file_that_is_not_a_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    precious = tmp_path / "notes.db"
    precious.write_text("not a database, and certainly not yours to delete")
    assert run(["demo", "--reset", "--db", str(precious)]) == 2
    assert "refusing to reset" in one_error_line(capsys)
    assert precious.read_text().startswith("not a database")


def test_the_demo_does_not_write_into_another_programs_database(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    other = tmp_path / "crm.db"
    with sqlite3.connect(other) as conn:
        conn.execute("create table customers (name text)")
    before = other.read_bytes()
    assert run(["demo", "--db", str(other)]) == 2
    assert "holds no ledger" in one_error_line(capsys)
    assert other.read_bytes() == before


def test_the_database_url_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LEDGER_DATABASE_URL", "mysql://elsewhere/ledger")
    assert run(["demo"]) == 2
    assert "mysql://elsewhere/ledger" in one_error_line(capsys)


def test_no_arguments_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run([]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "report", "serve", "verify"):
        assert command in out


def test_the_installed_command_prints_one_line_and_exits_2() -> None:
    result = subprocess.run([sys.executable, "-m", "cli", "demo", "--scale", "huge"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
