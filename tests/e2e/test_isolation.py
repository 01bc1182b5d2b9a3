"""Tenant isolation: tenant B's token cannot read or change tenant A's data on any route.

A hypothesis property draws a tenant-facing route and an id (one of A's, or one that does not
exist): B must get exactly what a nonexistent id gets (404 not-found), and A's data and the log
must be unchanged afterwards.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import Api
from tests.e2e.scenario import MODEL, bearer, build_capacity, ok, register_tenant, reserve

ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/tenants/{tenant}", None),
    ("GET", "/v1/tenants/{tenant}/reservations", None),
    ("GET", "/v1/tenants/{tenant}/usage", None),
    ("GET", "/v1/tenants/{tenant}/invoices", None),
    ("GET", "/v1/reservations/{reservation}", None),
    ("POST", "/v1/reservations/{reservation}/extension", {"end": "2027-02-01T00:00:00Z"}),
    ("POST", "/v1/reservations/{reservation}/cancellation", None),
    ("GET", "/v1/invoices/{invoice}", None),
    ("POST", "/v1/reservations", {"tenant_id": "{tenant}", "site_id": "{site}", "model": MODEL, "gpus": 1,
                                  "start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z"}),
    ("GET", "/v1/reports/billing?tenant_id={tenant}", None),
    ("GET", "/v1/reports/sustainability?tenant_id={tenant}", None),
]


def fill(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {k: fill(v, ids) for k, v in template.items()}
    return template


def call(api: Api, token: str, method: str, path: str, body: Any) -> Any:
    if method == "GET":
        return api.client.get(path, headers=bearer(token))
    return api.client.post(path, headers=bearer(token), json=body)


def test_tenant_b_cannot_touch_tenant_a(sqlite_api: Api) -> None:
    c, op = sqlite_api.client, sqlite_api.operator
    world = build_capacity(c, op, gpus=8)
    a, b = register_tenant(c, op, "A"), register_tenant(c, op, "B")
    a_token, b_token = sqlite_api.tenant_token(a["id"]), sqlite_api.tenant_token(b["id"])
    past = reserve(c, op, world["site"]["id"], gpus=1, day=1, tenant_id=a["id"], backfill=True)
    future = ok(c.post("/v1/reservations", headers=bearer(a_token), json={
        "site_id": world["site"]["id"], "model": MODEL, "gpus": 1,
        "start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z"}))
    ok(c.post("/v1/usage", headers=bearer(sqlite_api.tokens["meter"]), json={"records": [
        {"record_id": str(uuid4()), "reservation_id": past["id"], "hour": "2025-03-01T00:00:00Z", "gpu_hours": "1"}]}),
       200)
    invoice = ok(c.post("/v1/invoices", headers=bearer(sqlite_api.tokens["finance"]),
                        json={"tenant_id": a["id"], "month": "2025-03"}))
    a_ids = {"tenant": a["id"], "reservation": future["id"], "invoice": invoice["id"], "site": world["site"]["id"]}
    auditor = bearer(sqlite_api.tokens["auditor"])
    log_before = c.get("/v1/audit/events?limit=1000", headers=auditor).json()["items"]
    a_view_before = c.get(f"/v1/tenants/{a['id']}/reservations", headers=bearer(a_token)).json()

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(route=st.sampled_from(ROUTES), owned=st.booleans())
    def b_sees_nothing_of_a(route: tuple[str, str, dict[str, Any] | None], owned: bool) -> None:
        method, template, body = route
        ids = a_ids if owned else {k: str(uuid4()) for k in a_ids} | {"site": world["site"]["id"]}
        response = call(sqlite_api, b_token, method, fill(template, ids), fill(body, ids))
        assert response.status_code == 404, (template, response.text)
        assert response.json()["type"].endswith("/not-found")
        for value in (a["name"], past["id"]):
            assert value not in response.text

    b_sees_nothing_of_a()
    assert c.get("/v1/audit/events?limit=1000", headers=auditor).json()["items"] == log_before
    assert c.get(f"/v1/tenants/{a['id']}/reservations", headers=bearer(a_token)).json() == a_view_before
    for path in (f"/v1/tenants/{b['id']}/reservations", f"/v1/tenants/{b['id']}/usage",
                 f"/v1/tenants/{b['id']}/invoices"):
        assert c.get(path, headers=bearer(b_token)).json()["items"] == []
    for report in ("billing", "sustainability"):
        rows = c.get(f"/v1/reports/{report}", headers=bearer(b_token)).json()["rows"]
        assert all(row.get("tenant_id") == b["id"] for row in rows)
    assert c.get("/v1/reports/capex", headers=bearer(b_token)).status_code == 403
