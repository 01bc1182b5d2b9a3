"""Idempotency-Key: retries replay the first response and record nothing new."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from bootstrap import create_app, open_api_store
from tests.e2e.conftest import Api, settings_for
from tests.e2e.scenario import FUTURE_YEAR, MODEL, bearer, build_capacity, register_tenant


def log_length(api: Api) -> int:
    events = api.client.get("/v1/audit/events?limit=1000", headers=bearer(api.tokens["auditor"])).json()
    return len(events["items"])


def booking(world: dict[str, Any], tenant: dict[str, Any], gpus: int = 1) -> dict[str, Any]:
    return {"tenant_id": tenant["id"], "site_id": world["site"]["id"], "model": MODEL, "gpus": gpus,
            "start": f"{FUTURE_YEAR}-03-01T00:00:00Z", "end": f"{FUTURE_YEAR}-03-02T00:00:00Z"}


def test_a_retry_returns_the_first_response_and_records_nothing(any_api: Api) -> None:
    c, op = any_api.client, any_api.operator
    world = build_capacity(c, op, gpus=4)
    tenant = register_tenant(c, op)
    first = c.post("/v1/reservations", headers=bearer(op, "k-1"), json=booking(world, tenant))
    assert first.status_code == 201
    before = log_length(any_api)
    again = c.post("/v1/reservations", headers=bearer(op, "k-1"), json=booking(world, tenant))
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Ledger-Position"] == first.headers["Ledger-Position"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert log_length(any_api) == before


def test_the_same_key_with_another_body_is_409(any_api: Api) -> None:
    c, op = any_api.client, any_api.operator
    world = build_capacity(c, op, gpus=4)
    tenant = register_tenant(c, op)
    assert c.post("/v1/reservations", headers=bearer(op, "k-2"), json=booking(world, tenant)).status_code == 201
    other = c.post("/v1/reservations", headers=bearer(op, "k-2"), json=booking(world, tenant, gpus=2))
    assert other.status_code == 409
    assert other.json()["type"].endswith("/idempotency-key-reused")


def test_keys_are_scoped_to_the_caller(sqlite_api: Api) -> None:
    c, op = sqlite_api.client, sqlite_api.operator
    world = build_capacity(c, op, gpus=4)
    tenant = register_tenant(c, op)
    token = sqlite_api.tenant_token(tenant["id"])
    mine = c.post("/v1/reservations", headers=bearer(op, "shared"), json=booking(world, tenant))
    theirs = c.post("/v1/reservations", headers=bearer(token, "shared"), json=booking(world, tenant))
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_refusals_are_replayed_too(sqlite_api: Api) -> None:
    c, op = sqlite_api.client, sqlite_api.operator
    world = build_capacity(c, op, gpus=1)
    tenant = register_tenant(c, op)
    first = c.post("/v1/reservations", headers=bearer(op, "big"), json=booking(world, tenant, gpus=5))
    assert first.status_code == 409
    again = c.post("/v1/reservations", headers=bearer(op, "big"), json=booking(world, tenant, gpus=5))
    assert (again.status_code, again.json()) == (409, first.json())


def test_replays_survive_a_restart(sqlite_url: str) -> None:
    with TestClient(create_app(settings_for(sqlite_url))) as client:
        api = Api(client, sqlite_url)
        world = build_capacity(client, api.operator, gpus=4)
        tenant = register_tenant(client, api.operator)
        first = client.post("/v1/reservations", headers=bearer(api.operator, "restart"), json=booking(world, tenant))
    with TestClient(create_app(settings_for(sqlite_url))) as client:
        again = client.post("/v1/reservations", headers=bearer(api.operator, "restart"), json=booking(world, tenant))
        assert (again.status_code, again.json()) == (201, first.json())
        listed = client.get(f"/v1/tenants/{tenant['id']}/reservations", headers=bearer(api.operator),
                            params={"min_position": int(first.headers["Ledger-Position"])}).json()
        assert [r["id"] for r in listed["items"]] == [first.json()["id"]]


def test_concurrent_retries_record_once(served_api: Api) -> None:
    c, op = served_api.client, served_api.operator
    world = build_capacity(c, op, gpus=64)
    tenant = register_tenant(c, op)

    def post(_: int) -> Any:
        return c.post("/v1/reservations", headers=bearer(op, "burst"), json=booking(world, tenant))

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(post, range(16)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    written = max(int(r.headers["Ledger-Position"]) for r in responses)  # the lists read a projection
    listed = c.get(f"/v1/tenants/{tenant['id']}/reservations", headers=bearer(op),
                   params={"min_position": written}).json()
    assert len(listed["items"]) == 1


def test_a_retry_after_the_stored_response_was_lost_cannot_book_twice(sqlite_api: Api) -> None:
    """The server died after the ledger committed but before the key's response was stored
    (simulated by deleting the key's row): the retry runs again, but the reservation id derived
    from (caller, key) already exists, so the GPUs are not booked a second time."""

    c, op = sqlite_api.client, sqlite_api.operator
    world = build_capacity(c, op, gpus=8)
    tenant = register_tenant(c, op)
    first = c.post("/v1/reservations", headers=bearer(op, "lost-1"), json=booking(world, tenant, gpus=3))
    assert first.status_code == 201
    store = open_api_store(sqlite_api.url)
    try:
        with store.transaction() as tx:
            tx.execute("DELETE FROM api_idempotency WHERE key = ?", ("lost-1",))
    finally:
        store.close()
    before = log_length(sqlite_api)
    retry = c.post("/v1/reservations", headers=bearer(op, "lost-1"), json=booking(world, tenant, gpus=3))
    assert retry.status_code == 409  # without the derived id this would book 3 more GPUs (201)
    assert retry.json()["type"].endswith("/conflict")
    assert log_length(sqlite_api) == before
    rest = c.post("/v1/reservations", headers=bearer(op, "rest"), json=booking(world, tenant, gpus=5))
    assert rest.status_code == 201  # 3 of 8 were booked once, so 5 are still free
