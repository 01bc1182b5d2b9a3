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

import access.tokens
from access.tokens import revoke_token, token_id
from bootstrap import open_api_store
from tests.e2e.conftest import Api
from tests.e2e.scenario import MODEL, bearer, build_capacity, ok, register_tenant
from tests.reliability.openapi_routes import example_body, operations
from tests.reliability.process import log_head

pytestmark = pytest.mark.slow  # runs `ledger token` as a child process

PROBLEM = "application/problem+json"
CACHE_SECONDS = 0.3  # the API trusts a looked-up token this long here (10 s by default)

# Every POST of the API and the roles that may call it, from its OpenAPI document (``x-roles``).
WRITES = operations(methods=("post",))


def ledger_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=os.getcwd()))



def refused(response: Any, status: int, kind: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["type"].endswith("/" + kind), body
    assert "ledger-position" not in response.headers
    if status == 401:
        assert response.headers.get("www-authenticate") == "Bearer"


def test_every_write_route_refuses_the_wrong_callers(any_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access.tokens, "CACHE_SECONDS", CACHE_SECONDS)
    c, op = any_api.client, any_api.operator
    world = build_capacity(c, op, gpus=8)
    a, b = register_tenant(c, op, "A"), register_tenant(c, op, "B")
    a_token, b_token = any_api.tenant_token(a["id"]), any_api.tenant_token(b["id"])
    reservation = ok(c.post("/v1/reservations", headers=bearer(a_token), json={
        "site_id": world["site"]["id"], "model": MODEL, "gpus": 1,
        "start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z"}))
    ok(c.post("/v1/reservations", headers=bearer(op), json={
        "tenant_id": a["id"], "site_id": world["site"]["id"], "model": MODEL, "gpus": 1,
        "start": "2025-02-01T00:00:00Z", "end": "2025-02-02T00:00:00Z", "backfill": True}))
    invoice = ok(c.post("/v1/invoices", headers=bearer(any_api.tokens["finance"]),
                        json={"tenant_id": a["id"], "month": "2025-02"}))
    ids = {"round": world["round"]["id"], "order": world["order"]["id"], "site": world["site"]["id"],
           "tenant": a["id"], "reservation": reservation["id"], "invoice": invoice["id"]}

    # A revoked and an expired operator token, both used successfully first (so cached).
    revoked = open_api_store(any_api.url)
    try:
        from access.tokens import Role, create_token
        doomed = create_token(revoked, Role.operator)
    finally:
        revoked.close()
    lifetime = 3.6  # seconds: --expires-in 0.001 hours
    made = ledger_cli("token", "create", "--role", "operator", "--expires-in", "0.001", "--db", any_api.url)
    assert made.returncode == 0, made.stderr
    expiring = made.stdout.strip()
    assert token_id(expiring) in made.stderr
    for token in (doomed, expiring):
        assert c.get(f"/v1/sites/{ids['site']}", headers=bearer(token)).status_code == 200
    done = ledger_cli("token", "revoke", token_id(doomed), "--db", any_api.url)
    assert done.returncode == 0 and token_id(doomed) in done.stdout, done.stderr
    # The expiring token's lifetime is over: move the API's clock past it instead of sleeping.
    # (Writes look their token up afresh, so the revocation needs no wait.)
    later = time.time() + lifetime + 1
    monkeypatch.setattr(access.tokens, "wall_clock", lambda: later)

    before = log_head(any_api.url)
    checked = 0
    assert len(WRITES) >= 14, [op.path for op in WRITES]
    for op in WRITES:
        path, body, allowed = op.url(ids), example_body(op, ids), set(op.roles)

        def post(headers: dict[str, str], path: str = path, body: Any = body) -> Any:
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
    assert log_head(any_api.url) == before, "a refused request recorded something"
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
    sites = next(op for op in WRITES if op.path == "/v1/sites")
    refused(c.post("/v1/sites", headers=bearer(fresh), json=example_body(sites, ids)), 401, "unauthenticated")
