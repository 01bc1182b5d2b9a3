"""The API's projection follower: in a thread of the API process, or in a process of its own.

Both run :func:`follow_log`: the engine over every registered projection, following the log
until stopped; a lost database connection ends one pass, and the next reconnects and resumes
from the tracking positions (rows and position commit together: exactly once).

``ledger serve`` on PostgreSQL runs it in a child process (:class:`ProjectorProcess`): the
follower's decoding and upserts then take another core instead of the request threads' GIL
(measured: BENCHMARKS.md, *Write path*). Requests never depend on being in the same process as
the follower: reads that wait for a position poll the projections' tracking rows
(``ReadSide.wait_for``), as they do with separate ``ledger project --follow`` workers. The child
stops when asked (SIGTERM, from :meth:`ProjectorProcess.close`) and when its parent is gone (a
SIGKILLed server leaves no follower behind); the parent restarts a child that died.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from multiprocessing.process import BaseProcess
from uuid import UUID

from eventsourcing.application import Application

log = logging.getLogger("ledger.projector")

RESTART_SECONDS = 1.0  # between a child's death and its replacement
ORPHAN_CHECK_SECONDS = 0.5  # how often a child looks whether its parent is still there


def follow_log(url: str, ledger: Application[UUID], stop: threading.Event, poll_seconds: float) -> None:
    """Follow the log into every projection until ``stop`` is set, reconnecting after errors."""
    from projections.engine import Engine, LogReader
    from projections.registry import PROJECTIONS, checkpointed_names
    from storage.database import Database

    while not stop.is_set():
        db: Database | None = None
        try:
            db = Database(url)
            engine = Engine(db, LogReader(ledger), PROJECTIONS, checkpointed=checkpointed_names())
            engine.create_tables()
            engine.follow(stop, poll_interval=poll_seconds)
        except Exception as error:
            log.warning("projection follower: %s; retrying", str(error).strip()[:200])
            stop.wait(1.0)
        finally:
            if db is not None:
                try:
                    db.close()
                except Exception as error:
                    log.debug("closing the follower's connection: %s", error)


def _child(url: str, poll_seconds: float, parent: int) -> None:
    """The child process: follow until SIGTERM or until the parent is gone."""
    from server.names import FOLLOWER_NAME, name_this_process
    from storage.event_store import open_event_store

    name_this_process(FOLLOWER_NAME)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides

    def watch_parent() -> None:
        while not stop.wait(ORPHAN_CHECK_SECONDS):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    # The child only reads the log, one page at a time: one connection (two at most, while
    # a broken one is replaced), not the API's write pool.
    ledger = open_event_store(url, extra_env={"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"})
    try:
        follow_log(url, ledger, stop, poll_seconds)
    finally:
        ledger.close()


class ProjectorProcess:
    """Runs :func:`follow_log` in a child process, restarted if it dies, stopped by :meth:`close`."""

    def __init__(self, url: str, poll_seconds: float) -> None:
        self.url = url
        self.poll_seconds = poll_seconds
        self._context = multiprocessing.get_context("spawn")  # no copy of the server's threads and sockets
        self._stop = threading.Event()
        self._process: BaseProcess | None = None
        self._lock = threading.Lock()
        self._supervisor = threading.Thread(target=self._supervise, name="projector-supervisor", daemon=True)

    def start(self) -> None:
        self._supervisor.start()

    def _spawn(self) -> BaseProcess:
        process = self._context.Process(target=_child, args=(self.url, self.poll_seconds, os.getpid()),
                                        name="ledger-projector", daemon=True)
        process.start()
        return process

    def _supervise(self) -> None:
        while True:
            with self._lock:
                if self._stop.is_set():
                    return
                self._process = process = self._spawn()
            process.join()
            if self._stop.is_set():
                return
            log.warning("projection follower process exited (code %s); restarting", process.exitcode)
            self._stop.wait(RESTART_SECONDS)

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:  # no new child after this
            self._stop.set()
            process = self._process
        if process is not None and process.is_alive():
            process.terminate()
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join()
        if self._supervisor.is_alive():
            self._supervisor.join(timeout)


class FollowerThread:
    """Runs :func:`follow_log` in a thread of this process (SQLite, or ``LEDGER_PROJECTOR_PROCESS=false``)."""

    def __init__(self, url: str, ledger: Application[UUID], poll_seconds: float) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=follow_log, args=(url, ledger, self._stop, poll_seconds),
                                        name="projector", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)


def start_follower(url: str, ledger: Application[UUID], poll_seconds: float, *,
                   child_process: bool) -> ProjectorProcess | FollowerThread:
    """The projection follower of a ``ledger serve`` process, started: in a child process of its
    own (``child_process``) or in a thread. ``close()`` stops it."""
    follower: ProjectorProcess | FollowerThread = (
        ProjectorProcess(url, poll_seconds) if child_process else FollowerThread(url, ledger, poll_seconds))
    follower.start()
    return follower
