"""RFC 9457 problem details: the ONE place where errors become HTTP responses.

Every domain refusal (:class:`domain.errors.LedgerError`) keeps its ``kind`` as a stable problem
``type``; the status comes from the nearest class in :data:`STATUS_BY_CLASS`. FastAPI's request
validation errors, Starlette's HTTP errors and anything unexpected are mapped here too, so no
request gets a bare 500 or an HTML page.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import Conflict, InvalidInput, LedgerError, NotFound
from storage.errors import DatabaseUnavailable, database_error_classes

PROBLEM_BASE = "https://gpu-ledger.example/problems/"
PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("api")


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300] or type(error).__name__


class Unauthenticated(LedgerError):
    kind = "unauthenticated"


class Forbidden(LedgerError):
    kind = "forbidden"


class PayloadTooLarge(LedgerError):
    kind = "payload-too-large"


class ProjectionLagging(LedgerError):
    kind = "projection-lagging"


class DeadlineExceeded(LedgerError):
    """A read ran past LEDGER_REQUEST_DEADLINE_SECONDS: retry later, or ask for less."""

    kind = "deadline-exceeded"


# Seconds a client is told to wait (Retry-After) when the database is unavailable.
RETRY_AFTER_SECONDS = 2


def causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it, outermost first (eventsourcing wraps the driver's errors)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def statement_cancelled(exc: BaseException) -> DeadlineExceeded | None:
    """A :class:`DeadlineExceeded` if PostgreSQL cancelled a statement of this request (SQLSTATE
    57014: LEDGER_STATEMENT_TIMEOUT_SECONDS ran out); None otherwise."""
    try:
        from psycopg.errors import QueryCanceled
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return None
    if any(isinstance(error, QueryCanceled) for error in causes(exc)):
        return DeadlineExceeded("a database query ran past the statement timeout and was cancelled; "
                                "retry later or ask for less (a narrower range, a coarser granularity)")
    return None


def database_unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """A :class:`DatabaseUnavailable` if ``exc`` (or what caused it) is a lost or refused
    database connection or a pool timeout; None for anything else.

    eventsourcing wraps driver errors in ``eventsourcing.persistence.OperationalError`` /
    ``InterfaceError`` (``ConnectionUnavailableError`` is one); psycopg raises
    ``OperationalError`` (``psycopg_pool.PoolTimeout`` is one) and ``InterfaceError`` for a closed
    connection; SQLite says "database is locked" when a writer holds the file too long.
    """
    import sqlite3

    chain = causes(exc)
    for error in chain:  # SQLite: only a held lock is "unavailable"; "no such table" is a bug (500)
        if isinstance(error, sqlite3.OperationalError):
            text = str(error).lower()
            return DatabaseUnavailable("the database is busy; retry shortly") if (
                "locked" in text or "busy" in text) else None
    kinds = database_error_classes()
    if any(isinstance(error, kinds) and not isinstance(error, LedgerError) for error in chain):
        return DatabaseUnavailable("the database is unavailable; retry shortly")
    return None


class IdempotencyKeyReused(Conflict):
    kind = "idempotency-key-reused"


class IdempotencyInProgress(Conflict):
    kind = "idempotency-in-progress"


STATUS_BY_CLASS: list[tuple[type[LedgerError], int]] = [
    (Unauthenticated, 401), (Forbidden, 403), (NotFound, 404), (Conflict, 409), (PayloadTooLarge, 413),
    (InvalidInput, 422), (ProjectionLagging, 503), (DatabaseUnavailable, 503), (DeadlineExceeded, 503),
]
HTTP_KINDS = {400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
              405: "method-not-allowed", 406: "not-acceptable", 413: "payload-too-large",
              415: "unsupported-media-type"}


def status_of(error: LedgerError) -> int:
    for cls, status in STATUS_BY_CLASS:
        if isinstance(error, cls):
            return status
    return 400


def problem(status: int, kind: str, detail: str, *, instance: str = "", headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    body: dict[str, Any] = {"type": PROBLEM_BASE + kind, "title": kind.replace("-", " ").capitalize(),
                            "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def validation_errors(error: RequestValidationError) -> list[dict[str, str]]:
    """Field and message only: the raw input may be huge or not JSON-serialisable."""
    return [{"field": _field(e.get("loc", ())),
             "message": str(e.get("msg", "invalid")).removeprefix("Value error, ")[:300]}
            for e in error.errors()[:50]]


def problem_for(request: Request, exc: Exception) -> Response:
    """The response for any exception that reached the edge."""
    path = request.url.path
    if isinstance(exc, LedgerError):
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        if isinstance(exc, ProjectionLagging):
            headers = {"Retry-After": "1"}
        if isinstance(exc, (DatabaseUnavailable, DeadlineExceeded)):
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return problem(status_of(exc), exc.kind, exc.message, instance=path, headers=headers, field=exc.field)
    if isinstance(exc, RequestValidationError):
        errors = validation_errors(exc)
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        return problem(422, "invalid-input", f"{first['field']}: {first['message']}", instance=path,
                       field=first["field"], errors=errors)
    if isinstance(exc, StarletteHTTPException):
        kind = HTTP_KINDS.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, default=str)
        return problem(exc.status_code, kind, detail, instance=path, headers=getattr(exc, "headers", None))
    cancelled = statement_cancelled(exc)
    if cancelled is not None:
        log.warning("statement timeout on %s: %s", path, one_line(exc))
        return problem_for(request, cancelled)
    unavailable = database_unavailable(exc)
    if unavailable is not None:
        log.warning("database unavailable on %s: %s", path, exc)
        return problem_for(request, unavailable)
    log.exception("unexpected error on %s", path, exc_info=exc)
    return problem(500, "internal-error", "unexpected error; it has been logged", instance=path)


def install(app: FastAPI) -> None:
    """Register the handler for every exception class that can reach the edge."""
    async def handle(request: Request, exc: Exception) -> Response:
        return problem_for(request, exc)

    # Database errors get handlers of their own: a handler for ``Exception`` runs in Starlette's
    # outermost middleware, which re-raises after answering, and uvicorn then drops the
    # keep-alive connection -- a 503 must be an ordinary answer. Anything else that escapes is
    # answered by api.middleware.CatchAll before it gets there; the ``Exception`` handler is the
    # last resort should a middleware outside CatchAll fail.
    for cls in (LedgerError, RequestValidationError, StarletteHTTPException, *database_error_classes(), Exception):
        app.add_exception_handler(cls, handle)
