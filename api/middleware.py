"""Two pure ASGI middlewares that keep every answer an ordinary HTTP response.

- :class:`CatchAll` turns any exception that escaped the routes and the exception handlers into
  a problem+json 500 *without re-raising it*. Starlette's outermost ``ServerErrorMiddleware``
  answers too, but then re-raises, and uvicorn drops the keep-alive connection: the client's
  next request on it failed with ECONNRESET.
- :class:`Deadline` bounds how long a read (GET, HEAD) may take: past
  ``LEDGER_REQUEST_DEADLINE_SECONDS`` the client gets 503 ``deadline-exceeded`` with
  ``Retry-After`` and the connection is free for its next request. Writes are never cut short (a
  write answered 503 might still commit). A handler running in a worker thread cannot be stopped
  from outside; it finishes in the background and its late answer is discarded, so the work
  itself must be bounded too (database timeouts, report limits).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import DeadlineExceeded, problem_for

log = logging.getLogger("api")


class CatchAll:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as error:  # the one place every escaped exception is answered
            if started:  # the status line is out: nothing sensible can be sent any more
                log.exception("error after the response started on %s", scope.get("path"), exc_info=error)
                raise
            response = problem_for(Request(scope), error)
            await response(scope, receive, send)


class Deadline:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self._abandoned: set[asyncio.Task[Any]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        state = {"started": False, "late": False}

        async def guarded(message: Message) -> None:
            if state["late"]:
                return  # the client was answered at the deadline; this is the abandoned handler
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, guarded))
        done, _ = await asyncio.wait({task}, timeout=self.seconds)
        if task in done:
            task.result()  # re-raise what the handler raised, for CatchAll
            return
        if state["started"]:  # already streaming its answer: let it finish
            await task
            return
        state["late"] = True
        self._abandon(task)
        path = scope.get("path", "")
        log.warning("request deadline (%.1f s) exceeded on %s", self.seconds, path)
        error = DeadlineExceeded(f"the request took longer than its deadline of {self.seconds:g} s; "
                                 "retry later or ask for less (a narrower range, a coarser granularity)")
        await problem_for(Request(scope), error)(scope, receive, send)

    def _abandon(self, task: asyncio.Task[Any]) -> None:
        """Cancel the late handler without waiting for it (a worker thread runs to its end)."""
        self._abandoned.add(task)

        def forget(done: asyncio.Task[Any]) -> None:
            self._abandoned.discard(done)
            if not done.cancelled() and done.exception() is not None:
                log.warning("abandoned request ended with %r", done.exception())

        task.add_done_callback(forget)
        task.cancel()

