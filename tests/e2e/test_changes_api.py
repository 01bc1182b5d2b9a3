"""The change routes over HTTP on both stores: site revisions, decommissioning, plan changes,
suspension and reinstatement, voids and credit notes; and the reservation time rules (a past
start is a 422 naming `start`; only an operator may backfill, a tenant asking is a 422 naming
`backfill`; a refusal records nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.conftest import Api
from tests.e2e.scenario import FUTURE_YEAR, MODEL, PAST_MONTH, bearer, build_capacity, ok, register_tenant, reserve


def log_length(api: Api) -> int:
    items = api.client.get("/v1/audit/events?limit=1000", headers=bearer(api.tokens["auditor"])).json()["items"]
    return len(items)


def problem(response: Any, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["field"] == field, body
    return body


def test_capacity_and_tenant_changes(any_api: Api) -> None:
    c, op, finance = any_api.client, any_api.operator, any_api.tokens["finance"]
    world = build_capacity(c, op, gpus=8)
    site = world["site"]["id"]
    revised = c.post(f"/v1/sites/{site}/revisions", headers=bearer(op, "rev-1"), json={
        "effective_from": "2026-01-01T00:00:00Z", "grid_intensity_g_per_kwh": "200", "pue": "1.15",
        "carbon_free_share": "0.7"})
    assert ok(revised)["grid_intensity_g_per_kwh"] == "200" and int(revised.headers["Ledger-Position"]) > 0
    problem(c.post(f"/v1/sites/{site}/revisions", headers=bearer(op), json={
        "effective_from": "2025-06-01T00:00:00Z", "grid_intensity_g_per_kwh": "200", "pue": "1.15",
        "carbon_free_share": "0.7"}), 422, "effective_from")  # revisions move forward in time
    assert c.post(f"/v1/sites/{site}/revisions", headers=bearer(finance), json={
        "effective_from": "2026-02-01T00:00:00Z", "grid_intensity_g_per_kwh": "1", "pue": "1.1",
        "carbon_free_share": "0"}).status_code == 403

    gone = c.post(f"/v1/sites/{site}/pools/{MODEL}/decommissioning", headers=bearer(op, "dec-1"), json={
        "quantity": 2, "at": f"{FUTURE_YEAR}-01-01T00:00:00Z", "reason": "failed boards"})
    assert ok(gone)["quantity"] == 2 and gone.headers["Ledger-Position"]
    tenant = register_tenant(c, finance)
    reserve(c, op, site, gpus=6, tenant_id=tenant["id"])  # 6 of the 8 GPUs in March of FUTURE_YEAR
    before = log_length(any_api)
    problem(c.post(f"/v1/sites/{site}/pools/{MODEL}/decommissioning", headers=bearer(op), json={
        "quantity": 3, "at": f"{FUTURE_YEAR}-02-01T00:00:00Z", "reason": "would overbook"}), 409, "quantity")
    assert log_length(any_api) == before

    tid = tenant["id"]
    planned = ok(c.post(f"/v1/tenants/{tid}/plan", headers=bearer(finance), json={
        "rates": {MODEL: "2.40"}, "cancellation_fee_share": "0.2"}), 200)
    assert (planned["rates"], planned["cancellation_fee_share"]) == ({MODEL: "2.40"}, "0.2")
    assert ok(c.post(f"/v1/tenants/{tid}/suspension", headers=bearer(op), json={"reason": "unpaid"}), 200)["suspended"]
    me = any_api.tenant_token(tid)
    refused = c.post("/v1/reservations", headers=bearer(me), json={
        "site_id": site, "model": MODEL, "gpus": 1, "start": f"{FUTURE_YEAR}-04-01T00:00:00Z",
        "end": f"{FUTURE_YEAR}-04-02T00:00:00Z"})
    assert refused.status_code == 409, refused.text
    assert c.post(f"/v1/tenants/{tid}/suspension", headers=bearer(me), json={"reason": "x"}).status_code == 403
    assert not ok(c.post(f"/v1/tenants/{tid}/reinstatement", headers=bearer(finance, "re-1")), 200)["suspended"]
    booked = ok(c.post("/v1/reservations", headers=bearer(me), json={
        "site_id": site, "model": MODEL, "gpus": 1, "start": f"{FUTURE_YEAR}-04-01T00:00:00Z",
        "end": f"{FUTURE_YEAR}-04-02T00:00:00Z"}))
    assert booked["rate_per_gpu_hour"] == "2.40" and booked["backfill"] is False


def test_void_and_credit_an_invoice(any_api: Api) -> None:
    c, op, finance = any_api.client, any_api.operator, any_api.tokens["finance"]
    world = build_capacity(c, op, gpus=4)
    tenant = register_tenant(c, finance)
    reserve(c, op, world["site"]["id"], gpus=1, day=1, tenant_id=tenant["id"], backfill=True)  # 24 h at 2.50
    invoice = ok(c.post("/v1/invoices", headers=bearer(finance), json={"tenant_id": tenant["id"], "month": PAST_MONTH}))
    assert invoice["total"] == "60.00"
    path = f"/v1/invoices/{invoice['id']}"
    credited = c.post(f"{path}/credit-notes", headers=bearer(finance, "cn-1"), json={"amount": "20", "reason": "SLA"})
    assert ok(credited)["credited"] == "20" and credited.headers["Ledger-Position"]
    again = c.post(f"{path}/credit-notes", headers=bearer(finance, "cn-1"), json={"amount": "20", "reason": "SLA"})
    assert again.json()["credited"] == "20"  # the key's replay: nothing new recorded
    problem(c.post(f"{path}/credit-notes", headers=bearer(finance), json={"amount": "40.01", "reason": "too much"}),
            422, "amount")
    assert c.post(f"{path}/void", headers=bearer(op), json={"reason": "x"}).status_code == 403
    refused_void = c.post(f"{path}/void", headers=bearer(finance), json={"reason": "wrong tenant"})
    assert refused_void.status_code == 409 and "credit note" in refused_void.text  # credited: never voided
    other = register_tenant(c, finance, name="Other Lab")
    reserve(c, op, world["site"]["id"], gpus=1, day=1, tenant_id=other["id"], backfill=True)
    second = ok(c.post("/v1/invoices", headers=bearer(finance), json={"tenant_id": other["id"], "month": PAST_MONTH}))
    other_path = f"/v1/invoices/{second['id']}"
    voided = ok(c.post(f"{other_path}/void", headers=bearer(finance), json={"reason": "wrong tenant"}), 200)
    assert voided["status"] == "void"
    assert c.post(f"{other_path}/void", headers=bearer(finance), json={"reason": "twice"}).status_code == 409


def test_past_starts_and_backfill(any_api: Api) -> None:
    c, op = any_api.client, any_api.operator
    world = build_capacity(c, op, gpus=4)
    tenant = register_tenant(c, op)
    me = any_api.tenant_token(tenant["id"])
    this_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    past = {"site_id": world["site"]["id"], "model": MODEL, "gpus": 1,
            "start": this_hour.isoformat(), "end": (this_hour + timedelta(hours=2)).isoformat()}
    before = log_length(any_api)
    problem(c.post("/v1/reservations", headers=bearer(me), json=past), 422, "start")
    problem(c.post("/v1/reservations", headers=bearer(op), json={**past, "tenant_id": tenant["id"]}), 422, "start")
    problem(c.post("/v1/reservations", headers=bearer(me), json={**past, "backfill": True}), 422, "backfill")
    assert log_length(any_api) == before  # refusals record nothing
    nxt = this_hour + timedelta(hours=1)
    ok(c.post("/v1/reservations", headers=bearer(me), json={**past, "start": nxt.isoformat()}))
    backfilled = ok(c.post("/v1/reservations", headers=bearer(op),
                           json={**past, "tenant_id": tenant["id"], "backfill": True}))
    assert backfilled["backfill"] is True
    events = c.get("/v1/audit/events?limit=1000", headers=bearer(any_api.tokens["auditor"])).json()["items"]
    confirmed = [e for e in events if e["topic"] == "ledger:Reservation.Confirmed"]
    assert [e["fields"]["backfill"] for e in confirmed] == [False, True]
