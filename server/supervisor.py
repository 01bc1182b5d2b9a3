"""How ``ledger serve`` runs the app: one process, or several worker processes on one socket.

One process (``--workers 1``, the default) runs uvicorn's ``Server`` on the app. Several
(``--workers N``, PostgreSQL only) run uvicorn's own supervisor (``uvicorn.supervisors.Multiprocess``):
the parent binds the socket, spawns N workers that accept on it, replaces a worker that dies or
stops answering its health check, and stops them all on SIGTERM or SIGINT. What the workers
share, they share through PostgreSQL, as separate ``ledger serve`` processes on one store
always could: idempotency keys (row locks), the per-pool command lock (advisory locks), the
token revocation version, the projections' tracking rows. The parent also runs what there must
be one of: the projection follower (in a child process of its own), the dashboard's session
key (one for all workers, so a session signed by one is honoured by the others) and the
directory where the workers' Prometheus series meet (``prometheus_client``'s multiprocess mode:
``/metrics``, answered by any worker, adds up every worker's counters and histograms).

Each worker freezes its heap once the app has started (:class:`FrozenAfterStartup`), as the
single process does.
"""

from __future__ import annotations

import gc
import logging
import os
import secrets
import shutil
import signal
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics_dir import MULTIPROC_ENV
from config.settings import Settings
from server.names import WORKER_NAME, name_this_process


class FrozenAfterStartup:
    """Pure ASGI wrapper: once the app's lifespan startup has completed (services open), collect
    and ``gc.freeze`` the heap. What exists then lives as long as the process, and freezing takes
    it out of every later collection; without it a full collection walks the whole app (routes,
    schemas, pools), ~100 ms during which no request moves (BENCHMARKS.md, *Write path*)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # A plain def handing back the app's own coroutine: no frame of its own on each request
        # (uvicorn is told the interface is ASGI 3, which it cannot tell from a plain def).
        if scope["type"] != "lifespan":
            return self.app(scope, receive, send)

        async def freezing_send(message: Message) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                gc.collect()
                gc.freeze()

        return self.app(scope, receive, freezing_send)


class WorkerApp:
    """The app factory a worker process calls (uvicorn ``factory=True``): pickled to the worker
    with the parent's settings, it sets up the worker's logging, then builds the app there."""

    def __init__(self, settings: Settings, build: Callable[[Settings], ASGIApp],
                 configure_logging: Callable[[], object]) -> None:
        self.settings = settings
        self.build = build
        self.configure_logging = configure_logging

    def __call__(self) -> ASGIApp:
        name_this_process(WORKER_NAME)
        self.configure_logging()
        # ... which let uvicorn's access log through again: off, as uvicorn's access_log=False
        # had set it (api.observability logs each request).
        access = logging.getLogger("uvicorn.access")
        access.handlers.clear()
        access.propagate = False
        return FrozenAfterStartup(self.build(self.settings))


def worker_settings(settings: Settings) -> Settings:
    """The settings every worker runs with: no projection follower of its own (the parent runs
    the one follower) and one dashboard session key for all (a fresh one when none is set)."""
    update: dict[str, Any] = {"run_projector": False}
    if settings.ui_secret is None:
        update["ui_secret"] = SecretStr(secrets.token_urlsafe(32))
    return settings.model_copy(update=update)


class SharedMetrics:
    """The directory where the workers' Prometheus series meet, set in the environment before any
    worker starts (they inherit it) and removed when the server stops. A stale directory from an
    earlier run is never reused: each server makes its own."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="ledger-metrics-")
        self._previous = os.environ.get(MULTIPROC_ENV)
        os.environ[MULTIPROC_ENV] = self.directory

    def worker_gone(self, pid: int) -> None:
        """Drop a dead worker's live gauges (requests in progress); its counters stay counted."""
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, self.directory)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        if self._previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = self._previous
        shutil.rmtree(self.directory, ignore_errors=True)


def run(settings: Settings, sock: Any, *, workers: int, log_level: str,
        build: Callable[[Settings], ASGIApp], configure_logging: Callable[[], object]) -> bool:
    """Serve on ``sock`` until SIGTERM/SIGINT: in this process (``workers == 1``) or in
    ``workers`` worker processes. False when the app could not start (its log says why)."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    # log_config=None: uvicorn keeps the logging set up by configure_logging; access_log=False:
    # ours logs each request (api.observability).
    common: dict[str, Any] = {"log_level": log_level, "proxy_headers": False, "log_config": None,
                              "access_log": False, "interface": "asgi3"}
    if workers == 1:
        server = uvicorn.Server(uvicorn.Config(FrozenAfterStartup(build(settings)), **common))
        try:
            server.run(sockets=[sock])
        except SystemExit:  # uvicorn gives up when the app cannot start, having logged why
            return False
        return True

    from server.follower import ProjectorProcess

    shared = SharedMetrics()
    follower = ProjectorProcess(settings.database_url, settings.projector_poll_seconds) \
        if settings.run_projector else None
    config = uvicorn.Config(WorkerApp(worker_settings(settings), build, configure_logging), factory=True,
                            workers=workers, **common)

    class Supervisor(Multiprocess):
        """uvicorn's supervisor, telling the metrics directory which workers it replaced, and
        remembering the signal that stopped it (re-raised once all is closed, as uvicorn's
        single-process server does: SIGTERM exits 143, Ctrl-C 130)."""

        stopped_by: signal.Signals | None = None

        def handle_int(self) -> None:
            self.stopped_by = signal.SIGINT
            super().handle_int()

        def handle_term(self) -> None:
            self.stopped_by = signal.SIGTERM
            super().handle_term()

        def keep_subprocess_alive(self) -> None:
            before = {process.pid for process in self.processes}
            super().keep_subprocess_alive()
            for pid in before - {process.pid for process in self.processes}:
                if pid is not None:
                    shared.worker_gone(pid)

    supervisor = Supervisor(config, sockets=[sock])
    try:
        if follower is not None:
            follower.start()
        supervisor.run()
    finally:
        if follower is not None:
            follower.close()
        shared.close()
    if supervisor.stopped_by is not None:
        signal.signal(supervisor.stopped_by, signal.SIG_DFL if supervisor.stopped_by == signal.SIGTERM
                      else signal.default_int_handler)
        signal.raise_signal(supervisor.stopped_by)
    return not any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes)
