"""The child process of test_concurrent_startup.py's first test, in a module of its own so that a
spawned interpreter imports only what opening the services needs (not the test module's fixtures,
pytest plugins and HTTP stack): the processes are ready, and released together, sooner."""

from __future__ import annotations

import multiprocessing
import os
import time
from typing import Any


def open_services(url: str, ready: Any, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """In a child process: wait until every process is ready (imported), open everything at that
    instant, report, close."""
    from bootstrap import open_services
    from config.settings import Settings
    from projections import Projections  # noqa: F401 - imported before the instant, not during

    try:
        ready.wait(timeout=90)  # the barrier releases all processes at once
        released = time.time()
        services = open_services(Settings(database_url=url, run_projector=False))
        try:
            with services.store.transaction() as tx:  # every group of tables is there
                tx.one("SELECT count(*) FROM api_tokens")
            services.ledger.max_position()
            results.put(("ok", os.getpid(), f"released at {released:.3f}"))
        finally:
            services.close()
    except BaseException as error:
        results.put(("failed", os.getpid(), f"{type(error).__name__}: {str(error)[:300]}"))
        raise
