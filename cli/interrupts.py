"""Long writes (``ledger demo``, ``ledger import events``) stopped by SIGINT or SIGTERM: exit 130
with one line saying how far they got, never a traceback, never a silent half.

:func:`terminated_as_interrupt` turns SIGTERM into the KeyboardInterrupt SIGINT already raises, so
both end the same way: the transaction in flight rolls back (each save is one transaction), and
:func:`interrupted` prints ``interrupted after N events; the ledger at DB is partial``.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from domain import Ledger
from storage.checks import describe

EXIT_INTERRUPTED = 130


@contextmanager
def terminated_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt (as SIGINT does); restored after."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted(events: int | None, where: str, *, partial: bool = True) -> int:
    """The one line for an interrupted write; returns the exit code (130)."""
    count = "an unknown number of" if events is None else f"{events:,}"
    state = "is partial" if partial else "holds the whole history (its projections catch up on the next command)"
    sys.stderr.write(f"interrupted after {count} events; the ledger at {where} {state}\n")
    sys.stderr.flush()
    return EXIT_INTERRUPTED


def warn_if_partial_demo(ledger: Ledger) -> bool:
    """One warning line on stderr if the store holds a demo cut short (``DemoRun`` started, never
    completed: ``domain.aggregates.demo``); True if it did."""
    run = ledger.get_demo_run()
    if run is None or run.completed:
        return False
    sys.stderr.write(f"warning: the ledger at {describe(ledger.store_config)} holds a partial demo (interrupted "
                     f"before its last event): what it shows is part of the history; ledger demo --reset "
                     f"rebuilds it\n")
    sys.stderr.flush()
    return True
