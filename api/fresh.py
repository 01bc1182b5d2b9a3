"""Writes look their token up in the database, never in the cache.

The auth dependency (``api.deps``) knows the request's method and passes ``fresh=True`` to the
token book (``access.tokens.TokenBook.principal``) for a method that may change something, so a
write never runs on a token revoked before it arrived. A POST whose endpoint runs in a worker
thread looks its token up there instead (``api.idempotency.fresh_token_first``), and says so on
its route (``IdempotentRoute.fresh_in_endpoint``): its dependencies may then answer from the
cache, inline.
"""

from __future__ import annotations

from starlette.requests import Request

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def looks_up_afresh(method: str) -> bool:
    """Whether a request of ``method`` looks its token up in the database (it may change something)."""
    return method not in READ_METHODS


def checked_in_endpoint(request: Request) -> bool:
    """Whether the request's endpoint looks its token up afresh itself, in its worker thread
    (a POST of an ``IdempotentRoute`` whose endpoint is a plain ``def``)."""
    route = request.scope.get("route")
    return request.method == "POST" and bool(getattr(route, "fresh_in_endpoint", False))
