"""Refusals that come from the database rather than the domain: every edge raises and recognises
the same ones (the HTTP API answers them 503 ``database-unavailable``; the command line, one line)."""

from __future__ import annotations

from domain.errors import LedgerError


class DatabaseUnavailable(LedgerError):
    """The database cannot be opened or did not answer in time (down, restarting, pool exhausted,
    a path that cannot be a database): retry later, or fix ``--db``."""

    kind = "database-unavailable"


def database_error_classes() -> tuple[type[Exception], ...]:
    """The exception classes a lost, refused or timed-out database connection raises."""
    import sqlite3

    from eventsourcing.persistence import InterfaceError as EsInterfaceError
    from eventsourcing.persistence import OperationalError as EsOperationalError

    kinds: tuple[type[Exception], ...] = (EsOperationalError, EsInterfaceError, sqlite3.OperationalError)
    try:
        import psycopg

        kinds += (psycopg.OperationalError, psycopg.InterfaceError)
    except ImportError:  # pragma: no cover - psycopg is a dependency
        pass
    return kinds


def is_database_error(error: BaseException) -> bool:
    """A driver's or the event store's error about the database itself (lost, refused, locked)."""
    return isinstance(error, database_error_classes())
