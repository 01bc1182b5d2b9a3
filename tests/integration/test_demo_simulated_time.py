"""The demo records its events at the simulated time, so a report as of a demo moment is what
the ledger knew then: the billing report as of each month's close equals the invoices issued at
that close."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bootstrap import open_ledger
from cli.demo import build_history
from cli.demo.timeline import history_window
from projections.asof import report_as_of
from projections.audit.store import AuditStore

MONTHS = 2
LINE_FIELDS = ("line_key", "kind", "reservation_id", "origin_month", "gpu_hours", "rate", "amount")


pytestmark = pytest.mark.slow  # builds a demo history: ~6 s


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = str(Path(tmp_path_factory.mktemp("demo")) / "ledger.db")
    build_history(url, months=MONTHS, scale="small", seed=3)
    return url


def test_every_event_of_the_demo_carries_a_simulated_time(demo: str) -> None:
    start, end = history_window(MONTHS)
    end += timedelta(days=1)  # the last hours are metered just after the window closes
    ledger = open_ledger(demo)
    try:
        stamps = [ledger.mapper.to_domain_event(n).timestamp for n in AuditStore(ledger).notifications()]
    finally:
        ledger.close()
    assert stamps and all(start <= t <= end for t in stamps), (min(stamps), max(stamps), start, end)
    assert stamps == sorted(stamps), "the simulated clock never goes back"


def test_billing_as_of_each_month_close_equals_the_invoices_issued_then(demo: str) -> None:
    ledger = open_ledger(demo)
    try:
        invoices: list[Any] = [e for e in (ledger.mapper.to_domain_event(n) for n in AuditStore(ledger).notifications())
                               if type(e).__name__ == "Issued" and hasattr(e, "billed_through_position")]
        assert invoices, "the demo issued no invoice"
        for invoice in invoices:
            answer = report_as_of(demo, ledger, "billing", {"tenant_id": str(invoice.tenant_id),
                                                            "from": invoice.month, "to": invoice.month},
                                  invoice.timestamp.isoformat())
            assert answer.position >= invoice.billed_through_position
            got = [{k: str(row[k]) if row[k] is not None else None for k in LINE_FIELDS} for row in answer.rows]
            # a line without GPU-hours on the invoice (a true-up, credits applied) is 0 GPU-hours in the report
            want = [{k: str(line[k]) if line.get(k) is not None else ("0" if k == "gpu_hours" else None)
                     for k in LINE_FIELDS} for line in invoice.lines]
            assert sorted(got, key=lambda r: r["line_key"]) == sorted(want, key=lambda r: r["line_key"]), invoice.month
    finally:
        ledger.close()
