"""Every report of the registry on real data, on both stores: JSON has one representation per
column (exact decimals as strings, counts as numbers), over the command line and HTTP; the table
fits 100 columns with every shown number whole, tenants by name, a totals row per currency."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

from rich.console import Console

from bootstrap import open_ledger
from cli.render import Format
from cli.report import run_report
from operations.dunning import run_dunning
from projections.registry import REPORTS
from projections.reports.base import Report
from tests.builders import SimClock, fleet, hour, register_tenant, reserve
from tests.e2e.conftest import Api
from tests.e2e.scenario import bearer, build_capacity, ok
from tests.e2e.scenario import register_tenant as register_tenant_http
from tests.e2e.scenario import reserve as reserve_http

PLAIN_DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def assert_one_representation(report: Report, rows: list[dict[str, Any]], *, totals: bool = False) -> None:
    """Decimal columns: strings in plain notation; counts: integers; labels: strings; or null
    (``totals``: the totals objects, holding the totalled columns only)."""
    assert rows, f"no rows for {report.name}"
    for column in report.columns:
        if totals and column.rule is None and column.name not in ("currency", "reporting_currency"):
            assert all(column.name not in row for row in rows), (report.name, column.name)
            continue
        values = [row[column.name] for row in rows if row.get(column.name) is not None]
        if column.is_decimal:
            assert all(isinstance(v, str) and PLAIN_DECIMAL.match(v) for v in values), (report.name, column, values)
        elif column.is_count:
            assert all(type(v) is int for v in values), (report.name, column.name, values)
        else:
            assert all(isinstance(v, str) for v in values), (report.name, column.name, values)


def history(url: str) -> None:
    """Two tenants (named so that id order and name order differ), one billed in EUR; usage in
    January, bookings into 2027 (future months), an invoice."""
    clock = SimClock()
    ledger = open_ledger(url, clock=clock)
    try:
        f = fleet(ledger, gpus=8, rate="2.50")
        euro = register_tenant(ledger, currency="EUR", rate="2.30", name=f"Aardvark Analytics {uuid4().hex[:4]}")
        r1 = reserve(f, 2, 1, 49)
        # every report has rows: a commitment settled with January's invoice, credits, an FX rate
        ledger.sign_contract(tenant_id=f.tenant_id, period="month", term_start="2026-01", term_end="2026-06",
                             amount="500.00")
        ledger.purchase_credits(euro, amount="100.00")
        ledger.record_fx_rates([{"base": "EUR", "quote": "USD", "rate": "1.0842", "effective_date": "2026-01-30",
                                 "source": "ECB reference rate"}])
        ledger.confirm_reservation(tenant_id=euro, site_id=f.site_id, model=f.model, gpus=3, start=hour(24),
                                   end=hour(24 * 400))
        clock.set(hour(60))
        ledger.record_usage([{"record_id": uuid4(), "reservation_id": r1, "hour": hour(h), "gpu_hours": "1.5"}
                             for h in range(1, 49)])
        clock.set(hour(24 * 40))
        ledger.set_tax_treatment(f.tenant_id, treatment="standard", rate="0.20")  # a tax line: the tax report
        ledger.issue_invoice(tenant_id=f.tenant_id, month="2026-01", lines=[{"amount": "240.00"}],
                             billed_through_position=0)
        ledger.close_month("2025-12", journal_position=0, invoices=0, balances=[])  # a close (nothing in it)
        clock.advance(timedelta(hours=1))
        clock.set(hour(24 * 80))  # January's invoice is 10 days overdue: two reminders (the dunning report)
        run_dunning(ledger)
    finally:
        ledger.close()


def cli_output(url: str, name: str, fmt: Format, width: int = 100) -> str:
    out = Console(width=width, file=io.StringIO(), color_system=None)
    err = Console(file=io.StringIO(), stderr=True)
    assert run_report(url, name, {}, fmt, out=out, err=err) == 0
    return out.file.getvalue()  # type: ignore[attr-defined, no-any-return]


def test_every_report_as_json_and_as_a_table_on_real_data(database_url: str) -> None:
    history(database_url)
    for name, report in REPORTS.items():
        answer = json.loads(cli_output(database_url, name, Format.json))
        assert answer["report"] == name and answer["position"] > 0
        rows = answer["rows"]
        assert_one_representation(report, rows)
        if answer["totals"]:
            assert_one_representation(report, answer["totals"], totals=True)
        table = cli_output(database_url, name, Format.table)
        assert all(len(line) <= 100 for line in table.splitlines()), (name, table)
        if "tenant" in rows[0]:
            tenants = [r["tenant"] for r in rows]
            assert tenants == sorted(tenants, key=str.casefold), name
            listed = [t for t in dict.fromkeys(tenants)]
            positions = [table.index(t.split()[0]) for t in listed]
            assert positions == sorted(positions), name
        if answer["totals"] and len(rows) > 1:
            assert "Total" in table, name  # the report's own totals, a row each
    billing = cli_output(database_url, "billing_totals", Format.table)
    assert re.search(r"Total .*EUR", billing) and re.search(r"Total .*USD", billing)
    utilisation = cli_output(database_url, "utilisation", Format.table)
    assert "(future)" in utilisation and "%" in utilisation
    sustainability = cli_output(database_url, "sustainability", Format.table, width=200)
    assert "tCO2e" in sustainability and "kgCO2e" not in sustainability.split("\n", 2)[1]


def test_http_report_json_uses_the_same_representation(sqlite_api: Api) -> None:
    c, op = sqlite_api.client, sqlite_api.operator
    world = build_capacity(c, op, gpus=8)
    tenant = register_tenant_http(c, op, "A")
    booked = reserve_http(c, op, world["site"]["id"], tenant_id=tenant["id"], gpus=2, day=1, backfill=True)
    metered = c.post("/v1/usage", headers=bearer(sqlite_api.tokens["meter"]), json={"records": [
        {"record_id": str(uuid4()), "reservation_id": booked["id"], "hour": "2025-03-01T00:00:00Z",
         "gpu_hours": "1.5"}]})
    ok(metered, 200)
    finance = bearer(sqlite_api.tokens["finance"])
    written = {"min_position": metered.headers["Ledger-Position"]}  # the projections have caught up with it
    shown = 0
    for name, report in REPORTS.items():  # the CLI test above covers every report with rows;
        body = c.get(f"/v1/reports/{name}", headers=finance, params=written)  # here, those this world fills
        assert body.status_code == 200, body.text
        if body.json()["rows"]:
            assert_one_representation(report, body.json()["rows"])
            if body.json()["totals"]:
                assert_one_representation(report, body.json()["totals"], totals=True)
            shown += 1
    assert shown >= 6, shown
    months = c.get("/v1/reports/utilisation?granularity=month", headers=finance).json()["rows"]
    assert all(isinstance(r["in_service_gpu_hours"], str) for r in months)  # whole GPU-hours: strings too
    assert Decimal(months[0]["in_service_gpu_hours"]) > 0
