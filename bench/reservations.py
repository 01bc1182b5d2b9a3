"""Reservations/s through the application service vs the library's bare Application.save.

Baseline: ``Application.save`` of one new aggregate carrying the same number of events (two:
a reservation is one event on the pool and one on the new reservation). Also measured with
1,000 and 100,000 earlier bookings in the same pool, to show the rate does not fall as a
pool's history grows (the aggregate cache keeps the pool; only new events are read).

One pool, several processes: 4 OS processes (each its own Ledger, as 4 API processes would be)
booking the same pool at once, against 1 process through the same harness. On PostgreSQL the
pool's commands are serialised across processes by an advisory lock (``open_ledger``), so the
rate cannot grow with processes; the target is that it does not fall much (>= 0.8x).
"""

from __future__ import annotations

import multiprocessing
import statistics
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.common import NOW, drop_url, fresh_url, median_rate, seeded_fleet, window
from bootstrap import open_ledger
from storage.urls import parse_database_url


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


def service_rate(url: str, tmpdir: str, n: int, runs: int, clients: int, history: int = 0,
                 group_commit: bool = True, cpu_ms: list[float] | None = None) -> float:
    """Bookings per second (the median of ``runs``); with ``cpu_ms``, each run's CPU per booking
    (this process, all its threads: the ledger's own cost, without a server's) is appended."""
    store = fresh_url(url, tmpdir)
    fleet = seeded_fleet(store)
    fleet.ledger.group_commit = group_commit
    if history:
        prefill_pool(fleet, history)
    fleet.ledger.get_pool(fleet.site_id, fleet.model)  # warm the cache, as a running server would be
    counter = [0]

    def reserve(count: int) -> None:
        for _ in range(count):
            counter[0] += 1
            fleet.ledger.confirm_reservation(tenant_id=fleet.tenant_id, site_id=fleet.site_id, model=fleet.model,
                                             gpus=1, backfill=True, **window(counter[0]))

    def work() -> int:
        began = time.process_time()
        threads = [threading.Thread(target=reserve, args=(n // clients,)) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        done = (n // clients) * clients
        if cpu_ms is not None:
            cpu_ms.append(1000 * (time.process_time() - began) / done)
        return done

    rate, _ = median_rate(runs, work)
    fleet.ledger.close()
    drop_url(store)
    return rate


def _booking_process(url: str, site_id: Any, tenant_id: Any, model: str, pipe: Connection) -> None:
    """A process of its own: its own Ledger (cache warmed), booking on command; answers
    (started, finished, give-ups) on the shared monotonic clock for each round."""
    from domain.errors import ConcurrencyConflict

    ledger = open_ledger(url, clock=lambda: NOW)
    try:
        ledger.get_pool(site_id, model)
        ledger.get_tenant(tenant_id)
        pipe.send("ready")
        while (order := pipe.recv()) is not None:
            count, first = order
            gave_up = 0
            started = time.perf_counter()
            for i in range(first, first + count):
                try:
                    ledger.confirm_reservation(tenant_id=tenant_id, site_id=site_id, model=model, gpus=1,
                                               backfill=True, **window(i))
                except ConcurrencyConflict:
                    gave_up += 1
            pipe.send((started, time.perf_counter(), gave_up))
    finally:
        ledger.close()


def process_rate(url: str, tmpdir: str, n: int, runs: int, processes: int) -> tuple[float, int]:
    """Reservations/s of ``processes`` OS processes booking one pool together (median of
    ``runs`` rounds, each from the first start to the last finish), and the give-ups."""
    store = fresh_url(url, tmpdir)
    fleet = seeded_fleet(store)
    fleet.ledger.close()
    context = multiprocessing.get_context("spawn")
    pipes, workers = [], []
    for _ in range(processes):
        mine, theirs = context.Pipe()
        worker = context.Process(target=_booking_process, args=(store, fleet.site_id, fleet.tenant_id,
                                                                fleet.model, theirs))
        worker.start()
        pipes.append(mine)
        workers.append(worker)
    rates, gave_up, first = [], 0, 0
    try:
        for pipe in pipes:
            assert pipe.recv() == "ready"
        each = n // processes
        for _ in range(runs):
            for pipe in pipes:
                pipe.send((each, first))
                first += each
            answers = [pipe.recv() for pipe in pipes]
            rates.append(each * processes / (max(a[1] for a in answers) - min(a[0] for a in answers)))
            gave_up += sum(a[2] for a in answers)
    finally:
        for pipe in pipes:
            pipe.send(None)
        for worker in workers:
            worker.join(timeout=60)
        drop_url(store)
    return statistics.median(rates), gave_up


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
    per_process = (200, 3) if quick else (800, 5)
    single, single_gave_up = process_rate(url, tmpdir, *per_process, processes=1)
    rows.append({"benchmark": "reservations", "case": "one pool, 1 process (ratio: vs bare save)", "clients": 1,
                 "rate_per_s": single, "ratio": single / baseline, "gave_up": single_gave_up})
    four, four_gave_up = process_rate(url, tmpdir, *per_process, processes=4)
    rows.append({"benchmark": "reservations", "case": f"one pool, 4 processes ({four_gave_up} gave up; ratio: vs 1)",
                 "clients": 4, "rate_per_s": four, "ratio": four / single, "gave_up": four_gave_up,
                 "target": ">= 0.8x of 1 process", "met": four >= 0.8 * single and not four_gave_up})
    return rows
