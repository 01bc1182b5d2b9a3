"""Hostile input on every POST route, on both stores: SQL-ish and unicode strings (NUL, RTL
marks, lone surrogates, 10k characters, ...) in every text field, oversized bodies (413 at the
configured limit, declared or streamed), deeply nested JSON, invalid UTF-8, absurd numbers.

Nothing gets a 5xx; every refusal is problem+json; a refused request records nothing (the log's
head is unchanged) and an accepted one stores the string exactly as sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from bootstrap import create_app, open_ledger
from tests.e2e.conftest import Api, ServerThread, settings_for
from tests.e2e.scenario import MODEL, bearer, build_capacity, ok, register_tenant
from tests.reliability.openapi_routes import example_body, operations

LIMIT = 64 * 1024  # LEDGER_MAX_BODY_BYTES for these tests
PROBLEM = "application/problem+json"

HOSTILE = [
    "'; DROP TABLE ledger_events; --", "Robert'); DELETE FROM stored_events WHERE ('1'='1",
    "\" OR 1=1 --", "1; SELECT pg_sleep(30)", "%s%s%s%n", "?", "$1", "\\", "${jndi:ldap://x/a}",
    "<script>alert(1)</script>", "../../etc/passwd", "\u0000", "a\u0000b", "\u202egnp.exe\u202c",
    "\u200f\u200e\u061c", "\ufeffBOM", "Zürich Ωmega 東京 \U0001d518\U0001d52b\U0001d526 😀👩‍👩‍👧", "\ud800", "x\udfff",
    "\r\n\t", " ", "", "x" * 10_000, "é" * 201,
]

# Every POST of the API, from its OpenAPI document (tests/reliability/openapi_routes.py).
POSTS = operations(methods=("post",))


pytestmark = pytest.mark.slow  # every POST route with hostile strings: ~20 s


def text_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every string leaf (and every object key) of a body, as a path."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from text_paths(v, (*path, k))
            yield (*path, ("key", k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from text_paths(v, (*path, i))


def replaced(body: Any, path: tuple[Any, ...], new: str) -> Any:
    body = json.loads(json.dumps(body))
    target = body
    for step in path[:-1]:
        target = target[step]
    last = path[-1]
    if isinstance(last, tuple):  # an object key
        target[new] = target.pop(last[1])
    else:
        target[last] = new
    return body


def raw_json(body: Any) -> bytes:
    """JSON with \\u escapes, so that lone surrogates travel as the JSON text a client can send."""
    return json.dumps(body, ensure_ascii=True).encode()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])])
def limited_api(request: pytest.FixtureRequest) -> Iterator[Api]:
    """The API with LEDGER_MAX_BODY_BYTES = 64 KiB: a TestClient on SQLite, uvicorn on PostgreSQL."""
    if request.param == "sqlite":
        url = str(request.getfixturevalue("sqlite_url"))
        with TestClient(create_app(settings_for(url, max_body_bytes=LIMIT))) as client:
            yield Api(client, url)
    else:
        url = str(request.getfixturevalue("postgres_url"))
        with ServerThread(url, max_body_bytes=LIMIT) as base, httpx.Client(base_url=base, timeout=60) as client:
            yield Api(client, url)


class Head:
    def __init__(self, url: str) -> None:
        self.ledger = open_ledger(url)

    def __call__(self) -> int:
        return self.ledger.max_position()


def check(response: httpx.Response, head_before: int, head_after: int, what: str) -> bool:
    """True if accepted. No 5xx; a refusal is problem+json and recorded nothing."""
    assert response.status_code < 500, (what, response.status_code, response.text[:500])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(PROBLEM), (what, response.text[:300])
        assert response.json()["status"] == response.status_code
        assert head_after == head_before, (what, response.status_code, "a refused request recorded something")
        return False
    return True


def test_hostile_strings_in_every_text_field_of_every_post_route(limited_api: Api) -> None:
    c, op = limited_api.client, limited_api.operator
    world = build_capacity(c, op, gpus=8)
    tenant = register_tenant(c, op, "A")
    reservation = ok(c.post("/v1/reservations", headers=bearer(op), json={
        "tenant_id": tenant["id"], "site_id": world["site"]["id"], "model": MODEL, "gpus": 1,
        "start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z"}))
    ok(c.post("/v1/reservations", headers=bearer(op), json={
        "tenant_id": tenant["id"], "site_id": world["site"]["id"], "model": MODEL, "gpus": 1,
        "start": "2025-02-01T00:00:00Z", "end": "2025-02-02T00:00:00Z", "backfill": True}))
    invoice = ok(c.post("/v1/invoices", headers=bearer(limited_api.tokens["finance"]),
                        json={"tenant_id": tenant["id"], "month": "2025-02"}))
    ids = {"round": world["round"]["id"], "order": world["order"]["id"], "site": world["site"]["id"],
           "tenant": tenant["id"], "reservation": reservation["id"], "invoice": invoice["id"]}
    head = Head(limited_api.url)
    sent = accepted = 0
    assert len(POSTS) >= 14, [op.path for op in POSTS]
    try:
        for op in POSTS:
            path, body = op.url(ids), example_body(op, ids, optional=True) or {}
            token = limited_api.tokens[op.role]
            for field in text_paths(body):
                # One head read per field: every accepted write answers with the position of its
                # last event, so a refused request that recorded anything would leave the head
                # beyond the highest position answered.
                highest = head()
                for hostile in HOSTILE:
                    response = c.post(path, headers={**bearer(token), "Content-Type": "application/json"},
                                      content=raw_json(replaced(body, field, hostile)))
                    sent += 1
                    if check(response, 0, 0, f"{path} {field} {hostile[:20]!r}"):
                        accepted += 1
                        if "ledger-position" in response.headers:
                            highest = max(highest, int(response.headers["ledger-position"]))
                        if field in (("name",), ("investor",), ("supplier",), ("factor_source",)):
                            echoed = response.json().get(field[0])
                            assert echoed is None or echoed == hostile.strip(), (path, field, hostile[:20])
                assert head() == highest, (path, field, "a refused request recorded something")
            # Hostile path parameters.
            if "{" in op.path:
                for hostile in ("'; DROP TABLE x; --", "..%2F..%2Fetc", "%00", "\u202e", "9" * 5000):
                    bad = op.url(ids, **{p.name: hostile for p in op.params if p.location == "path"})
                    before = head()
                    response = c.post(bad, headers=bearer(token), json=body)
                    sent += 1
                    assert not check(response, before, head(), bad[:80])
    finally:
        head.ledger.close()
    assert sent > 1000, sent
    assert accepted > 0  # some hostile-looking names are legitimate names, stored as sent
    print(f"hostile strings: {sent} requests, {accepted} accepted, {sent - accepted} refused, no 5xx")


def test_malformed_and_oversized_bodies(limited_api: Api) -> None:
    c, op = limited_api.client, limited_api.operator
    head = Head(limited_api.url)
    h = {**bearer(op), "Content-Type": "application/json"}
    site = {"name": "S", "country": "GB", "grid_intensity_g_per_kwh": "200", "pue": "1.2",
            "carbon_free_share": "0.5", "effective_from": "2025-01-01T00:00:00Z"}
    padded = dict(site, factor_source="x")
    overhead = len(raw_json(padded)) - 1
    at_limit = raw_json(dict(site, factor_source="x" * (LIMIT - overhead)))
    assert len(at_limit) == LIMIT

    def chunks(size: int) -> Iterator[bytes]:
        for _ in range(size // 4096 + 1):
            yield b"x" * 4096

    cases: list[tuple[str, dict[str, str], Any, set[int]]] = [
        ("exactly the limit (a 64k name is refused by validation, not by size)", h, at_limit, {422}),
        ("one byte over the limit", h, at_limit + b" ", {413}),
        ("10 MB declared", h, b"{" + b" " * (10 * 1024 * 1024) + b"}", {413}),
        ("over the limit, streamed without Content-Length", h, lambda: chunks(LIMIT * 2), {413}),
        ("deeply nested arrays", h, b"[" * 100_000 + b"]" * 100_000, {413}),
        ("nested under the limit", h, b"[" * 30_000 + b"]" * 30_000, {400, 422}),
        ("nested objects", h, b'{"name":' * 5_000 + b"1" + b"}" * 5_000, {400, 422}),
        ("nested in a field", h, json.dumps(dict(site, name=json.loads("[" * 500 + "]" * 500))).encode(), {400, 422}),
        ("invalid UTF-8", h, b'{"name": "\xff\xfe\xc3\x28", "country": "GB"}', {400, 422}),
        ("truncated JSON", h, raw_json(site)[:-5], {400, 422}),
        ("not JSON", h, b"name=S&country=GB", {400, 422}),
        ("NaN and Infinity", h, b'{"gpus": NaN, "quantity": Infinity}', {400, 422}),
        ("a 5000-digit number", h, b'{"quantity": ' + b"9" * 5000 + b"}", {400, 422}),
        ("duplicate keys", h, b'{"name": "a", "name": "b"}', {400, 422}),
        ("empty body", h, b"", {400, 422}),
        ("JSON null", h, b"null", {400, 422}),
        ("a JSON string", h, b'"\\u0000"', {400, 422}),
        ("text/plain", {**bearer(op), "Content-Type": "text/plain"}, raw_json(site), {415, 422}),
        ("bad Content-Length", {**h, "Content-Length": "abc"}, None, {400, 413}),
    ]
    if not isinstance(c, TestClient):  # httpx will not send a malformed Content-Length to a real server
        cases = [case for case in cases if case[0] != "bad Content-Length"]
    try:
        for what, headers, content, statuses in cases:
            before = head()
            for path in ("/v1/sites", "/v1/reservations", "/v1/usage"):
                if path == "/v1/usage" and "Authorization" in headers:
                    headers = {**headers, **bearer(limited_api.tokens["meter"])}
                response = c.post(path, headers=headers, content=content() if callable(content) else content)
                assert response.status_code in statuses, (what, path, response.status_code, response.text[:300])
                check(response, before, head(), what)
                if response.status_code == 413:
                    assert response.json()["type"].endswith("/payload-too-large")
                    assert str(LIMIT) in response.json()["detail"]
    finally:
        head.ledger.close()
