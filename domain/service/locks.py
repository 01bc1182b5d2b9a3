"""Who may write a GPU pool at a time: the command locks.

Commands on one pool (confirm, extend, cancel, commission, decommission) run one at a time.
Within one process they queue on :class:`StripedLocks` (always); across processes an injected
:class:`CommandLock` serialises them too (``bootstrap.open_ledger`` gives PostgreSQL stores one
held in the database: ``storage.locks.AdvisoryCommandLock``). The domain knows only this
protocol, never a driver. SQLite needs none: its writers are serialised by the file lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol
from uuid import UUID


class CommandLock(Protocol):
    """A lock shared by every process writing the same store, keyed by an aggregate id."""

    def hold(self, key: UUID) -> AbstractContextManager[None]:
        """Block until no other holder of ``key`` is left, then hold it for the block."""
        ...

    def close(self) -> None:
        """Release whatever the lock keeps open (connections); called when the ledger closes."""
        ...


class StripedLocks:
    """The in-process lock: ``stripes`` ``threading.Lock``s, a key picks one by its value.
    Two pools may share a stripe (then they queue behind each other, never deadlock: a command
    holds one pool lock at a time)."""

    def __init__(self, stripes: int = 64) -> None:
        self._locks = [threading.Lock() for _ in range(stripes)]

    @contextmanager
    def hold(self, key: UUID) -> Iterator[None]:
        with self._locks[key.int % len(self._locks)]:
            yield

    def close(self) -> None:
        pass
