"""The projections seen from the API: opened lazily, waited on for read-your-writes."""

from __future__ import annotations

import threading
from typing import Any

from api.problems import ProjectionLagging


class ReadSide:
    def __init__(self, url: str, wait_seconds: float) -> None:
        self.url = url
        self.wait_seconds = wait_seconds
        self._projections: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None

    @property
    def projections(self) -> Any:
        with self._lock:
            if self._projections is None:
                from projections import Projections

                self._projections = Projections.open(self.url)
            return self._projections

    def wait_for(self, position: int | None) -> None:
        """Return once the projections reached ``position``; raise ProjectionLagging after the wait."""
        if position is None or position <= 0:
            return
        if not self.projections.wait_for(position, self.wait_seconds):
            raise ProjectionLagging(
                f"min_position: projections are at {self.projections.position()}, not yet {position}; retry shortly",
                field="min_position")

    def start_following(self, poll_seconds: float) -> None:
        """Run the projection runner in a background thread of this process."""
        projections = self.projections
        self._follower = threading.Thread(target=projections.follow, args=(self._stop,),
                                          kwargs={"poll_interval": poll_seconds}, name="projector", daemon=True)
        self._follower.start()

    def close(self) -> None:
        self._stop.set()
        if self._follower is not None:
            self._follower.join(timeout=10)
        if self._projections is not None:
            self._projections.close()
            self._projections = None
