"""Reservations/s through the application service vs the library's bare Application.save.

Baseline: ``Application.save`` of one new aggregate carrying the same number of events (two:
a reservation is one event on the pool and one on the new reservation). Also measured with
1,000 and 100,000 earlier bookings in the same pool, to show the rate does not fall as a
pool's history grows (the aggregate cache keeps the pool; only new events are read).
"""

from __future__ import annotations

import threading
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.common import drop_url, fresh_url, median_rate, seeded_fleet, window
from projections.store import parse_database_url


class BareThing(Aggregate):
    @event("Noted")
    def note(self) -> None:
        pass


def bare_save_rate(url: str, tmpdir: str, n: int, runs: int) -> float:
    store = fresh_url(url, tmpdir)
    app: Application[Any] = Application(env=parse_database_url(store).event_store_env())

    def work() -> int:
        for _ in range(n):
            thing = BareThing()
            thing.note()
            app.save(thing)
        return n

    rate, _ = median_rate(runs, work)
    app.close()
    drop_url(store)
    return rate


def prefill_pool(fleet: Any, bookings: int) -> None:
    """Add ``bookings`` earlier bookings to the pool in large saves (fast to set up)."""
    import uuid

    ledger = fleet.ledger
    done = 0
    while done < bookings:
        pool = ledger.get_pool(fleet.site_id, fleet.model)
        for _ in range(min(5000, bookings - done)):
            w = window(done)
            pool.book(reservation_id=uuid.uuid4(), start=w["start"], end=w["end"], gpus=1)
            done += 1
        ledger.save(pool)


def service_rate(url: str, tmpdir: str, n: int, runs: int, clients: int, history: int = 0) -> float:
    store = fresh_url(url, tmpdir)
    fleet = seeded_fleet(store)
    if history:
        prefill_pool(fleet, history)
    fleet.ledger.get_pool(fleet.site_id, fleet.model)  # warm the cache, as a running server would be
    counter = [0]

    def reserve(count: int) -> None:
        for _ in range(count):
            counter[0] += 1
            fleet.ledger.confirm_reservation(tenant_id=fleet.tenant_id, site_id=fleet.site_id, model=fleet.model,
                                             gpus=1, **window(counter[0]))

    def work() -> int:
        threads = [threading.Thread(target=reserve, args=(n // clients,)) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return (n // clients) * clients

    rate, _ = median_rate(runs, work)
    fleet.ledger.close()
    drop_url(store)
    return rate


def run(url: str, tmpdir: str, quick: bool = False) -> list[dict[str, Any]]:
    n, runs = (60, 3) if quick else (400, 5)
    histories = (0, 1_000) if quick else (0, 1_000, 100_000)
    baseline = bare_save_rate(url, tmpdir, n, runs)
    rows = [{"benchmark": "reservations", "case": "bare Application.save (baseline)", "clients": 1,
             "rate_per_s": baseline, "ratio": 1.0}]
    for clients in (1, 8):
        rate = service_rate(url, tmpdir, n, runs, clients)
        rows.append({"benchmark": "reservations", "case": f"service, {clients} client(s)", "clients": clients,
                     "rate_per_s": rate, "ratio": rate / baseline, "target": ">= 70% of bare save",
                     "met": rate >= 0.7 * baseline})
    for history in histories[1:]:
        rate = service_rate(url, tmpdir, n, runs, 1, history)
        rows.append({"benchmark": "reservations", "case": f"service, pool with {history:,} earlier bookings",
                     "clients": 1, "rate_per_s": rate, "ratio": rate / baseline})
    return rows
