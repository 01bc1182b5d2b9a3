"""Read models of the ledger and the reports built on them.

Stable public API (other packages code against it)::

    p = Projections.open(url, app=ledger)   # creates the read tables if missing
    r = Projections.open(replica_url, app=ledger, read_only=True)   # a read replica: reads only
    p.catch_up()                            # process new events in batches; returns the position
    p.follow(stop_event)                    # keep processing live (LISTEN/NOTIFY or polling)
    p.rebuild("billing"); p.verify("billing").ok
    p.wait_for(written.position, timeout=5.0)   # read-your-writes
    p.report("utilisation", {"from": "2026-01", "granularity": "day"})   # any report in REPORTS
    p.invoice_lines(tenant, "2026-02")

The projections and reports are listed once, in ``projections.registry``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from projections.engine import Engine, LogReader, ProjectionsNotReady, ReadOnlyProjections, VerifyResult
from projections.registry import PROJECTION_NAMES, PROJECTIONS, REPORT_NAMES, REPORTS, checkpointed_names
from projections.reports.base import Params, Report
from storage.database import Database

__all__ = ["PROJECTION_NAMES", "REPORTS", "REPORT_NAMES", "Projections", "ProjectionsNotReady",
           "ReadOnlyProjections", "VerifyResult"]


class Projections:
    """The projections of one ledger database. Methods are safe to call from several threads
    (one connection, serialised); ``follow`` opens its own connection.

    ``read_only=True`` (a read replica, PostgreSQL): reports, positions and ``wait_for`` without
    assist only, on a read-only session that issues no DDL and no writes; the tables must exist
    already (else ``ProjectionsNotReady``), and catch-up, follow, rebuild and verify raise
    ``ReadOnlyProjections``. ``app`` is then required (the primary's ledger: a replica's own event
    store would try to create its tables)."""

    def __init__(self, url: str | None, app: Application[UUID] | None = None, *, read_only: bool = False) -> None:
        if read_only and app is None:
            raise ValueError("read-only projections need the ledger application (app=) of the primary")
        self.url = url
        self.read_only = read_only
        self.db = Database(url, read_only=True) if read_only else Database(url)
        self._own_app = app is None
        try:
            if app is None:
                from storage.event_store import open_event_store

                app = open_event_store(url)
            self.app = app
            self.engine = Engine(self.db, LogReader(app), PROJECTIONS, read_only=read_only,
                                 checkpointed=checkpointed_names())
            self.engine.create_tables()  # read-only: checks only (ProjectionsNotReady)
        except BaseException:
            self.db.close()
            if self._own_app and app is not None:
                app.close()
            raise
        self._lock = self.engine.lock

    @classmethod
    def open(cls, url: str | None, app: Application[UUID] | None = None, *, read_only: bool = False) -> Projections:
        return cls(url, app, read_only=read_only)

    # ---- running ----------------------------------------------------------------------------

    def catch_up(self, names: list[str] | None = None, *, batch_size: int = 5000,
                 progress: Callable[[int, int], None] | None = None) -> int:
        with self._lock:
            return self.engine.catch_up(names, batch_size=batch_size, progress=progress)

    def follow(self, stop: threading.Event, names: list[str] | None = None, *, poll_interval: float = 0.2) -> None:
        self.engine.check_writable("follow the log")
        self.engine.check_names(names)
        db = Database(self.url)
        try:
            engine = Engine(db, LogReader(self.app), PROJECTIONS, checkpointed=checkpointed_names())
            engine.follow(stop, names, poll_interval=poll_interval)
        finally:
            db.close()

    def rebuild(self, names: str | list[str], *, progress: Callable[[int, int], None] | None = None) -> int:
        """Rebuild one projection, or several in one shared pass over the log, and swap them in."""
        with self._lock:
            return self.engine.rebuild(names, progress=progress)

    def verify(self, name: str, *, progress: Callable[[int, int], None] | None = None) -> VerifyResult:
        with self._lock:
            return self.engine.verify(name, progress=progress)

    def position(self, name: str | None = None) -> int:
        with self._lock:
            return self.engine.position(name)

    def wait_for(self, position: int, timeout: float, *, names: list[str] | None = None, assist: bool = True) -> bool:
        """Block until every projection (or ``names``) has processed the log through
        ``position``; True if reached within ``timeout`` seconds. With ``assist`` (the default)
        this process also catches up itself, so reads work without a worker; the tracking-row
        locks keep that safe alongside workers. Read-only projections only wait (``assist=False``)."""
        if assist:
            self.engine.check_writable("catch up (wait_for with assist)")
        deadline = time.monotonic() + timeout
        chosen = self.engine.check_names(names)
        while True:
            with self._lock:
                if min(self.engine.positions(chosen).values()) >= position:
                    return True
                if assist:
                    self.engine.run([self.engine.live[n] for n in chosen], upto=position)
                    if min(self.engine.positions(chosen).values()) >= position:
                        return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    # ---- reports ----------------------------------------------------------------------------

    def report(self, name: str, filters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a report in ``REPORTS``, with raw filter values by name (checked, bounded)."""
        from projections.registry import report

        found = report(name)
        return self.run(found, found.parse(filters or {}))

    def run(self, report: Report, params: Params) -> list[dict[str, Any]]:
        with self._lock:
            return report.run(self.db, params)

    def report_at(self, name: str, filters: Mapping[str, Any] | None = None) -> tuple[list[dict[str, Any]], int]:
        """A report's rows and the position of the projections it reads, from one snapshot."""
        from projections.registry import report

        found = report(name)
        params = found.parse(filters or {})
        with self._lock, self.db.snapshot():
            position = min(self.engine.positions(list(found.projections)).values())
            return found.run(self.db, params), position

    # Shorthands for the most used reports (keyword filters, as before the registry).

    def utilisation(self, *, site_id: Any = None, model: str | None = None, start: Any = None, end: Any = None,
                    granularity: str = "month") -> list[dict[str, Any]]:
        return self.report("utilisation", {"site_id": site_id, "model": model, "from": start, "to": end,
                                           "granularity": granularity})

    def billing(self, *, tenant_id: Any = None, month_from: str | None = None,
                month_to: str | None = None) -> list[dict[str, Any]]:
        return self.report("billing", {"tenant_id": tenant_id, "from": month_from, "to": month_to})

    def billing_totals(self, *, tenant_id: Any = None, month_from: str | None = None,
                       month_to: str | None = None) -> list[dict[str, Any]]:
        return self.report("billing_totals", {"tenant_id": tenant_id, "from": month_from, "to": month_to})

    def sustainability(self, *, tenant_id: Any = None, site_id: Any = None, month_from: str | None = None,
                       month_to: str | None = None) -> list[dict[str, Any]]:
        return self.report("sustainability", {"tenant_id": tenant_id, "site_id": site_id, "from": month_from,
                                              "to": month_to})

    def capex(self) -> dict[str, list[dict[str, Any]]]:
        return {"rounds": self.report("funding_rounds"), "pools": self.report("capex"),
                "revenue": self.report("site_revenue")}

    def invoice_lines(self, tenant_id: Any, month: str) -> tuple[list[dict[str, Any]], int]:
        """The lines to put on ``tenant_id``'s invoice for ``month`` and the billing position
        they are computed through (pass both to ``Ledger.issue_invoice``)."""
        rows, position = self.report_at("billing", {"tenant_id": tenant_id, "from": month, "to": month})
        keep = ("line_key", "kind", "reservation_id", "origin_month", "gpu_hours", "rate", "amount", "energy_kwh",
                "location_kgco2e", "market_kgco2e")
        return [{k: line[k] for k in keep} for line in rows], position

    def tenant_page(self, tenant_id: Any, kind: str, after: int, limit: int) -> list[Any]:
        """A page of a tenant's reservations, metering batches or invoices (by log position)."""
        from projections.tenant_index import page

        with self._lock:
            return page(self.db, tenant_id, kind, after, limit)

    def close(self) -> None:
        with self._lock:
            self.db.close()
            if self._own_app:
                self.app.close()

    def __enter__(self) -> Projections:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
