"""Opening the ledger's event store: the library's recorders plus our attachments, tables created
under the DDL lock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.storage import StoreConfig
from storage.locks import serialised_ddl
from storage.urls import apply_libpq_environment, parse_database_url


def open_event_store(url: str | StoreConfig | None, *, clock: Any = None,
                     extra_env: Mapping[str, str] | None = None) -> Any:
    """The ledger (``domain.Ledger``) on the store ``url`` names, creating its tables if missing."""
    from domain import Ledger

    config = parse_database_url(url)
    apply_libpq_environment(config)
    # The library's recorder, plus rows saved in the events' transaction (storage/recorders.py).
    env = {"APPLICATION_RECORDER_TOPIC": RECORDERS[config.kind]} if config.kind in RECORDERS else {}
    env.update(extra_env or {})
    with serialised_ddl(config, "ledger"):  # the library creates its tables when it opens
        if clock is None:
            return Ledger.open(config, extra_env=env)
        return Ledger.open(config, clock=clock, extra_env=env)


RECORDERS = {"postgres": "storage.recorders:PostgresAttachingRecorder",
             "sqlite": "storage.recorders:SQLiteAttachingRecorder"}
