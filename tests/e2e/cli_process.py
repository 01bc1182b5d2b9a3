"""`python -m cli ...` in a real process, as a user runs it (helpers for the CLI tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg


def ledger(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `ledger ARGS...` (stdout and stderr are pipes, so never a terminal). The child gets no
    COLUMNS/LINES from the test process (another test, or a worker of pytest-xdist, may have set a
    narrow one): a pipe's width is the CLI's own default unless ``env`` gives one."""
    hidden = ("LEDGER_DATABASE_URL", "LEDGER_DEBUG", "COLUMNS", "LINES")
    clean = {k: v for k, v in os.environ.items() if k not in hidden}
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=timeout,
                          env={**clean, **(env or {})}, cwd=cwd)


def one_line(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The one `error: ...` line a refused command prints (and nothing else on stderr)."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return result.stderr.strip()


def schema_objects(admin: str, schema: str) -> tuple[int, int]:
    """(tables in information_schema, every relation, function and type in ``schema``): what a
    silent creation would leave behind."""
    with psycopg.connect(admin) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM information_schema.tables WHERE table_schema = %(s)s),"
            " (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(s)s)"
            " + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %(s)s)"
            " + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = %(s)s)",
            {"s": schema}).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
