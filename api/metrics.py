"""``/metrics`` (Prometheus) and ``/ready`` (readiness): what an operator watches.

Each app has its own :class:`Metrics` (its own ``CollectorRegistry``, so two apps in one process,
as in the tests, never share or collide). The HTTP series are updated by
:class:`api.observability.Observe`, the group-commit counters by the ledger
(``Ledger.observe_group_commits``); under ``ledger serve --workers N`` these are kept in
``prometheus_client``'s multiprocess mode and every worker's add up (``server.supervisor``).
Everything else is measured **at scrape time** by :class:`LedgerCollector`, with cheap queries
only:

- the log head (``max_position()``, an index lookup) and each projection's tracking position (one
  row each): lag in events; lag in seconds is the age of the oldest event a projection has not
  processed (the event after its position: one indexed row read and decoded per projection that is
  behind; 0 when caught up). Ages come from the events' own timestamps, i.e. the ledger's clock;
- the audit chain's head (one row): chain lag in events;
- connection pools: ``get_stats()`` of the psycopg pools (the API store's and the event store's),
  ``num_in_use`` of the library's SQLite pool (which has no waiting count);
- idempotency keys still pending: a ``count(*)`` over the API's idempotency table (the one query
  here whose cost grows with the table: it has no index on ``state``).

A source that fails (the database is down) is reported as ``ledger_metrics_source_up{source=...} 0``
and its series are left out; once the log head cannot be read, the other database sources are
skipped, so a scrape during an outage costs one database timeout, not four.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from pydantic import BaseModel

from api.metrics_dir import multiprocess_metrics_directory
from api.problems import problem
from api.schemas.common import Problem
from api.services import Services
from storage.api_store import ApiStore

log = logging.getLogger("api")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The registry of one app: HTTP series (updated per request) and the scrape-time collector."""

    def __init__(self, services: Callable[[], Services | None]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("ledger_http_requests", "HTTP requests answered, by route template, method "
                                "and status", ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("ledger_http_request_duration_seconds", "Time to answer an HTTP request, by "
                                 "route template and method", ["route", "method"], buckets=LATENCY_BUCKETS,
                                 registry=self.registry)
        self.in_progress = Gauge("ledger_http_requests_in_progress", "HTTP requests being answered now",
                                 ["method"], registry=self.registry, multiprocess_mode="livesum")
        self.group_transactions = Counter("ledger_group_commit_transactions", "Transactions that saved several "
                                          "bookings of one GPU pool together (group commit)", registry=self.registry)
        self.group_bookings = Counter("ledger_group_commit_bookings", "Bookings saved by those transactions",
                                      registry=self.registry)
        self.collector = LedgerCollector(services)
        self.registry.register(self.collector)
        shared = multiprocess_metrics_directory()
        if shared is None:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
            self.exposed = self.registry
        else:
            # One of several workers (server.supervisor): the series above are also written to the
            # shared directory, and /metrics adds up every worker's from there. The process, GC
            # and platform series would describe only the worker that answered: left out.
            self.exposed = CollectorRegistry(auto_describe=True)
            MultiProcessCollector(self.exposed, path=shared)  # type: ignore[no-untyped-call]
            self.exposed.register(self.collector)

    def count_group_commit(self, saved: int) -> None:
        """One transaction saved ``saved`` bookings together (``Ledger.observe_group_commits``)."""
        self.group_transactions.inc()
        self.group_bookings.inc(saved)

    def exposition(self, accept: str) -> tuple[bytes, str]:
        """The registry in the format the ``Accept`` header asks for (Prometheus text by default)."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.exposed), content_type


# ---- what is measured -------------------------------------------------------------------------

@dataclass(frozen=True)
class Lag:
    """The log head and each projection's tracking position, read in that order."""

    head: int
    positions: dict[str, int]

    def events(self) -> dict[str, int]:
        return {name: max(0, self.head - position) for name, position in self.positions.items()}

    @property
    def worst(self) -> int:
        return max(self.events().values(), default=0)


def measure_lag(services: Services) -> Lag:
    from projections import PROJECTION_NAMES

    head = int(services.ledger.max_position() or 0)
    projections = services.readside.projections  # this thread's connection
    return Lag(head, {name: int(projections.position(name)) for name in PROJECTION_NAMES})


def oldest_unprocessed_age(services: Services, position: int, now: float) -> float:
    """Seconds since the timestamp of the first event after ``position`` (0 if there is none)."""
    ledger = services.ledger
    page = ledger.recorder.select_notifications(position, 1, inclusive_of_start=False)
    if not page:
        return 0.0
    moment = getattr(ledger.mapper.to_domain_event(page[0]), "timestamp", None)
    return max(0.0, now - moment.timestamp()) if moment is not None else 0.0


def pending_idempotency_keys(store: ApiStore) -> int:
    """Rows of the idempotency table still ``pending`` (a request running, or died mid-outage)."""
    statement = "SELECT count(*) FROM api_idempotency WHERE state = 'pending'"
    if store.config.is_postgres:
        with store.transaction() as tx:
            row = tx.one(statement)
        return int(row[0]) if row else 0
    # SQLite: a read-only connection of our own (the store's transactions take the write lock).
    uri = Path(store.config.sqlite_path).absolute().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=1.0)
    try:
        found = conn.execute(statement).fetchone()
    finally:
        conn.close()
    return int(found[0]) if found else 0


def pool_stats(services: Services) -> dict[str, dict[str, int]]:
    """``{pool: {in_use, waiting?, open?, max?}}`` for the pools that expose their numbers: the API
    store's psycopg pool (``api``) and the event store's (``ledger``: psycopg on PostgreSQL, the
    library's own pool on SQLite, which counts no waiters)."""
    pools: dict[str, Any] = {"api": getattr(services.store, "_pool", None),  # None until first used, and on SQLite
                             "ledger": getattr(getattr(services.ledger.recorder, "datastore", None), "pool", None)}
    found: dict[str, dict[str, int]] = {}
    for name, pool in pools.items():
        get_stats = getattr(pool, "get_stats", None)
        if callable(get_stats):  # psycopg_pool
            stats = get_stats()
            size, available = int(stats.get("pool_size", 0)), int(stats.get("pool_available", 0))
            found[name] = {"in_use": max(0, size - available), "waiting": int(stats.get("requests_waiting", 0)),
                           "open": size, "max": int(stats.get("pool_max", 0))}
        elif isinstance(getattr(pool, "num_in_use", None), int):  # eventsourcing's SQLite pool
            found[name] = {"in_use": int(pool.num_in_use)}
    return found


class LedgerCollector:
    """Gauges computed at scrape time from the open services (nothing before startup)."""

    SOURCES = ("log", "audit_chain", "idempotency", "pools")  # "log": the head and the projections

    def __init__(self, services: Callable[[], Services | None]) -> None:
        self.services = services
        self._chain: Any = None
        self._lock = threading.Lock()

    def describe(self) -> list[Metric]:
        return []  # the series depend on the store; nothing to collect at registration

    def _audit_chain(self, services: Services) -> Any:
        with self._lock:
            if self._chain is None or self._chain.store.ledger is not services.ledger:
                from projections.audit.chain import AuditChain

                self._chain = AuditChain(services.ledger)
            return self._chain

    def collect(self) -> Iterator[Metric]:
        services = self.services()
        if services is None:
            return
        up = GaugeMetricFamily("ledger_metrics_source_up", "1 if the source answered this scrape, else 0 "
                               "(its series are then left out)", labels=["source"])
        status: dict[str, int] = {}

        def attempt(source: str, measure: Callable[[], Iterator[Metric]]) -> Iterator[Metric]:
            try:
                metrics = list(measure())
            except Exception as error:
                log.warning("metrics: %s did not answer: %s", source, " ".join(str(error).split())[:200])
                status[source] = 0
                return iter(())
            status[source] = 1
            return iter(metrics)

        lag: list[Lag] = []

        def projections() -> Iterator[Metric]:
            lag.append(measure_lag(services))
            head = GaugeMetricFamily("ledger_log_head_position", "Position of the last event in the log")
            head.add_metric([], lag[0].head)
            yield head
            position = GaugeMetricFamily("ledger_projection_position", "Last log position a projection "
                                         "has processed", labels=["projection"])
            events = GaugeMetricFamily("ledger_projection_lag_events", "Events in the log a projection has "
                                       "not processed yet (head minus its position)", labels=["projection"])
            seconds = GaugeMetricFamily("ledger_projection_lag_seconds", "Age of the oldest event a projection "
                                        "has not processed (by the event's timestamp; 0 when caught up)",
                                        labels=["projection"])
            now = time.time()
            ages: dict[int, float] = {}
            for name, behind in lag[0].events().items():
                at = lag[0].positions[name]
                position.add_metric([name], at)
                events.add_metric([name], behind)
                if behind and at not in ages:
                    ages[at] = oldest_unprocessed_age(services, at, now)
                seconds.add_metric([name], ages.get(at, 0.0) if behind else 0.0)
            yield from (position, events, seconds)

        def audit_chain() -> Iterator[Metric]:
            chained = int(self._audit_chain(services).head().position)
            family = GaugeMetricFamily("ledger_audit_chain_lag_events", "Events in the log the audit hash "
                                       "chain has not linked yet (head minus the chain's head)")
            family.add_metric([], max(0, lag[0].head - chained))
            yield family

        def idempotency() -> Iterator[Metric]:
            family = GaugeMetricFamily("ledger_idempotency_keys_pending", "Idempotency keys claimed by a "
                                       "request that has not finished (or died within its lease)")
            family.add_metric([], pending_idempotency_keys(services.store))
            yield family

        def pools() -> Iterator[Metric]:
            stats = pool_stats(services)
            described = {"in_use": "Connections of the pool lent out now",
                         "waiting": "Requests waiting for a connection of the pool",
                         "open": "Connections the pool holds open", "max": "Most connections the pool may open"}
            names = {"in_use": "ledger_db_pool_connections_in_use", "waiting": "ledger_db_pool_requests_waiting",
                     "open": "ledger_db_pool_connections_open", "max": "ledger_db_pool_connections_max"}
            for key, help_text in described.items():
                family = GaugeMetricFamily(names[key], help_text, labels=["pool"])
                for pool, numbers in stats.items():
                    if key in numbers:
                        family.add_metric([pool], numbers[key])
                if family.samples:
                    yield family

        yield from attempt("log", projections)
        if status["log"]:  # the same database: when it does not answer, do not wait for it again
            yield from attempt("audit_chain", audit_chain)
            yield from attempt("idempotency", idempotency)
        yield from attempt("pools", pools)
        for source in self.SOURCES:
            up.add_metric([source], status.get(source, 0))
        yield up


# ---- the routes -------------------------------------------------------------------------------

class Ready(BaseModel):
    status: Literal["ready"]
    head: int
    max_lag_events: int
    lag_events: dict[str, int]


def metrics_route(request: Request) -> Response:
    """Prometheus text format (OpenMetrics when the ``Accept`` header asks for it)."""
    metrics: Metrics = request.app.state.metrics
    body, content_type = metrics.exposition(request.headers.get("accept", ""))
    return Response(body, media_type=content_type)


def ready_route(request: Request) -> Response:
    """Ready when the database answers and every projection is within the lag limit."""
    services: Services | None = getattr(request.app.state, "services", None)
    limit = request.app.state.ready_max_lag_events
    reasons: list[str] = []
    lag: Lag | None = None
    if services is None:
        reasons.append("the service is starting")
    else:
        try:
            lag = measure_lag(services)
        except Exception as error:
            log.warning("ready: the database did not answer: %s", " ".join(str(error).split())[:200])
            reasons.append(f"database: not answering ({type(error).__name__})")
    if lag is not None:
        behind = {name: n for name, n in lag.events().items() if n > limit}
        reasons += [f"projection {name}: {n} events behind (limit {limit})" for name, n in sorted(behind.items())]
    if reasons:
        extra: dict[str, Any] = {"reasons": reasons}
        if lag is not None:
            extra.update(head=lag.head, lag_events=lag.events(), max_lag_events=limit)
        return problem(503, "not-ready", "; ".join(reasons), instance=request.url.path,
                       headers={"Retry-After": "2"}, **extra)
    assert lag is not None
    body = Ready(status="ready", head=lag.head, max_lag_events=limit, lag_events=lag.events())
    return Response(body.model_dump_json(), media_type="application/json")


def install(app: FastAPI, metrics: Metrics, *, ready_max_lag_events: int) -> None:
    """Add ``/metrics`` and ``/ready`` (no auth, like ``/health``)."""
    app.state.metrics = metrics
    app.state.ready_max_lag_events = ready_max_lag_events
    app.add_api_route(
        "/metrics", metrics_route, methods=["GET"], tags=["health"], response_class=Response,
        summary="Prometheus metrics (no auth: bind or filter the port at the network)",
        responses={200: {"description": "Prometheus text exposition format",
                         "content": {"text/plain": {"schema": {"type": "string"}}}}})
    app.add_api_route(
        "/ready", ready_route, methods=["GET"], tags=["health"], response_model=Ready,
        summary="Readiness: the database answers and projection lag is under LEDGER_READY_MAX_LAG_EVENTS",
        responses={503: {"model": Problem, "description": "not ready (`not-ready`): the reasons are listed"}})
