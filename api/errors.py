"""Refusals that come from the infrastructure rather than the domain. Light on purpose (no
FastAPI): ``bootstrap`` and, through it, the command line raise the same class that
``api.problems`` answers as 503 ``database-unavailable``."""

from __future__ import annotations

from domain.errors import LedgerError


class DatabaseUnavailable(LedgerError):
    """The database cannot be opened or did not answer in time (down, restarting, pool exhausted,
    a path that cannot be a database): retry later, or fix ``--db``."""

    kind = "database-unavailable"
