"""Idempotency-Key on POST: a retry with the same key and body gets the first response back.

One commit per keyed write. The key's row, holding its command's RESULT (canonical JSON: the
log position and what the route's answer needs, e.g. an aggregate's id and version:
:mod:`api.answers`), is saved in the ledger's own transaction, with the command's events
(``domain/attachments.py``, ``storage/recorders.py``): the key is either absent (nothing was
written: a crash, a 5xx) or complete (written once, with its result), never pending. The
response is rendered AFTER the commit, from that stored result, exactly as a replay of the key
renders it (same status, body and ``Ledger-Position``).

What a write runs for travels explicitly: the route passes a ``CommandContext`` (the caller,
the key, the request's fingerprint and the factory of the key's row: :func:`command_context`)
to its command, which hands it to its save.

* A concurrent duplicate waits inside the database for the first to commit (on PostgreSQL, on
  the events table's lock every writer takes), then its transaction fails on the key
  (``AttachmentTaken``): nothing of it is recorded, and it replays the first.
* A request that wrote nothing (a refusal below 500, or a command with nothing to record)
  stores its answer in one short transaction of its own; if the key is there already, the
  stored answer wins and is replayed.
* The same key with another body is 409 (``idempotency-key-reused``); nothing is written.
* Reservations confirmed under a key also get an id derived from (caller, key)
  (``api/routes/tenancy.py``): a second line of defence should the key's row ever be lost.

Rows live in the ledger's database, so replays survive a restart.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import functools
import hashlib
import inspect
import json
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from access.tokens import Principal
from api.answers import Answer, Lookup, Saved, answer_for, canonical
from api.deps import fresh_authentication, services
from api.params import check_parameters
from api.problems import IdempotencyInProgress, IdempotencyKeyReused, Unauthenticated, problem_for
from domain import Ledger
from domain.attachments import NO_CONTEXT, Attachment, AttachmentRefused, AttachmentTaken, CommandContext, Guard
from domain.errors import InvalidInput, LedgerError
from storage.api_store import ApiStore

HEADER = "Idempotency-Key"
# A key's row is saved only while the caller's token stands (not revoked), checked inside the
# ledger's transaction: a keyed write needs no token lookup of its own before its command.
TOKEN_STANDS = Guard(column="scope", table="api_tokens", key="token_hash", unset="revoked_at")
MAX_KEY_LENGTH = 200
_KEY_DESCRIPTION = "Retry-safe key: the same key and body return the first response."
# The header in each POST's OpenAPI operation. It is read by IdempotentRoute's handler, before
# the route's dependencies are solved; a dependency declaring it would cost every POST one more
# solve (and a validation) for a value nothing uses.
KEY_PARAMETER: dict[str, object] = {
    "name": HEADER, "in": "header", "required": False, "description": _KEY_DESCRIPTION,
    "schema": {"anyOf": [{"type": "string", "maxLength": MAX_KEY_LENGTH}, {"type": "null"}],
               "description": _KEY_DESCRIPTION, "title": HEADER}}
TABLE = "api_idempotency"
JSON = "application/json"
# The content type of a key's row that holds its command's result (canonical JSON: the log
# position and the route's result, ``api.answers``), rendered into the response after the
# commit; a row of another type holds the response itself (an answer that wrote nothing).
RESULT = "application/vnd.gpu-ledger.result+json"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    content_type: str
    position: int | None
    body: str
    fingerprint: str = ""


def fingerprint(request: Request, body: bytes) -> str:
    """Method, path and body; a JSON body is compared by value, not by its spacing."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        canonical = body
    # The path and query as ``request.url`` gives them (Starlette's URL(scope=...)), read from
    # the scope without building and parsing a URL on every POST.
    scope = request.scope
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = scope.get("query_string", b"").decode("utf-8", "replace")
    digest = hashlib.sha256(f"{request.method} {path}?{query}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


class KeyBook:
    """The key rows a request reads or writes outside the ledger's transaction."""

    def __init__(self, store: ApiStore) -> None:
        self.store = store

    def find(self, scope: str, key: str) -> StoredResponse | None:
        with self.store.read() as tx:
            row = tx.one("SELECT fingerprint, state, status, content_type, position, body FROM api_idempotency "
                         "WHERE scope = ? AND key = ?", (scope, key))
        if row is None:
            return None
        if row[1] != "done":  # a claim of the earlier design, left by a crash (dropped at startup: storage.api_store)
            raise IdempotencyInProgress(f"{HEADER}: a request with this key is still running; retry later",
                                        field=HEADER)
        return StoredResponse(int(row[2]), str(row[3]), None if row[4] is None else int(row[4]), str(row[5]),
                              str(row[0]))

    def store_first(self, scope: str, key: str, print_: str, response: StoredResponse) -> StoredResponse | None:
        """Store ``response`` unless the key has one; None if stored, else the stored one."""
        with self.store.transaction() as tx:
            if tx.execute("INSERT INTO api_idempotency (scope, key, fingerprint, state, claimed_at, status, "
                          "content_type, position, body) VALUES (?, ?, ?, 'done', ?, ?, ?, ?, ?) "
                          "ON CONFLICT (scope, key) DO NOTHING",
                          (scope, key, print_, time.time(), response.status, response.content_type,
                           response.position, response.body)) == 1:
                return None
        return self.find(scope, key)


def _check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"{HEADER}: 1 to {MAX_KEY_LENGTH} printable characters", field=HEADER)
    return key


def rendered(stored: StoredResponse, answer: Answer | None, lookup: Lookup) -> StoredResponse:
    """The response a stored row answers: a stored result rendered by the route's ``answer``
    (the aggregates it names found by ``lookup`` at their versions), else the stored response."""
    if stored.content_type != RESULT:
        return stored
    assert answer is not None, "a result is stored by a route with an answer"
    found = json.loads(stored.body)
    return StoredResponse(stored.status, JSON, stored.position, answer.render(found["result"], lookup),
                          stored.fingerprint)


def replay(stored: StoredResponse, print_: str, answer: Answer | None, lookup: Lookup) -> Response:
    """The stored answer again, for a request with the same key and body (a stored result is
    rendered again, as it was for the first request: ``lookup`` may read the store)."""
    if stored.fingerprint and stored.fingerprint != print_:
        raise IdempotencyKeyReused(f"{HEADER}: this key was used with a different request body", field=HEADER)
    return sent(rendered(stored, answer, lookup), {"Idempotent-Replayed": "true"})


def store_lookup(ledger: Ledger) -> Lookup:
    """Aggregates at a version, loaded from the ledger's store (a replay)."""
    def lookup(ident: UUID, version: int) -> Aggregate:
        found: Aggregate = ledger.repository.get(ident, version=version)
        return found
    return lookup


def sent(stored: StoredResponse, headers: dict[str, str] | None = None) -> Response:
    """The answer exactly as stored, with its Ledger-Position."""
    headers = dict(headers or {})
    if stored.position is not None:
        headers["Ledger-Position"] = str(stored.position)
    return Response(stored.body, status_code=stored.status, media_type=stored.content_type, headers=headers)


@dataclass
class _Rendered:
    """The result one attachment's row was made with, and what it was made from (set inside
    the transaction)."""

    stored: StoredResponse | None = None
    saved: Saved | None = None


class KeyedWrite:
    """The attachment factory of one keyed request: the key's row, answered from what the
    command saves, goes into the ledger's transaction. Its route hands it to the command in the
    command's :class:`~domain.attachments.CommandContext` (:func:`command_context`), with the
    caller, the key and the request's fingerprint; the save calls it with that context. (A
    row's closure refers to no object that refers back to it: a request leaves no reference
    cycle behind, so what it loaded, a pool's copy included, is freed as soon as the request
    ends rather than by the garbage collector.)"""

    def __init__(self, key: str, print_: str, status: int, answer: Answer, raw: bytes) -> None:
        self.key, self.print_, self.status, self.answer, self.raw = key, print_, status, answer, raw
        self.attachments: list[tuple[Attachment, _Rendered]] = []
        self.response: StoredResponse | None = None  # rendered after the commit (answered)

    def __call__(self, context: CommandContext, aggregates: Sequence[Aggregate],
                 events: Sequence[object]) -> Attachment:
        scope, key, print_ = context.principal, context.key, context.fingerprint
        assert scope is not None and key is not None, "a keyed write runs after authentication, with its key"
        answer, status, raw = self.answer, self.status, self.raw
        made = _Rendered()

        def row(position: int) -> dict[str, object]:
            saved = Saved(tuple(aggregates), tuple(events), position, raw)
            body = canonical({"position": position, "result": answer.result(saved)})
            made.stored, made.saved = StoredResponse(status, RESULT, position, body, print_), saved
            return {"scope": scope, "key": key, "fingerprint": print_, "state": "done", "claimed_at": time.time(),
                    "status": status, "content_type": RESULT, "position": position, "body": body}

        attachment = Attachment(TABLE, row, guard=TOKEN_STANDS)
        self.attachments.append((attachment, made))
        return attachment

    @property
    def saved(self) -> _Rendered | None:
        """The result saved with the events (None: nothing was saved under the key)."""
        return next((made for attachment, made in self.attachments if attachment.saved), None)

    def answered(self, ledger: Ledger) -> StoredResponse | None:
        """The response to send, rendered after the commit from the stored result, as a replay
        renders it (the aggregates it names are the saved copies, at the versions it names;
        else loaded from the store). None: nothing was saved under the key. Rendered once."""
        made = self.saved
        if made is None or made.stored is None or made.saved is None:
            return None
        if self.response is None:
            saved, loaded = made.saved, store_lookup(ledger)

            def lookup(ident: UUID, version: int) -> Aggregate:
                for aggregate in saved.aggregates:
                    if aggregate.id == ident and aggregate.version == version:
                        return aggregate
                return loaded(ident, version)
            self.response = rendered(made.stored, self.answer, lookup)
        return self.response


def _keyed_write(request: Request) -> KeyedWrite | None:
    """The keyed write this request is (set by :class:`IdempotentRoute` on the request's state)."""
    found: KeyedWrite | None = getattr(request.state, "keyed_write", None)
    return found


def _scope(request: Request) -> str | None:
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal.scope if principal is not None else None


def command_context(request: Request) -> CommandContext:
    """What a write route passes to its command (``context=``): for a keyed write, the caller,
    the key, the request's fingerprint and the factory of the key's row; else nothing."""
    write = _keyed_write(request)
    if write is None:
        return NO_CONTEXT
    return CommandContext(principal=_scope(request), key=write.key, fingerprint=write.print_, attach=write)


def saved_answer(request: Request) -> Response | None:
    """The answer this request's keyed write saved with its events, if it did, as it is sent:
    a route returns it instead of reading back what it wrote (and FastAPI passes a Response
    through without validating and serialising the body again)."""
    keyed = _keyed_write(request)
    stored = keyed.answered(services(request).ledger) if keyed is not None else None
    return sent(stored) if stored is not None else None


# The worker threads POST endpoints run in: as many as anyio's default limit on FastAPI's own
# threads (40), so concurrent bookings can queue on a pool together (group commit).
WRITE_THREADS = ThreadPoolExecutor(max_workers=40, thread_name_prefix="ledger-write")
F = TypeVar("F", bound=Callable[..., Any])
# The keyword under which FastAPI hands a POST endpoint's wrapper its request (the endpoint's
# own signature need not take one).
REQUEST_PARAMETER = "ledger_request__"


def fresh_token_first(endpoint: F) -> F:
    """``endpoint``, looking its caller's token up in the database first, in the same worker
    thread: a write never runs on a token revoked before it arrived, and the dependencies before
    it answer from the token cache without a thread hop of their own (api.deps.allow).

    A keyed write skips that lookup: its key's row is saved in the ledger's transaction only
    while the token stands (:data:`TOKEN_STANDS`), so a revoked token's write rolls back whole
    (401), and an answer that writes nothing looks the token up before it is stored or sent.

    The wrapper's signature is the endpoint's plus the request (:data:`REQUEST_PARAMETER`), which
    FastAPI passes explicitly."""
    def run(caller: Request, /, *args: Any, **kwargs: Any) -> Any:
        write = _keyed_write(caller)
        if write is None:
            fresh_authentication(caller)
        answer = endpoint(*args, **kwargs)
        # A keyed write that saved its result answers from it, rendered here, after the commit.
        stored = write.answered(services(caller).ledger) if write is not None else None
        return sent(stored) if stored is not None else answer

    signature = inspect.signature(endpoint, eval_str=True)
    # FastAPI passes the request to one parameter only: the endpoint's own, if it takes one.
    own = next((p.name for p in signature.parameters.values() if p.annotation is Request), None)

    @functools.wraps(endpoint)
    async def in_worker_thread(*args: Any, **kwargs: Any) -> Any:
        request: Request = kwargs[own] if own is not None else kwargs.pop(REQUEST_PARAMETER)
        # One hop to a worker thread, with this request's context (contextvars) in it, through
        # the event loop's executor. FastAPI runs a plain ``def`` endpoint through anyio's
        # ``to_thread.run_sync`` (~110 us of CPU per hop here against ~95 us), then validates
        # the model it returns in a second hop; an async endpoint's answer is validated inline.
        call = functools.partial(contextvars.copy_context().run, run, request, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(WRITE_THREADS, call)

    if own is None:
        extra = inspect.Parameter(REQUEST_PARAMETER, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        in_worker_thread.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*signature.parameters.values(), extra])
    return in_worker_thread  # type: ignore[return-value]


REVOKED = "Authorization: unknown token"  # what a revoked token gets, as from authenticate


class IdempotentRoute(APIRoute):
    """An APIRoute whose POSTs honour the Idempotency-Key header, in one worker-thread hop."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = kwargs.get("methods") or ()
        self.fresh_in_endpoint = "POST" in methods and not inspect.iscoroutinefunction(endpoint)
        if "POST" in methods:  # the header is documented here, not declared as a dependency
            documented = {"parameters": [copy.deepcopy(KEY_PARAMETER)]}
            kwargs["openapi_extra"] = {**documented, **(kwargs.get("openapi_extra") or {})}
        super().__init__(path, fresh_token_first(endpoint) if self.fresh_in_endpoint else endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        answer = answer_for(self)
        status = self.status_code or 200

        async def handler(request: Request) -> Response:
            check_parameters(request)  # query, path and header values the route declares
            if request.method != "POST":
                return await original(request)
            return await keyed(request)

        async def keyed(request: Request) -> Response:
            raw_key = request.headers.get(HEADER)
            if raw_key is None:
                return await original(request)
            key = _check_key(raw_key)
            raw = await request.body()
            print_ = fingerprint(request, raw)
            write = KeyedWrite(key, print_, status, answer, raw) if answer is not None else None
            book = KeyBook(services(request).store)
            if write is not None:  # the route passes it to its command (command_context)
                request.state.keyed_write = write
            try:
                response = await original(request)
            except AttachmentRefused:  # the token was revoked: nothing was recorded
                scope = _scope(request)
                if scope is not None:  # its reads are refused from now on too, as after a lookup
                    services(request).tokens.forget(scope)
                return problem_for(request, Unauthenticated(REVOKED, field="Authorization"))
            except AttachmentTaken:  # a first request with this key committed while we ran
                scope = _scope(request)
                assert scope is not None
                ledger = services(request).ledger

                def taken() -> Response:
                    stored = book.find(scope, key)
                    assert stored is not None, "the key that was taken is there"
                    return replay(stored, print_, answer, store_lookup(ledger))
                return await run_in_threadpool(taken)
            except (LedgerError, RequestValidationError, StarletteHTTPException) as exc:
                response = problem_for(request, exc)
            if write is not None:
                stored = write.answered(services(request).ledger)  # rendered in the endpoint's thread
                if stored is not None:
                    return sent(stored)
            principal: Principal | None = getattr(request.state, "principal", None)
            if response.status_code >= 500 or principal is None:
                return response  # nothing stored: a retry runs again (unauthenticated: not the caller's key)
            position = response.headers.get("ledger-position")
            mine = StoredResponse(response.status_code, response.headers.get("content-type", JSON),
                                  int(position) if position else None, bytes(response.body).decode("utf-8"))

            ledger = services(request).ledger

            def store() -> Response:
                if write is not None:  # the token was not looked up before the command: now
                    fresh_authentication(request)
                earlier = book.store_first(principal.scope, key, print_, mine)
                return response if earlier is None else replay(earlier, print_, answer, store_lookup(ledger))

            try:
                return await run_in_threadpool(store)
            except Unauthenticated as refused:
                return problem_for(request, refused)

        return handler
