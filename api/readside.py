"""The projections seen from the API: a small shared pool of read connections, waited on for
read-your-writes. (The projection follower of ``ledger serve`` is ``server.follower``.)

``Projections`` serialises its calls on one connection. Report and tenant-list reads borrow one
of ``LEDGER_READ_CONNECTIONS`` instances (opened when first needed) for the length of one call,
so a process holds that many read connections however many request threads there are; a request
waits at most ``LEDGER_DB_TIMEOUT_SECONDS`` for one (then 503 ``database-unavailable`` with
``Retry-After``). An instance whose connection died (a database restart) or was left inside a
transaction is closed and replaced on its next use. On PostgreSQL each read connection has the
API's ``statement_timeout``.

The follower (``LEDGER_RUN_PROJECTOR``) uses two connections of its own: one for the batches,
one to LISTEN (PostgreSQL); it has no statement timeout.

With a read replica (``LEDGER_READ_DATABASE_URL``) the read connections go to the replica,
read-only (``Projections(read_only=True)``: no DDL, no writes; tables missing there are a 503
``database-unavailable``), while the follower writes on the primary and the replica receives its
rows by streaming replication. ``wait_for`` then waits for the replica's tracking positions, so a
``min_position`` read that the replica does not reach within ``LEDGER_READ_WAIT_SECONDS`` is a
503 ``projection-lagging`` with ``Retry-After``, not a read from the primary: a lagging replica
must not move its read load onto the primary. A replica that is down is a 503
``database-unavailable``; writes go on.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import Application

from access.tokens import Role
from api.problems import ProjectionLagging
from domain.errors import InvalidInput
from storage.errors import DatabaseUnavailable
from storage.timeouts import set_statement_timeout

if TYPE_CHECKING:
    from access.tokens import Principal
    from domain import Ledger
    from projections import Projections
    from projections.asof import AsOfReport
    from projections.queries import Names, Scope
    from projections.reports.base import Report

log = logging.getLogger("api")
WAIT_POLL_SECONDS = 0.05  # how often a read-your-writes wait looks at the projections' position


def healthy(projections: Projections) -> bool:
    """Its connection is open and outside any transaction (fit to hand to the next request)."""
    conn = projections.db.conn
    if projections.db.kind == "sqlite":
        return not conn.in_transaction
    from psycopg.pq import TransactionStatus

    return not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE


class ReadPool:
    """At most ``size`` ``Projections`` instances, each lent to one caller at a time."""

    def __init__(self, url: str, ledger: Application[UUID], *, size: int, wait_seconds: float,
                 statement_timeout: float = 0.0, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only  # a read replica: read-only sessions, tables never created
        self.ledger = ledger
        self.size = size
        self.wait_seconds = wait_seconds
        self.statement_timeout = statement_timeout
        self._idle: queue.LifoQueue[Projections | None] = queue.LifoQueue()
        for _ in range(size):
            self._idle.put(None)  # a free slot, opened when first lent
        self._lock = threading.Lock()
        self._open: set[int] = set()  # ids of instances not yet closed
        self._closed = False

    def _open_one(self) -> Projections:
        from projections import Projections, ProjectionsNotReady

        try:
            # Creates the read tables if missing; read-only (a replica): only checks they are there.
            found = Projections.open(self.url, app=self.ledger, read_only=self.read_only)
        except ProjectionsNotReady as error:
            raise DatabaseUnavailable(f"read replica: {error}; retry shortly") from None
        try:
            if found.db.kind == "postgres" and self.statement_timeout > 0:
                set_statement_timeout(found.db.conn, self.statement_timeout)  # after the DDL check
        except BaseException:
            found.close()
            raise
        return found

    @contextmanager
    def lease(self) -> Iterator[Projections]:
        """One instance for the caller's exclusive use, returned (or replaced) afterwards."""
        try:
            found = self._idle.get(timeout=self.wait_seconds)
        except queue.Empty:
            raise DatabaseUnavailable(f"all {self.size} read connections stayed busy for "
                                      f"{self.wait_seconds:g} s; retry shortly") from None
        try:
            if found is not None and not healthy(found):
                self._discard(found)
                found = None
            if found is None:
                found = self._open_one()
            yield found
        finally:
            if found is not None and (self._closed or not healthy(found)):
                self._discard(found)  # its connection died, or an error left it inside a transaction
                found = None
            self._idle.put(found)

    def _discard(self, projections: Projections) -> None:
        try:
            projections.close()
        except Exception as error:  # a dead connection may refuse even to close
            log.debug("closing a read connection: %s", error)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                found = self._idle.get_nowait()
            except queue.Empty:
                return
            if found is not None:
                self._discard(found)


def check_replica_setting(url: str, read_url: str) -> None:
    """A read replica is a PostgreSQL standby of a PostgreSQL primary (checked without connecting)."""
    from storage.urls import parse_database_url

    kinds = parse_database_url(url).kind, parse_database_url(read_url).kind
    if kinds != ("postgres", "postgres"):
        raise InvalidInput("read_database_url: a read replica needs PostgreSQL for both LEDGER_DATABASE_URL and "
                           "LEDGER_READ_DATABASE_URL", field="read_database_url")


class PooledProjections:
    """The read calls of ``Projections`` that request handlers make, each on a lent instance."""

    def __init__(self, pool: ReadPool) -> None:
        self.pool = pool

    def report_at(self, name: str, filters: Mapping[str, Any] | None = None) -> tuple[list[dict[str, Any]], int]:
        with self.pool.lease() as projections:
            return projections.report_at(name, filters)

    def report(self, name: str, filters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        with self.pool.lease() as projections:
            return projections.report(name, filters)

    def invoice_lines(self, tenant_id: Any, month: str) -> tuple[list[dict[str, Any]], int]:
        with self.pool.lease() as projections:
            return projections.invoice_lines(tenant_id, month)

    def tenant_page(self, tenant_id: Any, kind: str, after: int, limit: int) -> list[Any]:
        with self.pool.lease() as projections:
            return projections.tenant_page(tenant_id, kind, after, limit)

    def position(self, name: str | None = None) -> int:
        with self.pool.lease() as projections:
            return projections.position(name)

    def reached(self, position: int) -> bool:
        """Every projection has processed the log through ``position`` (one look, no waiting)."""
        with self.pool.lease() as projections:
            return projections.wait_for(position, 0.0, assist=False)


class ReadSide:
    def __init__(self, url: str, wait_seconds: float, ledger: Application[UUID], *, read_url: str | None = None,
                 connections: int = 4, connection_wait_seconds: float = 5.0, statement_timeout: float = 0.0) -> None:
        self.url = url  # the primary: the follower writes the projections here
        self.read_url = read_url or None  # a streaming replica for the reads, if any
        if self.read_url is not None:
            check_replica_setting(url, self.read_url)
        self.ledger = ledger  # the log is read through its recorder and mapper
        self.wait_seconds = wait_seconds
        self.pool = ReadPool(self.read_url or url, ledger, size=connections, wait_seconds=connection_wait_seconds,
                             statement_timeout=statement_timeout, read_only=self.read_url is not None)
        self._reads = PooledProjections(self.pool)
        # Reports as of a past position build a scratch store on the primary: one at a time per
        # process (one extra connection), waiting like a read connection.
        self._as_of_slot = threading.BoundedSemaphore(1)
        self._as_of_wait = connection_wait_seconds

    @property
    def projections(self) -> PooledProjections:
        """The read calls of ``Projections``, each on a connection of the shared pool."""
        return self._reads

    def wait_for(self, position: int | None) -> None:
        """Return once the projections reached ``position``; raise ProjectionLagging after the wait.
        The wait holds no read connection between looks."""
        if position is None or position <= 0:
            return
        # Requests only wait: the followers (this process's projector, or `ledger project` workers)
        # do the projection work, never a request thread.
        deadline = time.monotonic() + self.wait_seconds
        while not self._reads.reached(position):
            head = self.ledger.recorder.max_notification_id() or 0  # asked only while behind
            if position > head:
                raise InvalidInput(f"min_position: {position} is beyond the head of the log ({head})",
                                   field="min_position")
            if time.monotonic() >= deadline:
                raise ProjectionLagging(
                    f"min_position: projections are at {self._reads.position()}, not yet {position}; retry shortly",
                    field="min_position")
            time.sleep(WAIT_POLL_SECONDS)

    def report_as_of(self, name: str, filters: Mapping[str, Any], as_of: object) -> AsOfReport:
        """A report as it stood at ``as_of`` (a position or a time): its rows, that position and
        the checkpoint it was replayed from. Built in a scratch schema on the primary
        (``projections.asof``); live tables untouched. One at a time per process."""
        from projections.asof import report_as_of

        if not self._as_of_slot.acquire(timeout=self._as_of_wait):
            raise DatabaseUnavailable(f"another report as of a past position kept this process busy for "
                                      f"{self._as_of_wait:g} s; retry shortly")
        try:
            return report_as_of(self.url, self.ledger, name, filters, as_of)
        finally:
            self._as_of_slot.release()

    def reports(self, ledger: Ledger, wait_for: int | None = None) -> ReadSideReports:
        """The read side as a ``projections.queries.ReportSource`` (names from ``ledger``); live
        reads first wait for ``wait_for`` (read-your-writes)."""
        return ReadSideReports(self, ledger, wait_for)

    def close(self) -> None:
        self.pool.close()


def scope_of(principal: Principal) -> Scope:
    """The rows a principal sees: a tenant its own, everyone else every tenant's."""
    from projections.queries import Scope

    return Scope(principal.tenant_id if principal.role is Role.tenant else None)


class ReadSideReports:
    """``projections.queries.ReportSource`` on the API's read side: live reads on the shared pool
    (after the read-your-writes wait), as-of reads in the as-of slot, names from the ledger."""

    def __init__(self, readside: ReadSide, ledger: Ledger, wait_for: int | None = None) -> None:
        self.readside = readside
        self.ledger = ledger
        self.wait = wait_for

    def live_report(self, report: Report, filters: Mapping[str, Any]) -> tuple[list[dict[str, Any]], int]:
        self.readside.wait_for(self.wait)
        return self.readside.projections.report_at(report.name, filters)

    def as_of_report(self, report: Report, filters: Mapping[str, Any], as_of: object) -> AsOfReport:
        return self.readside.report_as_of(report.name, filters, as_of)

    def names(self, rows: Sequence[Mapping[str, Any]]) -> Names:
        from projections.queries import Names

        return Names.for_rows(self.ledger, rows)


class ReadSideBilling:
    """``operations.invoicing.BillingReads`` on the API's read side: waits as a read-your-writes
    read does (up to ``LEDGER_READ_WAIT_SECONDS``, then 503 ``projection-lagging``), reads on the
    shared pool."""

    def __init__(self, readside: ReadSide) -> None:
        self.readside = readside

    def wait_for(self, position: int) -> None:
        self.readside.wait_for(position)

    def invoice_lines(self, tenant_id: Any, month: str) -> tuple[list[dict[str, Any]], int]:
        return self.readside.projections.invoice_lines(tenant_id, month)

    def month_totals(self, month: str) -> list[dict[str, Any]]:
        return self.readside.projections.report("billing_totals", {"from": month, "to": month})

    def contract_tenants(self) -> list[UUID]:
        return [UUID(str(r["tenant_id"])) for r in self.readside.projections.report("contracts")]

    # operations.closing.CloseReads: requests only wait (the followers project), up to
    # LEDGER_READ_WAIT_SECONDS, then 503 projection-lagging.
    def caught_up(self, position: int, names: list[str]) -> int:
        self.readside.wait_for(position)
        return min(self.readside.projections.position(name) for name in names)

    def trial_balance(self, month: str) -> list[dict[str, Any]]:
        return self.readside.projections.report("trial_balance", {"to": month})
