"""Progress output: bars on a terminal (stderr a pty); in pipes and files nothing but at most one
summary line, never a carriage return; nothing to do is never an absurd rate."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bootstrap import open_ledger
from tests.builders import SimClock, fleet, reserve
from tests.e2e.cli_process import ledger

pytestmark = pytest.mark.slow  # runs `ledger` as a child process


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A small ledger with its projections and chain up to date, and its export."""
    where = tmp_path_factory.mktemp("progress")
    db = where / "ledger.db"
    book = open_ledger(str(db), clock=SimClock())
    f = fleet(book, gpus=50)
    for i in range(60):
        reserve(f, 1, 1 + i, 3 + i)
    book.close()
    assert ledger("project", "--db", str(db)).returncode == 0
    export = where / "events.jsonl"
    assert ledger("export", "events", "--db", str(db), "--out", str(export)).returncode == 0
    yield db, export


def commands(db: Path, export: Path, fresh: Path) -> dict[str, tuple[str, ...]]:
    return {
        "catching up": ("project", "--db", str(db)),
        "rebuilding": ("rebuild", "all", "--db", str(db)),
        "verifying billing": ("verify", "billing", "--db", str(db)),
        "verifying the chain": ("audit", "verify", "--db", str(db)),
        "replaying": ("audit", "replay", "--db", str(db)),
        "exporting": ("export", "events", "--db", str(db), "--out", str(fresh.parent / "again.jsonl")),
        "importing": ("import", "events", str(export), "--db", str(fresh)),
    }


def on_a_terminal(*args: str) -> tuple[int, str]:
    """Run `ledger ARGS` with stderr on a pseudo-terminal; (exit code, what the terminal got)."""
    main, secondary = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-m", "cli", *args], stdout=subprocess.DEVNULL, stderr=secondary,
                               env=env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the process closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return process.wait(timeout=120), b"".join(chunks).decode(errors="replace")


def test_pipes_and_files_get_no_progress_and_no_carriage_returns(history: tuple[Path, Path], tmp_path: Path) -> None:
    db, export = history
    fresh = tmp_path / "imported.db"
    assert ledger("init", "--db", str(fresh)).returncode == 0
    for label, args in commands(db, export, fresh).items():
        result = ledger(*args)
        assert result.returncode == 0, (label, result.stderr)
        assert "\r" not in result.stderr and "\r" not in result.stdout, label
        assert len(result.stderr.splitlines()) <= 1, (label, result.stderr)  # at most one summary line
        assert label not in result.stderr, label


def test_a_terminal_gets_progress_bars(history: tuple[Path, Path], tmp_path: Path) -> None:
    db, export = history
    fresh = tmp_path / "imported.db"
    assert ledger("init", "--db", str(fresh)).returncode == 0
    for label, args in commands(db, export, fresh).items():
        code, screen = on_a_terminal(*args)
        assert code == 0, (label, screen)
        assert label in screen, (label, screen)
        assert "━" in screen, (label, screen)  # the bar


def test_nothing_to_do_prints_no_rate(history: tuple[Path, Path]) -> None:
    db, _ = history
    code, screen = on_a_terminal("project", "--db", str(db))
    assert code == 0
    assert "events/s" not in screen and "0/0" in screen
    result = ledger("project", "--db", str(db))
    assert result.stderr == "" and "events/s" not in result.stdout
