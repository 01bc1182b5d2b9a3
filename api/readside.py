"""The projections seen from the API: one connection per worker thread, waited on for
read-your-writes.

``Projections`` serialises its calls on one connection, so a single shared instance would make
every report GET wait for the others; each request thread gets its own (opened lazily).
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from api.problems import ProjectionLagging

log = logging.getLogger("api")


class ReadSide:
    def __init__(self, url: str, wait_seconds: float, ledger: Application[UUID]) -> None:
        self.url = url
        self.ledger = ledger  # the log is read through its recorder and mapper
        self.wait_seconds = wait_seconds
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None

    @property
    def projections(self) -> Any:
        """This thread's Projections (``from projections import Projections``)."""
        found = getattr(self._local, "projections", None)
        if found is not None and getattr(found.db.conn, "closed", False):
            found = None  # its connection died with a database restart: open a new one
        if found is None:
            from projections import Projections

            found = Projections.open(self.url, app=self.ledger)
            self._local.projections = found
            with self._lock:
                self._opened.append(found)
        return found

    def wait_for(self, position: int | None) -> None:
        """Return once the projections reached ``position``; raise ProjectionLagging after the wait."""
        if position is None or position <= 0:
            return
        # Requests only wait: the followers (this process's projector, or `ledger project` workers)
        # do the projection work, never a request thread.
        if not self.projections.wait_for(position, self.wait_seconds, assist=False):
            raise ProjectionLagging(
                f"min_position: projections are at {self.projections.position()}, not yet {position}; retry shortly",
                field="min_position")

    def start_following(self, poll_seconds: float) -> None:
        """Run the projection runner in a background thread of this process."""
        projections = self.projections

        def follow() -> None:
            # A lost database connection ends one follow(); the next one reconnects and resumes
            # from the tracking positions (rows and position commit together: exactly once).
            while not self._stop.is_set():
                try:
                    projections.follow(self._stop, poll_interval=poll_seconds)
                except Exception as error:
                    log.warning("projection follower: %s; retrying", str(error).strip()[:200])
                    self._stop.wait(1.0)

        self._follower = threading.Thread(target=follow, name="projector", daemon=True)
        self._follower.start()

    def close(self) -> None:
        self._stop.set()
        if self._follower is not None:
            self._follower.join(timeout=10)
        with self._lock:
            for projections in self._opened:
                projections.close()
            self._opened.clear()
        self._local = threading.local()
