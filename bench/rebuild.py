"""Benchmark: projection rebuild rate (events/s), batched runner vs the library's per-event
``eventsourcing.projection.ProjectionRunner``, on the same log.

    python -m bench.rebuild --db postgresql://postgres@127.0.0.1:5432/postgres --events 200000

Builds a history (sites, funded and commissioned pools, tenants, reservations with
extensions and cancellations, and hourly usage) in a fresh schema, then times:
1. ``Projections.rebuild(name)`` for each projection and for all four (from position 0, into
   scratch tables and swapped in), and decoding alone (JSON vs the app's mapper);
2. the library's ProjectionRunner with a per-event utilisation projection doing the same
   work (one transaction per event, tracking recorded with the rows).
Rates are events of the projection's topics per second (the log's total for "all").
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from bench.dataset import build_history
from bootstrap import open_ledger, open_projections
from domain import Ledger
from domain.storage import parse_database_url

UTC = timezone.utc
T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2027, 6, 1, tzinfo=UTC)


def count_topics(url: str, topics: tuple[str, ...]) -> int:
    from projections.db import Database

    db = Database(url)
    marks = ", ".join("?" * len(topics))
    n = int(db.fetchone(f"SELECT COUNT(*) FROM {db.events_table} WHERE topic IN ({marks})", topics)[0])  # type: ignore[index]
    db.close()
    return n


def time_rebuilds(url: str) -> dict[str, Any]:
    from projections import PROJECTION_NAMES
    from projections.runner import PROJECTION_CLASSES

    out: dict[str, Any] = {}
    p = open_projections(url)
    total = p.runner.db.fetchone(f"SELECT COUNT(*) FROM {p.runner.db.events_table}")[0]  # type: ignore[index]
    started_all = time.perf_counter()
    for name in PROJECTION_NAMES:
        started = time.perf_counter()
        p.rebuild(name)
        seconds = time.perf_counter() - started
        events = count_topics(url, PROJECTION_CLASSES[name].topics)
        out[name] = {"events": events, "seconds": round(seconds, 2), "events_per_s": round(events / seconds)}
    seconds = time.perf_counter() - started_all
    out["all"] = {"events": total, "seconds": round(seconds, 2), "events_per_s": round(total / seconds)}
    p.close()
    return out


def time_decoding(url: str, limit: int = 50_000) -> dict[str, float]:
    """Decode the same stored events with json.loads vs the application's mapper."""
    from eventsourcing.persistence import StoredEvent

    from projections.db import Database

    db = Database(url)
    rows = db.fetchall(f"SELECT originator_id, originator_version, topic, state FROM {db.events_table} "
                       f"ORDER BY notification_id LIMIT ?", (limit,))
    db.close()
    started = time.perf_counter()
    for r in rows:
        json.loads(bytes(r[3]))
    raw = len(rows) / (time.perf_counter() - started)
    ledger = open_ledger(url)
    stored = [StoredEvent(r[0], r[1], r[2], bytes(r[3])) for r in rows]
    started = time.perf_counter()
    for s in stored:
        ledger.mapper.to_domain_event(s)
    mapped = len(rows) / (time.perf_counter() - started)
    ledger.close()
    return {"json_events_per_s": round(raw), "mapper_events_per_s": round(mapped)}


def time_library_runner(url: str, limit: int | None) -> dict[str, Any]:
    """The library's ProjectionRunner with a per-event utilisation projection doing the same
    work as ours (hour/day/month upserts), one transaction per event with its tracking row."""
    from eventsourcing.domain import DomainEventProtocol
    from eventsourcing.persistence import Tracking
    from eventsourcing.postgres import PostgresTrackingRecorder
    from eventsourcing.projection import Projection, ProjectionRunner

    from domain.timeutil import hour_index, hour_index_ceil, month_of
    from projections.utilisation import Utilisation

    PREFETCHED_POOLS: dict[Any, tuple[str, str]] = {}
    PREFETCHED_RESERVATIONS: dict[Any, tuple[str, str]] = {}

    class PerEventView(PostgresTrackingRecorder):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            s = self.datastore.schema
            self.t = {n: f'"{s}".pe_{n}' for n in ("pools", "res", "hours", "days", "months", "capacity")}
            self.pools = PREFETCHED_POOLS  # filled in when the run starts part-way through the log
            self.res = PREFETCHED_RESERVATIONS

        def create_table(self) -> None:
            super().create_table()
            with self.datastore.transaction(commit=True) as curs:
                for n, key in (("hours", "hour bigint"), ("days", "day bigint"), ("months", "month text")):
                    curs.execute(f"CREATE TABLE IF NOT EXISTS {self.t[n]} (site_id text, model text, {key}, "
                                 f"booked bigint, used_micro bigint, PRIMARY KEY (site_id, model, {key.split()[0]}))")
                curs.execute(f"CREATE TABLE IF NOT EXISTS {self.t['capacity']} (site_id text, model text, hour bigint, "
                             "delta bigint, PRIMARY KEY (site_id, model, hour))")

        def record(self, event: Any, tracking: Tracking) -> None:
            name = type(event).__qualname__
            rows: list[tuple[str, str, int, int, int]] = []  # (site, model, hour, booked, used_micro)
            cap: list[tuple[str, str, int, int]] = []
            if name == "GpuPool.Created":
                self.pools[event.originator_id] = (str(event.site_id), event.model)
            elif name == "Reservation.Confirmed":
                self.res[event.originator_id] = (str(event.site_id), event.model)
            elif name == "Reservation.UsageRecorded":
                site, model = self.res[event.originator_id]
                rows.append((site, model, hour_index(event.hour), 0, int(event.gpu_hours * 1_000_000)))
            elif name == "Reservation.UsageBatchRecorded":
                site, model = self.res[event.originator_id]
                rows.extend((site, model, hour_index(datetime.fromisoformat(hour)), 0, int(Decimal(gpu_hours) * 1_000_000))
                            for _, hour, gpu_hours in event.records)
            elif name in ("GpuPool.CapacityBooked", "GpuPool.CapacityReleased"):
                site, model = self.pools[event.originator_id]
                sign = 1 if name.endswith("Booked") else -1
                rows.extend((site, model, h, sign * event.gpus, 0)
                            for h in range(hour_index(event.start), hour_index(event.end)))
            elif name in ("GpuPool.Commissioned", "GpuPool.Decommissioned"):
                site, model = self.pools[event.originator_id]
                cap.append((site, model, hour_index_ceil(event.at),
                            event.quantity if name.endswith("Commissioned") else -event.quantity))
            with self.datastore.transaction(commit=True) as curs:
                for n, key in (("hours", lambda h: h), ("days", lambda h: h // 24),
                               ("months", lambda h: month_of(datetime(1970, 1, 1, tzinfo=UTC) + timedelta(hours=h)))):
                    col = {"hours": "hour", "days": "day", "months": "month"}[n]
                    if rows:
                        curs.executemany(
                            f"INSERT INTO {self.t[n]} VALUES (%s, %s, %s, %s, %s) ON CONFLICT (site_id, model, {col}) "
                            f"DO UPDATE SET booked = {self.t[n].split('.')[1]}.booked + excluded.booked, "
                            f"used_micro = {self.t[n].split('.')[1]}.used_micro + excluded.used_micro",
                            [(s, m, key(h), b, u) for s, m, h, b, u in rows])
                if cap:
                    curs.executemany(f"INSERT INTO {self.t['capacity']} VALUES (%s, %s, %s, %s) ON CONFLICT "
                                     "(site_id, model, hour) DO UPDATE SET delta = pe_capacity.delta + excluded.delta", cap)
                self._insert_tracking(curs, tracking)

    class PerEventUtilisation(Projection[PerEventView]):
        name = "perevent"
        topics = Utilisation.topics

        def process_event(self, domain_event: DomainEventProtocol[Any], tracking: Tracking) -> None:
            self.view.record(domain_event, tracking)

    env = parse_database_url(url).event_store_env()
    events = count_topics(url, Utilisation.topics)
    from projections.db import Database

    db = Database(url)
    rows = db.fetchall(f"SELECT notification_id FROM {db.events_table} WHERE topic IN "
                       f"({', '.join('?' * len(Utilisation.topics))}) ORDER BY notification_id", Utilisation.topics)
    db.close()
    target = int(rows[-1][0])
    if limit is not None and limit < len(rows):
        # Time the last ``limit`` events (the usage-heavy part of the log, the per-event
        # runner's best case): start the library's tracking there, with the lookups the
        # earlier events would have built.
        events = limit
        skip_to = int(rows[len(rows) - limit - 1][0])
        from eventsourcing.persistence import InfrastructureFactory
        from eventsourcing.utils import Environment

        from projections.events import read_batch

        db = Database(url)
        for e in read_batch(db, 0, skip_to, ("ledger:GpuPool.Created", "ledger:Reservation.Confirmed"), 10**9):
            target_map = PREFETCHED_POOLS if e.topic.startswith("ledger:GpuPool") else PREFETCHED_RESERVATIONS
            target_map[uuid.UUID(e.originator_id)] = (e.data["site_id"]["_data_"], e.data["model"])
        db.close()
        for key, (site, model) in list(PREFETCHED_POOLS.items()) + list(PREFETCHED_RESERVATIONS.items()):
            (PREFETCHED_POOLS if key in PREFETCHED_POOLS else PREFETCHED_RESERVATIONS)[key] = (str(uuid.UUID(site)), model)
        view = InfrastructureFactory.construct(env=Environment("perevent", env)).tracking_recorder(PerEventView)
        view.insert_tracking(Tracking("Ledger", skip_to))
    started = time.perf_counter()
    with ProjectionRunner(application_class=Ledger, projection_class=PerEventUtilisation, view_class=PerEventView,
                          env=env) as runner:
        runner.wait(target, timeout=3600)
        seconds = time.perf_counter() - started
    return {"events": events, "seconds": round(seconds, 2), "events_per_s": round(events / seconds)}


def time_read_decode(url: str) -> dict[str, Any]:
    """The ceiling: read and decode every event of the log in rebuild-sized batches, no writes."""
    from projections.db import Database
    from projections.events import max_position, read_batch
    from projections.runner import PROJECTION_CLASSES, REBUILD_BATCH

    topics = tuple(sorted({t for c in PROJECTION_CLASSES.values() for t in c.topics}))
    db = Database(url)
    top = max_position(db)
    after, decoded = 0, 0
    started = time.perf_counter()
    while after < top:
        events = read_batch(db, after, top, topics, REBUILD_BATCH)
        decoded += len(events)
        after = events[-1].position if len(events) == REBUILD_BATCH else top
    seconds = time.perf_counter() - started
    db.close()
    return {"events": top, "decoded": decoded, "seconds": seconds, "events_per_s": top / seconds}


def run(url: str, tmpdir: str, quick: bool = False, fresh: bool = False) -> list[dict[str, Any]]:
    """The suite of ``python -m bench``: a full rebuild (all four projections, in a child
    process: see bench.memory) over the cached ~1,000,000-event history (``--quick``:
    ~100,000), against reading+decoding the same log with no writes (the ceiling) and the
    library's per-event ProjectionRunner doing utilisation's work (timed over the log's last
    20,000 utilisation events; ``--quick``: 3,000)."""
    from bench.api_load import loadavg
    from bench.dataset import history
    from bench.memory import rebuild_figures
    from projections.utilisation import Utilisation

    if not url.startswith("postgres"):
        return []
    store = history(url, 100_000 if quick else 1_000_000, fresh=fresh)
    ceiling = time_read_decode(store)
    ours = rebuild_figures(store)
    library = time_library_runner(store, 3_000 if quick else 20_000)
    util_events = count_topics(store, (*Utilisation.topics, "ledger:Reservation.UsageBatchRecorded"))
    util_rate = util_events / ours["per_projection_s"]["utilisation"]
    rate = ours["events"] / ours["seconds"]
    load = loadavg()
    return [
        {"benchmark": "rebuild", "case": f"read+decode {ceiling['events']:,} events, no writes (ceiling)",
         "rate_per_s": ceiling["events_per_s"], "ratio": 1.0, "load": load},
        {"benchmark": "rebuild", "case": f"rebuild all 4 projections, {ours['events']:,} events",
         "rate_per_s": rate, "ratio": rate / ceiling["events_per_s"], "seconds": ours["seconds"],
         "target": ">= 25,000 events/s", "met": rate >= 25_000, "load": load},
        {"benchmark": "rebuild", "case": "library per-event ProjectionRunner, utilisation (baseline)",
         "rate_per_s": library["events_per_s"], "ratio": 1.0, "events": library["events"], "load": load},
        {"benchmark": "rebuild", "case": f"rebuild utilisation, {util_events:,} events",
         "rate_per_s": util_rate, "ratio": util_rate / library["events_per_s"], "target": ">= 20x per-event runner",
         "met": util_rate >= 20 * library["events_per_s"], "load": load},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="admin URL; a fresh schema is created (or --url to reuse a built store)")
    parser.add_argument("--url", help="reuse an existing store with a history instead of building one")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--baseline-limit", type=int, default=None,
                        help="stop the per-event runner after this many events (default: all)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the schema")
    args = parser.parse_args()
    url = args.url
    if url is None:
        from bench.common import fresh_url

        url = fresh_url(args.db, "/tmp")
        started = time.perf_counter()
        total = build_history(url, args.events)
        print(f"built {total} events in {time.perf_counter() - started:.1f}s at {url}", flush=True)
    result: dict[str, Any] = {"store": parse_database_url(url).kind}
    result["decoding"] = time_decoding(url)
    print(json.dumps(result["decoding"]), flush=True)
    result["rebuild"] = time_rebuilds(url)
    print(json.dumps(result["rebuild"], indent=1), flush=True)
    if not args.skip_baseline:
        result["library_per_event_runner"] = time_library_runner(url, args.baseline_limit)
        base = result["library_per_event_runner"]["events_per_s"]
        result["ratio_utilisation_vs_library"] = round(result["rebuild"]["utilisation"]["events_per_s"] / base, 1)
    print(json.dumps(result, indent=1))
    if not args.keep and args.url is None:
        from bench.common import drop_url

        drop_url(url)


if __name__ == "__main__":
    main()
