"""Malformed, hostile and unauthorised requests get 4xx problem+json naming the field, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Api
from tests.e2e.scenario import FUTURE_YEAR, MODEL, bearer, build_capacity, register_tenant, reserve

PROBLEM = "application/problem+json"


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("/" + kind) and body["status"] == status
    return body


def test_missing_unknown_and_wrong_role_tokens(sqlite_api: Api) -> None:
    c = sqlite_api.client
    site = {"name": "X", "country": "GB", "grid_intensity_g_per_kwh": "1", "pue": "1.1", "carbon_free_share": "0",
            "effective_from": "2025-01-01T00:00:00Z"}
    problem(c.post("/v1/sites", json=site), 401, "unauthenticated")
    problem(c.post("/v1/sites", json=site, headers=bearer("lgr_nope")), 401, "unauthenticated")
    problem(c.post("/v1/sites", json=site, headers=bearer(sqlite_api.tokens["meter"])), 403, "forbidden")
    problem(c.get("/v1/audit/events", headers=bearer(sqlite_api.tokens["finance"])), 403, "forbidden")


@pytest.mark.parametrize("body, field", [
    ({"gpus": -1}, "gpus"),
    ({"gpus": 10**40}, "gpus"),
    ({"gpus": "two"}, "gpus"),
    ({"start": "2025-03-01T00:00:00"}, "start"),  # naive
    ({"start": "2025-03-01T00:30:00Z"}, "start"),  # not on the hour
    ({"end": "2025-02-01T00:00:00Z"}, "end"),  # before start
    ({"model": "GTX-1080"}, "model"),
    ({"site_id": "not-a-uuid"}, "site_id"),
    ({"colour": "red"}, "colour"),
])
def test_bad_reservations_name_the_field(sqlite_api: Api, body: dict[str, Any], field: str) -> None:
    c = sqlite_api.client
    world = build_capacity(c, sqlite_api.operator, gpus=4)
    tenant = register_tenant(c, sqlite_api.operator)
    request = {"tenant_id": tenant["id"], "site_id": world["site"]["id"], "model": MODEL, "gpus": 1,
               "start": f"{FUTURE_YEAR}-03-01T00:00:00Z", "end": f"{FUTURE_YEAR}-03-02T00:00:00Z", **body}
    found = problem(c.post("/v1/reservations", json=request, headers=bearer(sqlite_api.operator)), 422,
                    "invalid-input" if field not in ("start", "model") or "Z" not in str(body.get(field, "Z")) else
                    "not-on-the-hour")
    assert found["field"] == field, found


def test_unknown_ids_capacity_and_huge_numbers(sqlite_api: Api) -> None:
    c, op = sqlite_api.client, sqlite_api.operator
    world = build_capacity(c, op, gpus=4)
    tenant = register_tenant(c, op)
    missing = "00000000-0000-0000-0000-000000000001"
    problem(c.post(f"/v1/supply-orders/{missing}/deliveries", headers=bearer(op),
                   json={"quantity": 1, "delivered_at": "2025-01-01T00:00:00Z"}), 404, "not-found")
    problem(c.get(f"/v1/reservations/{missing}", headers=bearer(op)), 404, "not-found")
    reserve(c, op, world["site"]["id"], gpus=3, tenant_id=tenant["id"])
    over = problem(c.post("/v1/reservations", headers=bearer(op), json={
        "tenant_id": tenant["id"], "site_id": world["site"]["id"], "model": MODEL, "gpus": 2,
        "start": f"{FUTURE_YEAR}-03-01T05:00:00Z", "end": f"{FUTURE_YEAR}-03-01T06:00:00Z"}), 409,
        "insufficient-capacity")
    assert over["field"] == "gpus"
    huge = '{"name": "R", "currency": "USD", "opened_at": "2025-01-01T00:00:00Z", "x": ' + "9" * 5000 + "}"
    assert c.post("/v1/funding-rounds", headers={**bearer(op), "content-type": "application/json"},
                  content=huge).status_code in (400, 422)
    money = problem(c.post(f"/v1/funding-rounds/{world['round']['id']}/commitments", headers=bearer(op), json={
        "investor": "Y", "amount": "1" + "0" * 40, "currency": "USD"}), 422, "invalid-input")
    assert money["field"] == "amount"


def test_malformed_json_oversized_bodies_and_unknown_routes(sqlite_api: Api) -> None:
    c, op = sqlite_api.client, sqlite_api.operator
    headers = {**bearer(op), "content-type": "application/json"}
    problem(c.post("/v1/sites", headers=headers, content=b"{not json"), 422, "invalid-input")
    problem(c.post("/v1/sites", headers=headers, content=b"\xff\xfe"), 422, "invalid-input")
    problem(c.post("/v1/sites", headers=headers, content=b"[" * 100_000), 400, "bad-request")  # too deep
    problem(c.post("/v1/usage", headers=headers, content=b" " * (11 * 1024 * 1024)), 413, "payload-too-large")
    problem(c.get("/v1/nowhere", headers=bearer(op)), 404, "not-found")
    problem(c.delete("/v1/sites", headers=bearer(op)), 405, "method-not-allowed")
    problem(c.get("/v1/reports/utilisation?from=2025-01-01T00:00:00", headers=bearer(op)), 422, "invalid-input")
