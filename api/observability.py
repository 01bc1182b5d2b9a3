"""Request ids, the access log and the HTTP metrics: one pure ASGI middleware, outermost.

:class:`Observe` wraps every HTTP request (outside :class:`api.middleware.CatchAll`, so it sees the
final status of a 500 or a deadline 503 too):

- a **request id**: the client's ``X-Request-Id`` when it is sane (1-128 characters of
  ``A-Z a-z 0-9 . _ : + / = @ -``), else a new one; always sent back as ``X-Request-Id`` and kept
  in ``request.state.request_id``;
- the **HTTP metrics** of :class:`api.metrics.Metrics` by route *template* (``/v1/sites/{site_id}``,
  ``unmatched`` for a path no route knows), method and status;
- **one access-log line** per request on the ``api.access`` logger: request id, method, route
  template, status, latency in ms and the caller's role once the auth dependency admitted it
  (``request.state.principal_role``, set in :func:`api.deps.authenticate`). Never a header's
  value, so never a token; the raw path is not logged either (ids and hostile input stay out of
  the log; the route template says which operation it was);
- every other record logged while answering (in a route's worker thread too: the context is
  copied) carries the request id: :class:`RequestIdFilter` on the handler reads it from
  :data:`current_request_id`.

The log lines themselves (``text`` or ``json``) are formatted by ``server.logs``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from api.metrics import Metrics

access_log = logging.getLogger("api.access")

REQUEST_ID_HEADER = "X-Request-Id"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=@-]{1,128}")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route label of a path no route knows (keeps label values bounded)
# What the access line adds to a LogRecord (other extras are rendered too; these come first).
ACCESS_FIELDS = ("request_id", "method", "route", "status", "latency_ms", "role")
# The request being answered: every record logged while answering it (by a route, a worker thread
# of it, the problem handler) carries its id.
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)

def request_id_from(scope: Scope) -> str:
    """The incoming ``X-Request-Id`` when it is sane, else a new random id (32 hex digits)."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            try:
                text = bytes(value).decode("ascii")
            except UnicodeDecodeError:
                break
            if SANE_REQUEST_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def route_of(scope: Scope) -> str:
    """The route template the router matched (``/v1/sites/{site_id}``), or ``unmatched``."""
    route = scope.get("route")
    template: object = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED


class Observe:
    """Pure ASGI middleware: request id, HTTP metrics and the access-log line of every request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # The labelled children, looked up once per label set (``labels()`` takes a lock and
        # checks the names on every call; the label values are bounded: routes, methods, statuses).
        self._in_progress: dict[str, Any] = {}
        self._answered: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _children(self, route: str, method: str, status: int) -> tuple[Any, Any]:
        found = self._answered.get((route, method, status))
        if found is None:
            found = (self.metrics.requests.labels(route, method, str(status)),
                     self.metrics.latency.labels(route, method))
            self._answered[(route, method, status)] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        token = current_request_id.set(request_id)
        header = (b"x-request-id", request_id.encode("ascii"))
        status = 500  # what the client gets if nothing answers (the server's own error page)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        method = scope.get("method", "")
        method_label = method if method in METHODS else "other"
        in_progress = self._in_progress.get(method_label)
        if in_progress is None:
            in_progress = self._in_progress[method_label] = self.metrics.in_progress.labels(method_label)
        in_progress.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            in_progress.dec()
            elapsed = time.perf_counter() - started
            route = route_of(scope)
            answered, latency = self._children(route, method_label, status)
            answered.inc()
            latency.observe(elapsed)
            role = state.get("principal_role")
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %d", method_label, route, status, extra={
                    "request_id": request_id, "method": method_label, "route": route, "status": status,
                    "latency_ms": round(elapsed * 1000, 3), "role": role})
            current_request_id.reset(token)
