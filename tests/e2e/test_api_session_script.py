"""The HTTP session of docs/api.md is a script (examples/api_session.sh): run it against `ledger serve`
in its own process on a fresh SQLite ledger, so the documented session cannot rot."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from access.issuing import issue_token
from bootstrap import init_store, open_ledger
from tests.reliability.process import LedgerServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "api_session.sh"
LEDGER = Path(sys.executable).parent / "ledger"  # the installed console script, as docs/api.md runs it

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs bash and curl"),
    pytest.mark.skipif(not LEDGER.exists(), reason="the `ledger` console script is not installed next to python"),
]


def test_the_readme_session_runs_against_a_live_server(tmp_path: Path) -> None:
    url = str(tmp_path / "ledger.db")
    init_store(url)
    tokens = {f"{role.upper()}_TOKEN": issue_token(url, role)[0] for role in ("operator", "finance", "meter")}
    server = LedgerServer(url)
    server.start()
    try:
        env = {**os.environ, **tokens, "LEDGER_URL": server.base, "LEDGER": str(LEDGER), "LEDGER_DATABASE_URL": url}
        done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=300, env=env,
                              cwd=tmp_path)
    finally:
        server.stop()
    assert done.returncode == 0, (done.stdout, done.stderr)
    out = done.stdout
    assert "64 H100-SXM in service" in out
    assert re.search(r"^reservation: \S+ \(\S+ \.\. \S+\) at position \d+$", out, re.M), out
    assert "usage: 2 records at position" in out
    invoice = re.search(r"^invoice: (\S+) total 240\.00 USD$", out, re.M)  # 2 GPUs x 48 h x 2.50
    assert invoice, out
    assert ",reservation," in out and ",240.00" in out  # the billing CSV's line
    assert '"invoice_status": "issued"' in out and '"used_gpu_hours": "3.75"' in out
    assert out.rstrip().endswith("done")
    ledger = open_ledger(url)
    try:
        recorded = ledger.get_invoice(invoice.group(1))  # what the session wrote is in the log
        assert (recorded.month, recorded.total) == ("2025-03", Decimal("240.00"))
    finally:
        ledger.close()
