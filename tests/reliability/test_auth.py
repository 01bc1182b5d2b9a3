"""Auth on every write route: no token, a wrong token, a revoked token, an expired token,
another tenant's token, an auditor or a meter token -- each refused with the right status
(401 / 403 / 404, as problem+json) and with no effect: the log's head is unchanged, and no
refused request returns a Ledger-Position.

Tokens are revoked and made to expire through the command line (`ledger token revoke`,
`ledger token create --expires-in`), the way an operator does it. Both tokens are used
successfully first, so the test also shows that the API's token cache honours both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any
from uuid import uuid4

import pytest

import api.tokens
from api.tokens import revoke_token, token_id
from bootstrap import open_api_store, open_ledger
from tests.e2e.conftest import Api
from tests.e2e.scenario import MODEL, bearer, build_capacity, ok, register_tenant

PROBLEM = "application/problem+json"
CACHE_SECONDS = 0.3  # the API trusts a looked-up token this long here (10 s by default)

# (path template, body template, roles that may call it)
WRITES: list[tuple[str, dict[str, Any] | None, set[str]]] = [
    ("/v1/sites", {"name": "X", "country": "GB", "grid_intensity_g_per_kwh": "200", "pue": "1.2",
                   "carbon_free_share": "0.5", "effective_from": "2025-01-01T00:00:00Z"}, {"operator"}),
    ("/v1/funding-rounds", {"name": "R", "currency": "USD", "opened_at": "2025-01-01T00:00:00Z"}, {"operator"}),
    ("/v1/funding-rounds/{round}/commitments", {"investor": "I", "amount": "10", "currency": "USD"}, {"operator"}),
    ("/v1/funding-rounds/{round}/tranches", {"investor": "I", "amount": "1", "currency": "USD",
                                             "received_at": "2025-01-01T00:00:00Z"}, {"operator"}),
    ("/v1/supply-orders", {"funding_round_id": "{round}", "site_id": "{site}", "model": MODEL, "quantity": 1,
                           "unit_price": "1", "currency": "USD", "placed_at": "2025-01-01T00:00:00Z"}, {"operator"}),
    ("/v1/supply-orders/{order}/deliveries", {"quantity": 1, "delivered_at": "2025-01-01T00:00:00Z"}, {"operator"}),
    ("/v1/supply-orders/{order}/commissioning", {"quantity": 1, "commissioned_at": "2025-01-01T00:00:00Z"},
     {"operator"}),
    ("/v1/tenants", {"name": "T", "billing_currency": "USD", "rates": {MODEL: "2"}}, {"operator", "finance"}),
    ("/v1/reservations", {"tenant_id": "{tenant}", "site_id": "{site}", "model": MODEL, "gpus": 1,
                          "start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z"}, {"operator", "tenant"}),
    ("/v1/reservations/{reservation}/extension", {"end": "2027-01-05T00:00:00Z"}, {"operator", "tenant"}),
    ("/v1/reservations/{reservation}/cancellation", None, {"operator", "tenant"}),
    ("/v1/usage", {"records": [{"record_id": "{record}", "reservation_id": "{reservation}",
                                "hour": "2027-01-01T00:00:00Z", "gpu_hours": "1"}]}, {"meter"}),
    ("/v1/invoices", {"tenant_id": "{tenant}", "month": "2025-02"}, {"finance"}),
    ("/v1/audit/verify", {}, {"auditor"}),
]


def fill(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {k: fill(v, ids) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, ids) for v in template]
    return template


def ledger_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=os.getcwd()))


def head(url: str) -> int:
    ledger = open_ledger(url)
    try:
        return ledger.max_position()
    finally:
        ledger.close()


def refused(response: Any, status: int, kind: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["type"].endswith("/" + kind), body
    assert "ledger-position" not in response.headers
    if status == 401:
        assert response.headers.get("www-authenticate") == "Bearer"


def test_every_write_route_refuses_the_wrong_callers(any_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.tokens, "CACHE_SECONDS", CACHE_SECONDS)
    c, op = any_api.client, any_api.operator
    world = build_capacity(c, op, gpus=8)
    a, b = register_tenant(c, op, "A"), register_tenant(c, op, "B")
    a_token, b_token = any_api.tenant_token(a["id"]), any_api.tenant_token(b["id"])
    reservation = ok(c.post("/v1/reservations", headers=bearer(a_token), json={
        "site_id": world["site"]["id"], "model": MODEL, "gpus": 1,
        "start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z"}))
    ids = {"round": world["round"]["id"], "order": world["order"]["id"], "site": world["site"]["id"],
           "tenant": a["id"], "reservation": reservation["id"], "record": str(uuid4())}

    # A revoked and an expired operator token, both used successfully first (so cached).
    revoked = open_api_store(any_api.url)
    try:
        from api.tokens import Role, create_token
        doomed = create_token(revoked, Role.operator)
    finally:
        revoked.close()
    lifetime = 3.6  # seconds: --expires-in 0.001 hours
    made = ledger_cli("token", "create", "--role", "operator", "--expires-in", "0.001", "--db", any_api.url)
    assert made.returncode == 0, made.stderr
    created = time.monotonic()  # the token was stored before the command returned
    expiring = made.stdout.strip()
    assert token_id(expiring) in made.stderr
    for token in (doomed, expiring):
        assert c.get(f"/v1/sites/{ids['site']}", headers=bearer(token)).status_code == 200
    done = ledger_cli("token", "revoke", token_id(doomed), "--db", any_api.url)
    assert done.returncode == 0 and token_id(doomed) in done.stdout, done.stderr
    time.sleep(max(CACHE_SECONDS, created + lifetime - time.monotonic()) + 0.2)  # cache and lifetime are over

    before = head(any_api.url)
    checked = 0
    for path_t, body_t, allowed in WRITES:
        path, body = fill(path_t, ids), fill(body_t, ids)

        def post(headers: dict[str, str]) -> Any:
            return c.post(path, headers={**headers, "Idempotency-Key": str(uuid4())}, json=body)

        refused(post({}), 401, "unauthenticated")
        refused(post({"Authorization": "Bearer lgr_not-a-token"}), 401, "unauthenticated")
        refused(post({"Authorization": "Basic b3A6b3A="}), 401, "unauthenticated")
        refused(post(bearer(doomed)), 401, "unauthenticated")
        refused(post(bearer(expiring)), 401, "unauthenticated")
        checked += 5
        for role in ("auditor", "meter", "finance", "operator"):
            if role not in allowed:
                refused(post(bearer(any_api.tokens[role])), 403, "forbidden")
                checked += 1
        if "tenant" in allowed:  # another tenant's token: as if A's things did not exist
            refused(post(bearer(b_token)), 404, "not-found")
        else:
            refused(post(bearer(b_token)), 403, "forbidden")
        checked += 1
    assert checked >= 100
    assert head(any_api.url) == before, "a refused request recorded something"
    # The refused callers changed nothing a reader can see either.
    again = c.get(f"/v1/reservations/{reservation['id']}", headers=bearer(a_token)).json()
    assert again == reservation

    # Revocation by the library call is immediate for a token this process has not cached.
    store = open_api_store(any_api.url)
    try:
        fresh = create_token(store, Role.operator)
        revoke_token(store, fresh[:12])  # by its shown prefix
        with pytest.raises(ValueError):
            revoke_token(store, "lgr_nonexistent")
    finally:
        store.close()
    refused(c.post("/v1/sites", headers=bearer(fresh), json=fill(WRITES[0][1], ids)), 401, "unauthenticated")
