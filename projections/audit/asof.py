"""The past, recomputed: an aggregate as of a time or a version, and projections as of a position.

Times are the events' recorded timestamps (when the ledger saved them), not business dates:
"as of 10:00" means "what the ledger knew at 10:00".

Projections as of a past position are built in a *scratch* store -- a fresh schema on
PostgreSQL, a temporary file for SQLite -- that receives a copy of the events up to that
position and then runs the ordinary projection code. The live tables are never touched, and
the projections need no "stop at position" option.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import takewhile
from typing import Any
from uuid import UUID

from eventsourcing.application import project_aggregate

from domain import Ledger
from domain.checks import ascii_int, uuid_of
from domain.errors import InvalidInput, NotFound
from domain.timeutil import check_utc
from projections.audit.export import insert_events
from projections.audit.store import DEFAULT_PAGE_SIZE, AuditStore
from storage.dialect import quote
from storage.event_store import open_event_store
from storage.urls import conninfo, with_schema


@dataclass(frozen=True)
class AggregateAsOf:
    id: UUID
    type: str
    version: int
    recorded_at: datetime  # timestamp of the last event applied
    state: dict[str, Any]  # public attributes, e.g. {"name": ..., "rates": {...}}
    created_on: datetime
    modified_on: datetime


def parse_as_of(text: str) -> datetime | int:
    """``as_of`` from a URL or the command line: a version number or an ISO 8601 timestamp."""
    text = text.strip()
    if text.isdigit():  # any digits: "²" and "٣" are refused as numbers, not read as times
        return ascii_int(text, field="as_of")
    return check_utc(text, field="as_of")


def aggregate_as_of(ledger: Ledger, aggregate_id: object, as_of: datetime | int | None = None) -> AggregateAsOf:
    """Replay the aggregate's stored events up to a version (int) or a recorded time."""
    ident = uuid_of(aggregate_id, field="aggregate_id")
    if isinstance(as_of, bool) or (isinstance(as_of, int) and as_of < 1):
        raise InvalidInput(f"as_of: a version starts at 1, got {as_of!r}", field="as_of")
    version = as_of if isinstance(as_of, int) else None
    events: Iterator[Any] = iter(ledger.events.get(ident, lte=version))
    if isinstance(as_of, datetime):
        moment = check_utc(as_of, field="as_of")
        events = takewhile(lambda e: e.timestamp <= moment, events)
    applied: list[Any] = []

    def recording(stream: Iterator[Any]) -> Iterator[Any]:
        for event in stream:
            applied[:] = [event]  # keep only the last: an aggregate may have thousands of events
            yield event

    aggregate = project_aggregate(None, recording(events))
    if aggregate is None:
        when = f" as of {as_of.isoformat() if isinstance(as_of, datetime) else f'version {as_of}'}" if as_of else ""
        raise NotFound(f"aggregate_id: no aggregate {ident}{when}", field="aggregate_id")
    if version is not None and aggregate.version != version:
        raise NotFound(f"as_of: aggregate {ident} has no version {version} (latest {aggregate.version})",
                       field="as_of")
    last = applied[-1]
    return AggregateAsOf(ident, type(aggregate).__name__, aggregate.version, last.timestamp,
                         public_state(aggregate), aggregate.created_on, aggregate.modified_on)


def public_state(aggregate: object) -> dict[str, Any]:
    """The aggregate's attributes without the library's bookkeeping (``_id``, ``_version``...)."""
    return {k: v for k, v in vars(aggregate).items() if not k.startswith("_")}


# ---- scratch stores ---------------------------------------------------------------------------


@contextmanager
def scratch_store(ledger: Ledger) -> Iterator[str]:
    """A database URL for an empty scratch store next to the ledger's, removed on exit."""
    config = ledger.store_config
    if config.kind == "postgres":
        import psycopg

        schema = f"audit_scratch_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(conninfo(config), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {quote(schema)}")
        try:
            yield with_schema(config, schema).url
        finally:
            with psycopg.connect(conninfo(config), autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {quote(schema)} CASCADE")
    elif config.kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="ledger-audit-")
        try:
            yield os.path.join(directory, "scratch.db")
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    else:
        raise InvalidInput(f"db: the auditor needs a SQLite or PostgreSQL store, not {config.kind!r}", field="db")


def copy_events(source: Ledger, target: Ledger, *, upto: int | None = None,
                page_size: int = DEFAULT_PAGE_SIZE) -> int:
    """Copy the stored events with position <= upto, unchanged and at the same positions, into
    an empty store; one transaction per page. Returns the last position copied."""
    from_store, to_store = AuditStore(source), AuditStore(target)
    if to_store.max_position():
        raise InvalidInput("db: the scratch store is not empty", field="db")
    last, page = 0, []
    for event in from_store.notifications(upto=upto, page_size=page_size):
        page.append(event)
        if len(page) >= page_size:
            insert_events(to_store, page)
            page.clear()
        last = event.id
    if page:
        insert_events(to_store, page)
    return last


@contextmanager
def ledger_as_of(ledger: Ledger, position: int | None = None) -> Iterator[tuple[str, int]]:
    """A scratch store holding the ledger's events up to ``position`` (all when None):
    yields (its URL, the last position copied). Run the projections on that URL to get every
    report as it stood at that position; the scratch store is removed on exit."""
    if position is not None and position < 0:
        raise InvalidInput(f"position: cannot be negative, got {position}", field="position")
    with scratch_store(ledger) as url:
        scratch = open_event_store(url)
        try:
            last = copy_events(ledger, scratch, upto=position)
        finally:
            scratch.close()
        yield url, last


@contextmanager
def projections_as_of(ledger: Ledger, position: int | None = None) -> Iterator[Any]:
    """Every projection as it stood at ``position``: a ``projections.Projections`` over a
    scratch copy of the log, caught up, so its report methods (utilisation, billing, ...)
    answer for that past position. Removed on exit; the live tables are never touched."""
    from projections import Projections  # the projections package imports nothing from audit

    with ledger_as_of(ledger, position) as (url, _), Projections.open(url) as past:
        past.catch_up()
        yield past
