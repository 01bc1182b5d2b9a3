"""What each process of ``ledger serve`` is called, as the kernel shows it (``ps``, ``top``)."""

from __future__ import annotations

import ctypes
import sys

WORKER_NAME = "ledger-worker"  # what ps -o comm, top and /proc/PID/comm show for each worker
FOLLOWER_NAME = "ledger-follower"  # ... and for the projection follower's process


def name_this_process(name: str) -> None:
    """Set this process's name as the kernel shows it (Linux ``prctl(PR_SET_NAME)``, 15 bytes at
    most), so that an operator's ``top`` tells the workers and the follower apart; elsewhere, or
    if the call fails, nothing happens."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # 15: PR_SET_NAME
    except (OSError, AttributeError):
        pass
