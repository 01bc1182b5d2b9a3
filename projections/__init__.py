"""Read models of the ledger: utilisation, billing, sustainability and capex.

Stable public API (other packages code against it)::

    p = Projections.open(url)           # creates the projection tables if missing
    p.catch_up()                        # process new events in batches; returns the position
    p.follow(stop_event)                # keep processing live (LISTEN/NOTIFY or polling)
    p.rebuild("billing"); p.verify("billing").ok
    p.wait_for(written.position, timeout=5.0)   # read-your-writes
    p.utilisation(...); p.billing(...); p.billing_totals(...); p.invoice_lines(tenant, "2026-02")
    p.sustainability(...); p.capex()

Rows are plain dicts: ids as UUID strings, months 'YYYY-MM', hours as ISO 8601 UTC strings,
money/kWh/kgCO2e/used GPU-hours as Decimal, counts and booked GPU-hours as int.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from projections import reports
from projections.db import Database
from projections.runner import PROJECTION_NAMES, Runner, VerifyResult, check_names

__all__ = ["PROJECTION_NAMES", "Projections", "VerifyResult"]


class Projections:
    """The projections of one ledger database. Methods are safe to call from several threads
    (one connection, serialised); ``follow`` opens its own connection."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.db = Database(url)
        self.runner = Runner(self.db)
        self._lock = self.runner.lock

    @classmethod
    def open(cls, url: str | None) -> Projections:
        return cls(url)

    # ---- running --------------------------------------------------------------------------

    def catch_up(self, names: list[str] | None = None, *, batch_size: int = 5000,
                 progress: Callable[[int, int], None] | None = None) -> int:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        with self._lock:
            return self.runner.catch_up(names, batch_size=batch_size, progress=progress)

    def follow(self, stop: threading.Event, names: list[str] | None = None, *, poll_interval: float = 0.2) -> None:
        check_names(names)
        db = Database(self.url)
        try:
            Runner(db).follow(stop, names, poll_interval=poll_interval)
        finally:
            db.close()

    def rebuild(self, name: str, *, progress: Callable[[int, int], None] | None = None) -> int:
        with self._lock:
            return self.runner.rebuild(name, progress=progress)

    def verify(self, name: str) -> VerifyResult:
        with self._lock:
            return self.runner.verify(name)

    def position(self, name: str | None = None) -> int:
        with self._lock:
            return self.runner.position(name)

    def wait_for(self, position: int, timeout: float, *, names: list[str] | None = None, assist: bool = True) -> bool:
        """Block until every projection (or ``names``) has processed the log through
        ``position``; True if reached within ``timeout`` seconds. With ``assist`` (the
        default) this process also catches up itself, so reads work without a worker; the
        tracking-row lock keeps that safe alongside workers."""
        deadline = time.monotonic() + timeout
        chosen = check_names(names)
        while True:
            with self._lock:
                if min(self.runner.position(n) for n in chosen) >= position:
                    return True
                if assist:
                    self.runner.catch_up(chosen)
                    if min(self.runner.position(n) for n in chosen) >= position:
                        return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    # ---- reports --------------------------------------------------------------------------

    def utilisation(self, *, site_id: Any = None, model: str | None = None, start: Any = None, end: Any = None,
                    granularity: str = "month") -> list[dict[str, Any]]:
        with self._lock:
            return reports.utilisation(self.db, site_id=site_id, model=model, start=start, end=end,
                                       granularity=granularity)

    def billing(self, *, tenant_id: Any = None, month_from: str | None = None,
                month_to: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return reports.billing(self.db, tenant_id=tenant_id, month_from=month_from, month_to=month_to)

    def billing_totals(self, *, tenant_id: Any = None, month_from: str | None = None,
                       month_to: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return reports.billing_totals(self.db, tenant_id=tenant_id, month_from=month_from, month_to=month_to)

    def invoice_lines(self, tenant_id: Any, month: str) -> tuple[list[dict[str, Any]], int]:
        """The lines to put on ``tenant_id``'s invoice for ``month`` and the billing position
        they are computed through (pass both to ``Ledger.issue_invoice``)."""
        with self._lock, self.db.snapshot():
            position = self.runner.position("billing")
            lines = reports.billing(self.db, tenant_id=tenant_id, month_from=month, month_to=month)
        return [{"line_key": line["line_key"], "kind": line["kind"], "reservation_id": line["reservation_id"],
                 "origin_month": line["origin_month"], "gpu_hours": line["gpu_hours"], "rate": line["rate"],
                 "amount": line["amount"]} for line in lines], position

    def sustainability(self, *, tenant_id: Any = None, site_id: Any = None, month_from: str | None = None,
                       month_to: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return reports.sustainability(self.db, tenant_id=tenant_id, site_id=site_id, month_from=month_from,
                                          month_to=month_to)

    def capex(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return reports.capex(self.db)

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def __enter__(self) -> Projections:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
