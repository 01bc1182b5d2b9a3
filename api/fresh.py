"""Writes look their token up in the database, never in the cache."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from access.tokens import FRESH_LOOKUP


class FreshTokensForWrites:
    """ASGI middleware: requests other than GET, HEAD and OPTIONS look their token up in the
    database (:data:`FRESH_LOOKUP`), so a write never runs on a token revoked before it arrived."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        marker = FRESH_LOOKUP.set(True)  # seen by the handler's task and its worker threads
        try:
            await self.app(scope, receive, send)
        finally:
            FRESH_LOOKUP.reset(marker)
