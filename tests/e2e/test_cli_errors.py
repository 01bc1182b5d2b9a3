"""Bad input on the command line: one line on stderr, exit 2, no traceback, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import run
from tests.e2e.cli_process import ledger, one_line


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
    (["report"], "NAME"),
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


@pytest.mark.slow  # runs `ledger` as a child process
def test_the_installed_command_prints_one_line_and_exits_2() -> None:
    result = subprocess.run([sys.executable, "-m", "cli", "demo", "--scale", "huge"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr


# ---- failures a user meets, each one line saying what to do, run as a user runs them ---------

@pytest.mark.slow  # runs `ledger` as a child process
def test_a_port_out_of_range_is_one_line(tmp_path: Path) -> None:
    assert run(["init", "--db", str(tmp_path / "l.db")]) == 0
    line = one_line(ledger("serve", "--db", str(tmp_path / "l.db"), "--port", "99999"))
    assert "--port" in line and "65535" in line


@pytest.mark.slow  # runs `ledger` as a child process
def test_several_workers_on_sqlite_are_one_line_and_create_nothing(tmp_path: Path) -> None:
    line = one_line(ledger("serve", "--db", str(tmp_path / "l.db"), "--workers", "2", "--create"))
    assert "--workers" in line and "PostgreSQL" in line
    assert not (tmp_path / "l.db").exists()


@pytest.mark.slow  # runs `ledger` as a child process
def test_an_unknown_log_level_lists_the_choices(tmp_path: Path) -> None:
    line = one_line(ledger("serve", "--db", str(tmp_path / "l.db"), "--log-level", "foo"))
    assert "'foo'" in line and "critical" in line and "debug" in line and "Value error" not in line


@pytest.mark.parametrize("where", ["environment", ".env"])
@pytest.mark.slow  # runs `ledger` as a child process
def test_a_setting_that_does_not_parse_is_one_line_naming_it(where: str, tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    assert run(["init", "--db", str(db)]) == 0
    env = {"LEDGER_MAX_BODY_BYTES": "abc"} if where == "environment" else {}
    if where == ".env":
        (tmp_path / ".env").write_text("LEDGER_MAX_BODY_BYTES=abc\n")
    line = one_line(ledger("serve", "--db", str(db), env=env, cwd=tmp_path))
    assert "LEDGER_MAX_BODY_BYTES='abc'" in line and f"from {'the environment' if where == 'environment' else '.env'}" \
        in line and "ledger config show" in line


@pytest.mark.slow  # runs `ledger` as a child process
def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    db = tmp_path / "l.db"
    assert run(["init", "--db", str(db)]) == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line(ledger("serve", "--db", str(db), "--port", str(port)))
    assert f"port {port} on 127.0.0.1 is already in use" in line and "--port" in line


@pytest.mark.postgres
@pytest.mark.slow  # runs `ledger` as a child process
def test_serve_on_a_database_that_does_not_exist_is_one_line() -> None:
    from tests.conftest import postgres_admin_url
    from tests.postgres_server import DEFAULT_URL

    admin = postgres_admin_url()  # skips without a server
    assert admin
    # Trust authentication accepts any password here, so a refused login is simulated below
    # (test_a_refused_password_says_so); a missing database is the server's refusal we can cause.
    url = DEFAULT_URL.replace("postgres@", "postgres:wrongpw@").rsplit("/", 1)[0] + "/no_such_database"
    line = one_line(ledger("serve", "--db", url))
    assert 'database "no_such_database" does not exist' in line and "createdb" in line
    assert "wrongpw" not in line


@pytest.mark.slow  # runs `ledger` as a child process
def test_serve_on_a_closed_port_is_one_line() -> None:
    line = one_line(ledger("serve", "--db", "postgresql://postgres:wrongpw@127.0.0.1:1/postgres"))
    assert "cannot connect to PostgreSQL 127.0.0.1:1/postgres" in line and "host and port" in line
    assert "wrongpw" not in line


def test_a_refused_password_says_so(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import psycopg

    def refuse(*_: object, **__: object) -> None:
        raise psycopg.OperationalError('connection failed: connection to server at "127.0.0.1", port 5432 failed: '
                                       'FATAL:  password authentication failed for user "postgres"')

    monkeypatch.setattr(psycopg, "connect", refuse)
    assert run(["serve", "--db", "postgresql://postgres:wrongpw@127.0.0.1:5432/postgres"]) == 2
    line = one_error_line(capsys)
    assert "password authentication failed" in line and "check the user and password" in line
    assert "wrongpw" not in line


@pytest.mark.slow  # runs `ledger` as a child process
def test_a_closed_pipe_ends_quietly_with_141(tmp_path: Path) -> None:
    from bootstrap import open_ledger
    from tests.builders import SimClock, fleet, reserve

    db = str(tmp_path / "l.db")
    ledger_ = open_ledger(db, clock=SimClock())
    f = fleet(ledger_, gpus=400)
    for i in range(1200):  # > 2 export pages (2,000 events each; a pipe takes 64 KB)
        reserve(f, 1, 1 + i, 2 + i)
    ledger_.close()
    process = subprocess.Popen([sys.executable, "-m", "cli", "export", "events", "--db", db],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b'{"position":1')
    process.stdout.close()  # `| head -1`
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert err == ""


@pytest.mark.slow  # runs `ledger` as a child process
def test_unknown_names_suggest_the_closest(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    assert run(["init", "--db", str(db)]) == 0
    assert "did you mean 'billing'?" in one_line(ledger("report", "biling", "--db", str(db)))
    line = one_line(ledger("rebuild", "biling", "--db", str(db)))
    assert "unknown projection 'biling'" in line and "did you mean 'billing'?" in line
    assert "did you mean 'capex'?" in one_line(ledger("verify", "capx", "--db", str(db)))
