"""Commercial terms over HTTP, on SQLite (TestClient) and PostgreSQL (uvicorn): contracts, credits,
on-demand pricing, their reports; roles, tenant isolation, idempotency, problems naming fields."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.e2e.conftest import Api
from tests.e2e.scenario import FUTURE_YEAR, MODEL, bearer, build_capacity, ok, register_tenant

POSITION = "Ledger-Position"


def next_month(offset: int = 1) -> str:
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def test_contracts_sign_amend_terminate_and_isolation(any_api: Api) -> None:
    c, op, finance = any_api.client, any_api.operator, any_api.tokens["finance"]
    tenant = register_tenant(c, op)
    other = register_tenant(c, op, "Other")
    body = {"tenant_id": tenant["id"], "period": "quarter", "term_start": next_month(),
            "term_end": next_month(12), "amount": "50000.00", "discount": "0.1"}
    signed = c.post("/v1/contracts", headers=bearer(finance, "sign-1"), json=body)
    contract = ok(signed)
    assert POSITION in signed.headers and contract["currency"] == "USD" and contract["status"] == "active"
    assert ok(c.post("/v1/contracts", headers=bearer(finance, "sign-1"), json=body)) == contract  # idempotent
    amended = ok(c.post(f"/v1/contracts/{contract['id']}/amendments", headers=bearer(op),
                        json={"effective_month": next_month(4), "amount": "60000.00", "discount": "0.1"}), 200)
    assert [t["amount"] for t in amended["terms"]] == ["50000.00", "60000.00"]
    ended = ok(c.post(f"/v1/contracts/{contract['id']}/termination", headers=bearer(op),
                      json={"effective_month": next_month(7), "fee": "25000.00"}), 200)
    assert ended["status"] == "terminated" and ended["last_month"] == next_month(6)
    mine, theirs = any_api.tenant_token(tenant["id"]), any_api.tenant_token(other["id"])
    assert ok(c.get(f"/v1/contracts/{contract['id']}", headers=bearer(mine)), 200)["id"] == contract["id"]
    assert [x["id"] for x in ok(c.get(f"/v1/tenants/{tenant['id']}/contracts", headers=bearer(mine)), 200)] == [
        contract["id"]]
    assert c.get(f"/v1/contracts/{contract['id']}", headers=bearer(theirs)).status_code == 404
    assert c.get(f"/v1/tenants/{tenant['id']}/contracts", headers=bearer(theirs)).status_code == 404
    assert c.post("/v1/contracts", headers=bearer(mine), json=body).status_code == 403


def test_contract_problems_name_the_field_and_record_nothing(any_api: Api) -> None:
    c, op = any_api.client, any_api.operator
    tenant = register_tenant(c, op)
    base = {"tenant_id": tenant["id"], "period": "quarter", "term_start": next_month(), "term_end": next_month(3),
            "amount": "100"}
    for change, field in (({"term_end": next_month(4)}, "term_end"), ({"period": "week"}, "period"),
                          ({"amount": "-1"}, "amount"), ({"discount": "0.95"}, "discount"),
                          ({"term_start": "2020-01", "term_end": "2020-03"}, "term_start")):
        answer = c.post("/v1/contracts", headers=bearer(op), json={**base, **change})
        assert answer.status_code == 422, answer.text
        assert field in answer.text and POSITION not in answer.headers
    assert ok(c.get(f"/v1/tenants/{tenant['id']}/contracts", headers=bearer(op)), 200) == []


def test_credits_purchase_grant_wallet_and_reports(any_api: Api) -> None:
    c, op, finance = any_api.client, any_api.operator, any_api.tokens["finance"]
    tenant = register_tenant(c, op)
    other = register_tenant(c, op, "Other")
    path = f"/v1/tenants/{tenant['id']}/credits"
    bought = c.post(path, headers=bearer(finance, "buy-1"), json={"kind": "purchase", "amount": "1000.00"})
    assert ok(bought)["balance"] == "1000.00" and POSITION in bought.headers
    again = ok(c.post(path, headers=bearer(finance, "buy-1"), json={"kind": "purchase", "amount": "1000.00"}))
    assert again["balance"] == "1000.00"  # a retry adds nothing
    grant = c.post(path, headers=bearer(op, "grant-1"), json={
        "kind": "grant", "amount": "250.00", "priority": 10, "expires_at": "2099-01-01T00:00:00Z",
        "note": "start-up programme"})
    granted = ok(grant)
    assert (granted["balance"], granted["paid_balance"]) == ("1250.00", "1000.00")
    assert [g["paid"] for g in granted["grants"]] == [False, True]  # priority 10 applies first
    bad = c.post(path, headers=bearer(op), json={"kind": "grant", "amount": "1.001"})
    assert bad.status_code == 422 and "amount" in bad.json()["field"]
    mine, theirs = any_api.tenant_token(tenant["id"]), any_api.tenant_token(other["id"])
    assert ok(c.get(f"/v1/tenants/{tenant['id']}/wallet", headers=bearer(mine)), 200)["balance"] == "1250.00"
    assert c.get(f"/v1/tenants/{tenant['id']}/wallet", headers=bearer(theirs)).status_code == 404
    assert c.post(path, headers=bearer(mine), json={"kind": "grant", "amount": "5"}).status_code == 403
    assert c.get(f"/v1/tenants/{other['id']}/wallet", headers=bearer(op)).status_code == 404  # no wallet yet
    position = grant.headers[POSITION]  # the last write the reports below must include
    trace = ok(c.get(f"/v1/reports/credits?min_position={position}", headers=bearer(mine)), 200)
    rows = trace["rows"]
    assert [r["kind"] for r in rows] == ["purchased", "granted"]
    csv = c.get(f"/v1/reports/revenue?tenant_id={tenant['id']}&min_position={position}",
                headers={**bearer(op), "Accept": "text/csv"})
    assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("tenant,tenant_id,month,currency,billed")


def test_on_demand_reservations_over_http(any_api: Api) -> None:
    c, op = any_api.client, any_api.operator
    site = build_capacity(c, op, gpus=8)["site"]
    tenant = register_tenant(c, op)
    token = any_api.tenant_token(tenant["id"])
    body = {"site_id": site["id"], "model": MODEL, "gpus": 1, "start": f"{FUTURE_YEAR}-03-01T00:00:00Z",
            "end": f"{FUTURE_YEAR}-03-02T00:00:00Z", "pricing": "on_demand"}
    refused = c.post("/v1/reservations", headers=bearer(token), json=body)
    assert refused.status_code == 422 and refused.json()["field"] == "pricing"
    rates = ok(c.post(f"/v1/tenants/{tenant['id']}/on-demand-rates", headers=bearer(op),
                      json={"rates": {MODEL: "3.90"}}), 200)
    assert rates["on_demand_rates"] == {MODEL: "3.90"}
    reservation = ok(c.post("/v1/reservations", headers=bearer(token), json=body))
    assert (reservation["pricing"], reservation["rate_per_gpu_hour"]) == ("on_demand", "3.90")
    assert c.post("/v1/reservations", headers=bearer(token), json={**body, "pricing": "spot"}).status_code == 422
