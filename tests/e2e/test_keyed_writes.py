"""One commit per keyed write: an Idempotency-Key and its answer are saved with the ledger's events.

The key's row is either absent (nothing was written) or complete (written once, with the
answer the client got); concurrent duplicates wait on it and replay the first answer.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import api.answers
import storage.recorders
from access.tokens import Principal, Role, TokenBook, create_token, revoke_token
from api.answers import answer_for
from api.idempotency import KeyBook
from bootstrap import create_app, open_api_store
from tests.e2e.conftest import Api, settings_for
from tests.e2e.scenario import FUTURE_YEAR, MODEL, bearer, build_capacity, register_tenant
from tests.e2e.test_idempotency import log_length


def key_row(api: Api, key: str) -> tuple[Any, ...] | None:
    store = open_api_store(api.url)
    try:
        with store.transaction() as tx:
            return tx.one("SELECT state, status, position, body FROM api_idempotency WHERE key = ?", (key,))
    finally:
        store.close()


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts the ledger's event transactions and the key rows stored on their own."""
    seen: Counter[str] = Counter()
    ledger_insert = storage.recorders.AttachingRecorder.insert_events
    store_first = KeyBook.store_first

    def counting_insert(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen["ledger+key" if kwargs.get("attachments") else "ledger"] += 1
        return ledger_insert(self, *args, **kwargs)

    def counting_store(self: KeyBook, *args: Any, **kwargs: Any) -> Any:
        seen["key alone"] += 1
        return store_first(self, *args, **kwargs)

    monkeypatch.setattr(storage.recorders.AttachingRecorder, "insert_events", counting_insert)
    monkeypatch.setattr(KeyBook, "store_first", counting_store)
    yield seen


def booking(world: dict[str, Any], tenant: dict[str, Any], gpus: int = 1) -> dict[str, Any]:
    return {"tenant_id": tenant["id"], "site_id": world["site"]["id"], "model": MODEL, "gpus": gpus,
            "start": f"{FUTURE_YEAR}-05-01T00:00:00Z", "end": f"{FUTURE_YEAR}-05-02T00:00:00Z"}


def test_a_keyed_write_is_one_commit_holding_its_answer(any_api: Api, writes: Counter[str]) -> None:
    c, op = any_api.client, any_api.operator
    world = build_capacity(c, op, gpus=4)
    tenant = register_tenant(c, op)
    writes.clear()
    first = c.post("/v1/reservations", headers=bearer(op, "one-commit"), json=booking(world, tenant))
    assert first.status_code == 201
    assert writes == Counter({"ledger+key": 1})  # no claim before, no completion after
    state, status, position, body = key_row(any_api, "one-commit") or ()
    assert (state, status, position) == ("done", 201, int(first.headers["Ledger-Position"]))
    # The stored row is the command's result (canonical JSON: the position, the reservation's id
    # and version), and the answer sent was rendered from it after the commit.
    result = json.loads(body)
    assert body == json.dumps(result, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert result["position"] == position and result["result"]["id"] == first.json()["id"]
    # A retry is not looked up first (that would cost every first request a round trip): its
    # command runs and is refused (its derived reservation id, or its key, is taken, so its
    # transaction rolls back), and the stored first answer wins over the refusal.
    logged = log_length(any_api)
    writes.clear()
    again = c.post("/v1/reservations", headers=bearer(op, "one-commit"), json=booking(world, tenant))
    assert (again.status_code, again.text, again.headers["Idempotent-Replayed"]) == (201, first.text, "true")
    assert writes["ledger"] == 0
    assert log_length(any_api) == logged


def test_a_failure_inside_the_transaction_leaves_no_key_and_no_events(
        any_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer is rendered inside the ledger's transaction: if that fails, the events and the
    key go together, and a retry with the same key books once."""
    c, op = any_api.client, any_api.operator
    world = build_capacity(c, op, gpus=4)
    tenant = register_tenant(c, op)
    before = log_length(any_api)

    def broken(self: api.answers.Saved, cls: type) -> Any:
        raise RuntimeError("the answer could not be rendered")

    with monkeypatch.context() as patch:
        patch.setattr(api.answers.Saved, "one", broken)
        if isinstance(c, TestClient):
            c = TestClient(c.app, raise_server_exceptions=False)
        failed = c.post("/v1/reservations", headers=bearer(op, "atomic"), json=booking(world, tenant, gpus=3))
    assert failed.status_code == 500
    assert key_row(any_api, "atomic") is None
    assert log_length(any_api) == before
    retry = any_api.client.post("/v1/reservations", headers=bearer(op, "atomic"), json=booking(world, tenant, gpus=3))
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert log_length(any_api) == before + 2  # the pool's booking and the reservation, once
    rest = any_api.client.post("/v1/reservations", headers=bearer(op), json=booking(world, tenant, gpus=2))
    assert rest.status_code == 409  # 3 of 4 GPUs are booked, once


def test_concurrent_duplicates_of_a_random_id_command_write_once(served_api: Api) -> None:
    """Registering a tenant has no id derived from the key: only the key's row stops the
    duplicates, which wait on it inside the database and then replay the first answer."""
    c, op = served_api.client, served_api.operator
    body = {"name": f"Burst {uuid.uuid4().hex[:6]}", "billing_currency": "USD", "rates": {MODEL: "2.50"}}
    before = log_length(served_api)

    def post(_: int) -> Any:
        return c.post("/v1/tenants", headers=bearer(op, f"tenant-{body['name']}"), json=body)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(post, range(16)))
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201]
    assert len({r.text for r in responses}) == 1
    assert log_length(served_api) == before + 1
    # The connections whose transactions failed on the key go on writing (once, a failed key
    # statement early in psycopg's pipeline left the server without the library's prepared
    # statements: "prepared statement does not exist" on the next write).
    later = [register_tenant(c, op, name=f"After {i}") for i in range(12)]
    assert len({t["id"] for t in later}) == 12


def test_every_command_route_answers_from_what_it_saves(sqlite_url: str) -> None:
    app = create_app(settings_for(sqlite_url))
    routes: list[APIRoute] = []
    stack: list[Any] = list(app.routes)
    while stack:  # included routers keep their own routes
        route = stack.pop()
        if isinstance(route, APIRoute):
            routes.append(route)
        stack.extend(getattr(getattr(route, "original_router", None), "routes", ()))
    commands = [r for r in routes if "x-ledger-command" in (r.openapi_extra or {})]
    documented = [op for path in app.openapi()["paths"].values() for op in path.values()
                  if "x-ledger-command" in op]
    assert len(commands) == len(documented) > 20
    assert [r.path for r in commands if answer_for(r) is None] == []


BODIES = {
    "a": {"billing_currency": "USD", "rates": {MODEL: "2.50"}},
    "b": {"billing_currency": "EUR", "rates": {MODEL: "3.10"}},
    "bad": {"billing_currency": "XXX", "rates": {MODEL: "2.50"}},  # refused (422): stored, replayed
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["k1", "k2", "k3"]), st.sampled_from(sorted(BODIES))), max_size=10))
def test_replays_follow_the_first_request_of_each_key(sqlite_api: Api, calls: list[tuple[str, str]]) -> None:
    """Whatever the order of keys and bodies: the first request of a key decides its answer; the
    same body again replays it (nothing new recorded), another body is 409 key-reused; one
    tenant per key whose first body was valid."""
    c, op = sqlite_api.client, sqlite_api.operator
    run = uuid.uuid4().hex[:8]
    first: dict[str, tuple[str, int, str]] = {}
    before = log_length(sqlite_api)
    for key, variant in calls:
        body = {"name": f"P {run} {key}", **BODIES[variant]}
        response = c.post("/v1/tenants", headers=bearer(op, f"{run}-{key}"), json=body)
        if key not in first:
            first[key] = (variant, response.status_code, response.text)
            assert response.status_code == (422 if variant == "bad" else 201)
        elif variant == first[key][0]:
            assert (response.status_code, response.text) == first[key][1:]
            assert response.headers["Idempotent-Replayed"] == "true"
        else:
            assert response.status_code == 409
            assert response.json()["type"].endswith("/idempotency-key-reused")
    assert log_length(sqlite_api) == before + sum(1 for variant, _, _ in first.values() if variant != "bad")


def test_a_keyed_booking_leaves_no_reference_cycle(sqlite_api: Api) -> None:
    """Everything a keyed POST made (its request, its key's attachment, the pool's copy it booked
    on) is freed when it ends, not left for the garbage collector: under load, full collections
    were the p99 of a POST (BENCHMARKS.md, *Write path*)."""
    c, op = sqlite_api.client, sqlite_api.operator
    world = build_capacity(c, op, gpus=1000)
    tenant = register_tenant(c, op)
    app = c.app
    body = json.dumps(booking(world, tenant)).encode()

    async def post(key: str) -> int:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/v1/reservations", "raw_path": b"/v1/reservations", "query_string": b"",
                 "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
                 "headers": [(b"host", b"ledger"), (b"authorization", f"Bearer {op}".encode()),
                             (b"content-type", b"application/json"), (b"idempotency-key", key.encode())]}
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        status: list[int] = []

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(scope, receive, send)  # type: ignore[operator]
        return status[0]

    async def posts(keys: list[str]) -> list[int]:
        return [await post(key) for key in keys]

    asyncio.run(posts([f"warm-{i}" for i in range(3)]))  # first-use caches, lazily built state
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        statuses = asyncio.run(posts([f"cycle-{i}" for i in range(20)]))
        gc.collect()
        left = [type(o).__qualname__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert statuses == [201] * 20
    assert not left, f"keyed POSTs left reference cycles: {Counter(left).most_common(8)}"


def test_a_keyed_write_on_a_token_revoked_while_cached_records_nothing(any_api: Api,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A keyed write does not look its token up before its command: the key's row is saved only
    while the token stands, checked in the ledger's own transaction. A token revoked while the
    process still trusts its cache gets 401, and nothing is recorded; an answer that writes
    nothing (a refusal) looks the token up first, so it is 401 too."""
    c, op = any_api.client, any_api.operator
    world = build_capacity(c, op, gpus=4)
    tenant = register_tenant(c, op)
    store = open_api_store(any_api.url)
    try:
        token = create_token(store, Role.operator)
        assert c.get(f"/v1/tenants/{tenant['id']}", headers=bearer(token)).status_code == 200  # now cached
        # From here on the server's cache is trusted as if revocations had just been looked at:
        # only the write's own check can notice the revocation below.
        cached = TokenBook.cached

        def trusting(book: TokenBook, presented: str, *, checked_later: bool = False) -> Principal | None:
            book._checked_at = time.monotonic()
            return cached(book, presented, checked_later=checked_later)

        monkeypatch.setattr(TokenBook, "cached", trusting)
        ok = c.post("/v1/reservations", headers=bearer(token, "before"), json=booking(world, tenant))
        assert ok.status_code == 201, ok.text
        revoke_token(store, token)
    finally:
        store.close()
    before = log_length(any_api)
    for key, body in (("booked", booking(world, tenant)), ("refused", booking(world, tenant, gpus=99))):
        answer = c.post("/v1/reservations", headers=bearer(token, key), json=body)
        assert answer.status_code == 401, answer.text
        assert answer.json()["type"].endswith("/unauthenticated")
        assert key_row(any_api, key) is None, "a revoked token's key was stored"
    assert log_length(any_api) == before, "a revoked token's keyed write recorded events"


def test_writes_alone_keep_using_the_token_cache(sqlite_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A workload of writes never looks at revocations (reads do), yet its writes answer their
    caller from the cache: each write checks its token itself (in its endpoint, or in its
    transaction when keyed), so a cache whose look at revocations is due still serves them."""
    c, op = sqlite_api.client, sqlite_api.operator
    world = build_capacity(c, op, gpus=100)
    tenant = register_tenant(c, op)
    lookups: Counter[str] = Counter()
    looked_up = TokenBook.principal_of_hash

    def counting(book: TokenBook, digest: str, **kwargs: Any) -> Principal | None:
        lookups["token"] += 1
        return looked_up(book, digest, **kwargs)

    monkeypatch.setattr(TokenBook, "principal_of_hash", counting)
    c.post("/v1/reservations", headers=bearer(op, "warm"), json=booking(world, tenant))  # cached now
    c.app.state.services.tokens._checked_at = -math.inf  # type: ignore[attr-defined]  # the look is overdue
    lookups.clear()
    for n in range(5):
        assert c.post("/v1/reservations", headers=bearer(op, f"write-{n}"), json=booking(world, tenant)
                      ).status_code == 201
    assert lookups["token"] == 0, "keyed writes looked their token up before their command"
    assert c.post("/v1/reservations", headers=bearer(op), json=booking(world, tenant)).status_code == 201
    assert lookups["token"] == 1, "an unkeyed write looks its token up once, in its endpoint"


@pytest.mark.parametrize("key", [None, "wrong-role"])
def test_a_revoked_cached_token_on_a_route_of_another_role_is_401_not_403(
        sqlite_api: Api, monkeypatch: pytest.MonkeyPatch, key: str | None) -> None:
    c = sqlite_api.client
    store = open_api_store(sqlite_api.url)
    try:
        token = create_token(store, Role.operator)
        assert c.get("/v1/reports/capex", headers=bearer(token)).status_code == 200  # now cached
        revoke_token(store, token)
    finally:
        store.close()
    c.app.state.services.tokens._checked_at = -math.inf  # type: ignore[attr-defined]  # the look is overdue
    answer = c.post("/v1/usage", headers=bearer(token, key), json={"records": []})  # a meter's route
    assert answer.status_code == 401, answer.text


def test_a_write_is_one_worker_thread_hop_keyed_or_not(sqlite_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each POST does its work in one hop to a worker thread, keyed or not: its caller comes from
    the token cache inline, and the model it returns is validated on the event loop (FastAPI
    validates a plain ``def`` endpoint's answer in a second hop)."""
    import anyio.to_thread

    import api.idempotency

    c, op = sqlite_api.client, sqlite_api.operator
    world = build_capacity(c, op, gpus=100)
    tenant = register_tenant(c, op)
    hops: Counter[str] = Counter()
    run_sync = anyio.to_thread.run_sync
    submit = api.idempotency.WRITE_THREADS.submit

    async def counting_run_sync(*args: Any, **kwargs: Any) -> Any:
        hops["anyio"] += 1
        return await run_sync(*args, **kwargs)

    def counting_submit(*args: Any, **kwargs: Any) -> Any:
        hops["write thread"] += 1
        return submit(*args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting_run_sync)
    monkeypatch.setattr(api.idempotency.WRITE_THREADS, "submit", counting_submit)
    writes = [("/v1/reservations", "keyed", booking(world, tenant)), ("/v1/reservations", None, booking(world, tenant)),
              ("/v1/tenants", "tenant", {"name": "Hop Lab", "billing_currency": "USD", "rates": {MODEL: "2.50"}}),
              ("/v1/tenants", None, {"name": "Hop Lab 2", "billing_currency": "USD", "rates": {MODEL: "2.50"}})]
    for path, key, body in writes:
        hops.clear()
        assert c.post(path, headers=bearer(op, key), json=body).status_code == 201
        assert hops == Counter({"write thread": 1}), (path, key, hops)


def test_a_replay_renders_the_stored_result_not_the_resource_as_it_is_now(any_api: Api) -> None:
    """The key's row holds the command's result (the tenant's id and version); the response is
    rendered from it after the commit. A replay after the tenant changed renders the tenant at
    that version again: the same bytes, status and Ledger-Position as the first answer."""
    c, op = any_api.client, any_api.operator
    body = {"name": f"Then {uuid.uuid4().hex[:6]}", "billing_currency": "USD", "rates": {MODEL: "2.50"}}
    first = c.post("/v1/tenants", headers=bearer(op, "then"), json=body)
    assert first.status_code == 201
    tenant_id = first.json()["id"]
    suspended = c.post(f"/v1/tenants/{tenant_id}/suspension", headers=bearer(op), json={"reason": "audit"})
    assert suspended.status_code == 200, suspended.text
    assert suspended.text != first.text
    again = c.post("/v1/tenants", headers=bearer(op, "then"), json=body)
    assert (again.status_code, again.text, again.headers["Ledger-Position"]) == (
        201, first.text, first.headers["Ledger-Position"])
    assert again.headers["Idempotent-Replayed"] == "true"
