"""Idempotency-Key on POST: a retry with the same key and body gets the first response back.

The key is *claimed first*: a row (caller scope, key) is inserted before the command runs, under
a unique constraint, so concurrent retries cannot both run it; they wait for the first one to
finish and then replay its stored status, body and Ledger-Position. The same key with another
body is 409. Responses below 500 are stored (a refusal recorded nothing, and is replayed as
such); a 5xx or crash releases the key so the client can retry. Rows live in the ledger's
database, so replays survive a restart.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import authenticate, bearer, services
from api.problems import IdempotencyInProgress, IdempotencyKeyReused, problem_for
from api.store import ApiStore
from domain.errors import InvalidInput, LedgerError

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
LEASE_SECONDS = 120.0  # a claim older than this belongs to a crashed request and may be taken over


@dataclass(frozen=True)
class StoredResponse:
    status: int
    content_type: str
    position: int | None
    body: str


def fingerprint(request: Request, body: bytes) -> str:
    """Method, path and body; a JSON body is compared by value, not by its spacing."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        canonical = body
    digest = hashlib.sha256(f"{request.method} {request.url.path}?{request.url.query}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


class KeyBook:
    def __init__(self, store: ApiStore) -> None:
        self.store = store

    def claim(self, scope: str, key: str, print_: str, wait_seconds: float) -> StoredResponse | None:
        """None when this request now owns the key; the stored response when a first request
        with the same body completed; raises on another body or a first request still running."""
        deadline = time.monotonic() + wait_seconds
        while True:
            now = time.time()
            with self.store.transaction() as tx:
                if tx.execute("INSERT INTO api_idempotency (scope, key, fingerprint, state, claimed_at) "
                              "VALUES (?, ?, ?, 'pending', ?) ON CONFLICT (scope, key) DO NOTHING",
                              (scope, key, print_, now)) == 1:
                    return None
                row = tx.one("SELECT fingerprint, state, claimed_at, status, content_type, position, body "
                             "FROM api_idempotency WHERE scope = ? AND key = ?", (scope, key))
                if (row is not None and row[0] == print_ and row[1] == "pending" and now - row[2] > LEASE_SECONDS
                        and tx.execute("UPDATE api_idempotency SET claimed_at = ? WHERE scope = ? AND key = ? "
                                       "AND state = 'pending' AND claimed_at = ?", (now, scope, key, row[2])) == 1):
                    return None  # a stale claim with our body: take it over
            if row is None:
                continue  # released between our insert and select: try again
            if row[0] != print_:
                raise IdempotencyKeyReused(f"{HEADER}: this key was used with a different request body",
                                           field=HEADER)
            if row[1] == "done":
                return StoredResponse(int(row[3]), str(row[4]), None if row[5] is None else int(row[5]), str(row[6]))
            if time.monotonic() > deadline:
                raise IdempotencyInProgress(f"{HEADER}: a request with this key is still running; retry later",
                                            field=HEADER)
            time.sleep(0.05)

    def complete(self, scope: str, key: str, response: StoredResponse) -> None:
        with self.store.transaction() as tx:
            tx.execute("UPDATE api_idempotency SET state = 'done', status = ?, content_type = ?, position = ?, "
                       "body = ? WHERE scope = ? AND key = ?",
                       (response.status, response.content_type, response.position, response.body, scope, key))

    def release(self, scope: str, key: str) -> None:
        with self.store.transaction() as tx:
            tx.execute("DELETE FROM api_idempotency WHERE scope = ? AND key = ? AND state = 'pending'", (scope, key))


def _check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"{HEADER}: 1 to {MAX_KEY_LENGTH} printable characters", field=HEADER)
    return key


def replay(stored: StoredResponse) -> Response:
    headers = {"Idempotent-Replayed": "true"}
    if stored.position is not None:
        headers["Ledger-Position"] = str(stored.position)
    return Response(stored.body, status_code=stored.status, media_type=stored.content_type, headers=headers)


class IdempotentRoute(APIRoute):
    """An APIRoute whose POSTs honour the Idempotency-Key header."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            raw_key = request.headers.get(HEADER)
            if request.method != "POST" or raw_key is None:
                return await original(request)
            key = _check_key(raw_key)
            principal = authenticate(request, await bearer(request))
            book = KeyBook(services(request).store)
            print_ = fingerprint(request, await request.body())
            wait = services(request).settings.idempotency_wait_seconds
            stored = await run_in_threadpool(book.claim, principal.scope, key, print_, wait)
            if stored is not None:
                return replay(stored)
            try:
                response = await original(request)
            except (LedgerError, RequestValidationError, StarletteHTTPException) as exc:
                response = problem_for(request, exc)
            except BaseException:
                await run_in_threadpool(book.release, principal.scope, key)
                raise
            if response.status_code >= 500:
                await run_in_threadpool(book.release, principal.scope, key)
                return response
            position = response.headers.get("ledger-position")
            result = StoredResponse(response.status_code, response.headers.get("content-type", "application/json"),
                                    int(position) if position else None, bytes(response.body).decode("utf-8"))
            await run_in_threadpool(book.complete, principal.scope, key, result)
            return response

        return handler
