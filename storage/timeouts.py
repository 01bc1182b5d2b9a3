"""PostgreSQL ``statement_timeout`` for the API process's connections (LEDGER_STATEMENT_TIMEOUT_SECONDS).

A runaway query is cancelled by the server (SQLSTATE 57014, ``QueryCanceled``) and the request is
answered 503 ``deadline-exceeded`` with ``Retry-After`` (``api.problems``). Table creation at
startup runs without it (a lock wait behind another starting process is not a runaway query);
the projection follower's own connections never get it (a catch-up batch must not be cut short).

- our own connections: :func:`set_statement_timeout` on an open connection (the read pool) or
  ``SET LOCAL statement_timeout = 0`` around DDL (the API store);
- the event store's pool (eventsourcing's, built from host/port/user/password only): its
  connection arguments get libpq ``options=-c statement_timeout=...`` (merged with ``PGOPTIONS``,
  which carries the URL's own ``options``), and the connections it opened while creating the
  library's tables are replaced (:func:`limit_library_pool`). Process-local: nothing is written
  to the environment.
"""

from __future__ import annotations

import os
from typing import Any


def statement_timeout_ms(seconds: float) -> int:
    """Milliseconds for PostgreSQL (0: no timeout; a positive value is at least 1 ms)."""
    if seconds <= 0:
        return 0
    return max(1, round(seconds * 1000))


def statement_timeout_option(seconds: float) -> str:
    """The libpq ``options`` text that sets the timeout at connection time."""
    return f"-c statement_timeout={statement_timeout_ms(seconds)}"


def set_statement_timeout(conn: Any, seconds: float) -> None:
    """Set the timeout for the rest of an open psycopg session (autocommit, or committed later)."""
    conn.execute(f"SET statement_timeout = {statement_timeout_ms(seconds)}")


def limit_library_pool(pool: Any, seconds: float) -> None:
    """Give every connection of eventsourcing's psycopg pool the timeout from now on."""
    if seconds <= 0 or pool is None or not isinstance(getattr(pool, "kwargs", None), dict):
        return
    inherited = os.environ.get("PGOPTIONS", "").strip()  # explicit ``options`` replaces PGOPTIONS: keep both
    # Ours first: a statement_timeout in the URL's own options (later on the line) wins.
    pool.kwargs["options"] = " ".join(part for part in (statement_timeout_option(seconds), inherited) if part)
    pool.drain()  # the connections opened before (table creation) are replaced by ones with the timeout
