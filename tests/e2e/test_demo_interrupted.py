"""An interrupted `ledger demo` is never taken for a finished one: exit 130 and one line, the next
demo refuses the partial store (naming --reset), reports warn, `--reset` completes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.cli_process import ledger

pytestmark = pytest.mark.slow  # runs `ledger` as child processes


def position(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2) as conn:
            row = conn.execute("SELECT max(rowid) FROM stored_events").fetchone()
    except sqlite3.Error:  # not created yet, or locked for a moment
        return 0
    return int(row[0] or 0) if row else 0


def wait_for(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)  # polling a condition, not ordering by sleeping


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_demo_is_partial_refused_and_rebuilt_by_reset(tmp_path: Path, signum: int) -> None:
    db = tmp_path / "ledger.db"
    env = {k: v for k, v in os.environ.items() if k not in ("LEDGER_DATABASE_URL", "LEDGER_DEBUG")}
    child = subprocess.Popen([sys.executable, "-m", "cli", "demo", "--months", "12", "--db", str(db)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_for(lambda: position(db) > 200 or child.poll() is not None)
        assert child.poll() is None, "the demo finished before it could be interrupted"
        child.send_signal(signum)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 130, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted after "), err
    assert lines[0].endswith(f"events; the ledger at SQLite {db} is partial"), err
    assert "Traceback" not in out + err

    again = ledger("demo", "--months", "1", "--db", str(db))
    assert again.returncode == 2, (again.stdout, again.stderr)
    assert again.stderr.count("\n") == 1 and "partial" in again.stderr and "--reset" in again.stderr

    report = ledger("report", "billing", "--db", str(db), "--format", "csv")
    assert report.returncode == 0, report.stderr
    warnings = [line for line in report.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "partial demo" in warnings[0], report.stderr

    rebuilt = ledger("demo", "--months", "1", "--reset", "--db", str(db))
    assert rebuilt.returncode == 0, rebuilt.stderr
    whole = ledger("report", "billing", "--db", str(db), "--format", "csv")
    assert whole.returncode == 0 and "warning" not in whole.stderr, whole.stderr
