"""Dunning over HTTP (SQLite, TestClient): POST /v1/dunning/runs (finance) records the steps once,
suspends the tenant; GET /v1/tenants/{id}/dunning answers the history as JSON and a step's
reminder as HTML or PDF; the policy route; refusals as problems naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from bootstrap import open_ledger
from tests.builders import SimClock
from tests.e2e.conftest import Api
from tests.e2e.scenario import bearer, ok, register_tenant


def overdue_invoice(api: Api, tenant_id: str) -> str:
    """An invoice issued 60 days ago (net 30): 30 days overdue today."""
    ledger = open_ledger(api.url, clock=SimClock(datetime.now(UTC) - timedelta(days=60)))
    try:
        written = ledger.issue_invoice(tenant_id=UUID(tenant_id), month="2025-01", billed_through_position=0,
                                       lines=[{"kind": "reservation", "amount": Decimal("100.00")}])
        number = ledger.get_invoice(written.id).number
        assert number is not None
        return number
    finally:
        ledger.close()


def test_a_run_reminds_and_suspends_once_and_the_history_and_documents_show_it(sqlite_api: Api) -> None:
    c, op, finance = sqlite_api.client, sqlite_api.operator, sqlite_api.tokens["finance"]
    tenant = register_tenant(c, op)
    number = overdue_invoice(sqlite_api, tenant["id"])
    denied = c.post("/v1/dunning/runs", headers=bearer(op), json={})
    assert denied.status_code == 403
    run = ok(c.post("/v1/dunning/runs", headers=bearer(finance, "dun-1"), json={}), 200)
    assert (run["reminders"], run["suspensions"], run["on"]) == (3, 1, datetime.now(UTC).date().isoformat())
    replayed = ok(c.post("/v1/dunning/runs", headers=bearer(finance, "dun-1"), json={}), 200)
    assert replayed == run
    assert [s["kind"] for s in run["steps"]] == ["reminder"] * 3 + ["suspension"]
    again = ok(c.post("/v1/dunning/runs", headers=bearer(finance), json={}), 200)
    assert (again["reminders"], again["suspensions"], again["steps"]) == (0, 0, [])
    history = ok(c.get(f"/v1/tenants/{tenant['id']}/dunning", headers=bearer(finance)), 200)
    assert history["suspended"] is True and history["reminder_days"] == [1, 7, 14]
    assert [(h["step"], h["invoices"][0]["number"], h["invoices"][0]["outstanding"]) for h in history["history"]] == [
        (step, number, "100.00") for step in (1, 2, 3, 4)]
    mine = sqlite_api.tenant_token(tenant["id"])
    assert ok(c.get(f"/v1/tenants/{tenant['id']}/dunning", headers=bearer(mine)), 200)["tenant_id"] == tenant["id"]
    html = c.get(f"/v1/tenants/{tenant['id']}/dunning?step=2", headers={**bearer(mine), "Accept": "text/html"})
    assert html.status_code == 200 and "Second reminder" in html.text and number in html.text
    pdf = c.get(f"/v1/tenants/{tenant['id']}/dunning?step=4", headers={**bearer(finance), "Accept": "application/pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    missing = c.get(f"/v1/tenants/{tenant['id']}/dunning?step=5", headers={**bearer(finance), "Accept": "text/html"})
    assert missing.status_code == 404


def test_refusals_name_the_field(sqlite_api: Api) -> None:
    c, op, finance = sqlite_api.client, sqlite_api.operator, sqlite_api.tokens["finance"]
    tenant = register_tenant(c, op)
    late = c.post("/v1/dunning/runs", headers=bearer(finance), json={"on": "2999-01-01"})
    assert late.status_code == 422 and "on" in late.json()["detail"]
    bad = c.post(f"/v1/tenants/{tenant['id']}/dunning-policy", headers=bearer(finance),
                 json={"reminder_days": [7, 3], "suspend_after_days": 30})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("reminder_days:")
    bad = c.post(f"/v1/tenants/{tenant['id']}/dunning-policy", headers=bearer(op),
                 json={"reminder_days": [1, 7], "suspend_after_days": 5})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("suspend_after_days:")
    missing = c.post(f"/v1/tenants/{UUID(int=5)}/dunning-policy", headers=bearer(op), json={"reminder_days": [1]})
    assert missing.status_code == 404 and missing.json()["detail"].startswith("tenant_id:")
    set_ = ok(c.post(f"/v1/tenants/{tenant['id']}/dunning-policy", headers=bearer(op, "pol-1"),
                     json={"reminder_days": [2, 9], "suspend_after_days": None}), 200)
    assert (set_["reminder_days"], set_["suspend_after_days"]) == ([2, 9], None)
