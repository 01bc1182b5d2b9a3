"""Group commit: the bookings queued on one GPU pool are saved in one transaction.

Commands on one pool run one at a time (``domain/service/locks.py``): a booking waits for the
pool's lock while the one holding it loads the pool, books and saves. With group commit the
waiting is put to use, the way TigerBeetle batches transfers and a database batches commits:
a booking joins its pool's queue, then waits for the lock; the thread that gets the lock takes
every booking queued by then (up to ``MAX_BATCH``), loads the pool once, decides each booking in
queue order against the pool as the ones before it left it, and saves them all in one
transaction (one lock round, one commit, one fsync). A booking whose lock turn comes after a
batch took it finds its outcome ready.

Each booking's outcome is what running the bookings alone, in that order, would give: a refused
one (no capacity) is refused with the same error and changes nothing; the others are saved. If
the batch's save conflicts (``IntegrityError``: a caller-chosen reservation id already taken;
``AttachmentTaken``: an idempotency key saved by a duplicate first), nothing of it was recorded
and every booking of the batch runs alone, in order, as it would have without group commit.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.attachments import CommandContext

T = TypeVar("T")

# The most bookings one transaction takes; the rest wait for the next turn of the lock.
MAX_BATCH = 64


@dataclass(eq=False)
class Job(Generic[T]):
    """One queued booking: how to decide it in a batch, how to run it alone, and the command's
    context (its attachment, e.g. an idempotency key's row: ``domain/attachments.py``)."""

    decide: Callable[[Any], Aggregate]  # given the loaded pool: books on it, returns what it creates
    alone: Callable[[], T]
    command: CommandContext
    done: bool = False
    result: T | None = None
    error: BaseException | None = None

    def settle(self, run: Callable[[], T]) -> None:
        """Run ``run`` and keep its outcome."""
        try:
            self.succeed(run())
        except BaseException as error:  # handed to the waiting caller, raised there
            self.fail(error)

    def succeed(self, result: T) -> None:
        self.result, self.error, self.done = result, None, True

    def fail(self, error: BaseException) -> None:
        self.result, self.error, self.done = None, error, True

    def outcome(self) -> T:
        assert self.done, "a job is settled before its lock is released"
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class Queues:
    """The jobs waiting for each pool's lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[UUID, deque[Job[Any]]] = {}
        # Told the size of every transaction that saved more than one booking (/metrics counts them).
        self._observers: tuple[Callable[[int], None], ...] = ()  # replaced, never changed in place

    def join(self, pool: UUID, job: Job[Any]) -> None:
        with self._lock:
            self._queues.setdefault(pool, deque()).append(job)

    def take(self, pool: UUID) -> list[Job[Any]]:
        """Up to ``MAX_BATCH`` jobs of ``pool``, oldest first (called holding the pool's lock)."""
        with self._lock:
            queue = self._queues.get(pool)
            if not queue:
                return []
            taken = [queue.popleft() for _ in range(min(MAX_BATCH, len(queue)))]
            if not queue:
                del self._queues[pool]
            return taken

    def observe(self, observer: Callable[[int], None]) -> Callable[[], None]:
        """Tell ``observer`` the size of each shared transaction until the function returned is called."""
        with self._lock:
            self._observers = (*self._observers, observer)

        def stop() -> None:
            with self._lock:
                self._observers = tuple(o for o in self._observers if o is not observer)
        return stop

    def counted(self, saved: int) -> None:
        if saved > 1:
            for observer in self._observers:
                observer(saved)
