"""Smoke run of the benchmark entry point: one cheap suite, --quick, on SQLite (< 30 s).

The full suite (`python -m bench all --db postgresql://...`) is not part of the tests; this
only proves the entry point, a suite and the results file still work.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs the benchmark as a child process

ROOT = Path(__file__).resolve().parents[2]


def test_bench_usage_quick_on_sqlite(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "bench", "usage", "--db", "sqlite", "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["machine"]["cores"] >= 1
    cases = {row["case"]: row for row in results["rows"]}
    service = next(row for case, row in cases.items() if case.startswith("service record_usage"))
    assert service["rate_per_s"] > 0 and service["ratio"] > 0
    assert "target" in service and isinstance(service["met"], bool)
