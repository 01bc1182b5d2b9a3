"""Group commit (domain/service/batching.py): bookings queued on one pool share a transaction,
and each gets the outcome running them alone, in queue order, would give.

A batch is formed on purpose: the test holds the pool's in-process lock, starts the bookings
one by one (each joins the pool's queue before the next starts, so queue order is known), then
lets go. On SQLite and on PostgreSQL (with its cross-process pool lock).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import uuid4

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootstrap import open_ledger
from domain import Ledger
from domain.aggregates import pool_id
from domain.attachments import Attachment, AttachmentRefused, AttachmentTaken, CommandContext, Guard
from domain.errors import Conflict, InsufficientCapacity
from domain.service.receipts import Written
from domain.timeutil import hour_index
from storage.urls import conninfo, parse_database_url
from tests.builders import Fleet, SimClock, fleet, hour

IN_SERVICE = 6


@dataclass(frozen=True)
class Booking:
    gpus: int
    start: int  # hours after the example's first hour
    hours: int


Outcome = Written | BaseException


def queued_together(f: Fleet, calls: Sequence[Callable[[], Written]]) -> list[Outcome]:
    """Run ``calls`` (bookings on ``f``'s pool) queued behind the pool's lock, in this order."""
    ledger = f.ledger
    pool = pool_id(f.site_id, f.model)
    outcomes: list[Outcome | None] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            outcomes[index] = calls[index]()
        except BaseException as error:
            outcomes[index] = error

    threads = []
    with ledger._pool_locks.hold(pool):
        for index in range(len(calls)):
            thread = threading.Thread(target=run, args=(index,))
            thread.start()
            threads.append(thread)
            deadline = time.monotonic() + 30
            while len(ledger._queues._queues.get(pool, ())) < index + 1:  # joined the queue: next one
                assert thread.is_alive() and time.monotonic() < deadline, f"booking {index} never queued"
                time.sleep(0.001)
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a queued booking hung"
    return [outcome for outcome in outcomes if outcome is not None]


def alone(bookings: Sequence[Booking], first: int) -> tuple[list[bool], dict[int, int]]:
    """The model: which bookings a pool of IN_SERVICE GPUs accepts, one at a time, in order,
    and the GPUs booked per hour after them."""
    booked: dict[int, int] = {}
    accepted = []
    for b in bookings:
        hours = range(first + b.start, first + b.start + b.hours)
        fits = all(booked.get(h, 0) + b.gpus <= IN_SERVICE for h in hours)
        accepted.append(fits)
        if fits:
            for h in hours:
                booked[h] = booked.get(h, 0) + b.gpus
    return accepted, booked


def booking_call(f: Fleet, b: Booking, first: int, **kwargs: object) -> Callable[..., Written]:
    """A booking (more keyword arguments, e.g. ``context``, may be given when it is called)."""
    return lambda **more: f.ledger.confirm_reservation(
        tenant_id=f.tenant_id, site_id=f.site_id, model=f.model, gpus=b.gpus,
        start=hour(first + b.start), end=hour(first + b.start + b.hours), **kwargs, **more)


@pytest.fixture
def pool_fleet(database_url: str) -> Iterator[Fleet]:
    ledger = open_ledger(database_url, clock=SimClock())
    try:
        yield fleet(ledger, gpus=IN_SERVICE)
    finally:
        ledger.close()


def watch(ledger: Ledger) -> list[int]:
    """The size of every transaction that saves several bookings from now on (what /metrics counts)."""
    saves: list[int] = []
    ledger.observe_group_commits(saves.append)
    return saves


EXAMPLE_HOURS = 16
examples = iter(range(1, 10_000))  # each example books hours of its own


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bookings=st.lists(st.builds(Booking, gpus=st.integers(1, 4), start=st.integers(0, 8),
                                   hours=st.integers(1, 6)), min_size=2, max_size=8))
def test_a_batch_gives_each_booking_what_running_them_alone_in_order_gives(
        pool_fleet: Fleet, database_url: str, bookings: list[Booking]) -> None:
    f, ledger = pool_fleet, pool_fleet.ledger
    first = 24 + next(examples) * EXAMPLE_HOURS
    accepted, booked = alone(bookings, first)
    batches = watch(ledger)

    outcomes = queued_together(f, [booking_call(f, b, first) for b in bookings])

    for b, ok, outcome in zip(bookings, accepted, outcomes, strict=True):
        if ok:
            assert isinstance(outcome, Written), f"{b} fits, yet: {outcome!r}"
        else:
            assert isinstance(outcome, InsufficientCapacity), f"{b} does not fit, yet: {outcome!r}"
            assert outcome.field == "gpus"
    written = [o for o in outcomes if isinstance(o, Written)]
    assert len(batches) == (1 if len(written) > 1 else 0), "the bookings did not share a save"
    positions = [w.position for w in written]
    assert positions == sorted(positions) and len(set(positions)) == len(positions), "positions out of queue order"
    if written:
        assert positions[-1] == ledger.max_position()

    auditor = open_ledger(database_url, clock=SimClock())  # a fresh reader: nothing cached
    try:
        pool = auditor.get_pool(f.site_id, f.model)
        for h in range(first, first + EXAMPLE_HOURS):
            assert pool.booked.get(hour_index(hour(h)), 0) == booked.get(h, 0), f"hour {h}: wrong GPUs booked"
        for b, w in zip([b for b, ok in zip(bookings, accepted, strict=True) if ok], written, strict=True):
            reservation = auditor.get_reservation(w.id)
            assert (reservation.gpus, reservation.start, reservation.end) == (
                b.gpus, hour(first + b.start), hour(first + b.start + b.hours))
            # the booking's position is its own last event's: the reservation's creation
            assert w.position is not None
            notification = auditor.recorder.select_notifications(w.position, 1)[0]
            assert (notification.id, notification.originator_id) == (w.position, w.id)
    finally:
        auditor.close()


def test_a_conflict_in_the_batch_runs_each_booking_alone(pool_fleet: Fleet) -> None:
    f, ledger = pool_fleet, pool_fleet.ledger
    taken = uuid4()
    ledger.confirm_reservation(tenant_id=f.tenant_id, site_id=f.site_id, model=f.model, gpus=1, start=hour(30),
                               end=hour(31), reservation_id=taken)
    batches = watch(ledger)
    one = Booking(gpus=1, start=0, hours=2)

    outcomes = queued_together(f, [booking_call(f, one, 40), booking_call(f, one, 40, reservation_id=taken),
                                   booking_call(f, one, 40)])

    assert isinstance(outcomes[0], Written) and isinstance(outcomes[2], Written), outcomes
    assert isinstance(outcomes[1], Conflict) and outcomes[1].field == "reservation_id"
    assert not batches, "a batch that conflicted was saved"
    pool = ledger.get_pool(f.site_id, f.model)
    assert pool.booked[hour_index(hour(40))] == 2, "the two others are booked, the conflicting one is not"


# ---- attachments: one row per booking, each with its own booking's position --------------

@contextmanager
def key_table(url: str) -> Iterator[Callable[[], dict[str, int]]]:
    """A table ``group_keys`` (key, position) in the event store's database; yields a reader."""
    config = parse_database_url(url)
    ddl = "CREATE TABLE IF NOT EXISTS group_keys (key TEXT PRIMARY KEY, position BIGINT NOT NULL)"
    if config.is_postgres:
        def read() -> dict[str, int]:
            with psycopg.connect(conninfo(config), options=f"-c search_path={config.schema}") as conn:
                return {str(k): int(p) for k, p in conn.execute("SELECT key, position FROM group_keys")}
        with psycopg.connect(conninfo(config), options=f"-c search_path={config.schema}") as conn:
            conn.execute(ddl)
    else:
        def read() -> dict[str, int]:
            with sqlite3.connect(config.sqlite_path) as conn:
                return {str(k): int(p) for k, p in conn.execute("SELECT key, position FROM group_keys")}
        with sqlite3.connect(config.sqlite_path) as conn:
            conn.execute(ddl)
    yield read


def attached(call: Callable[..., Written], table: str, row: dict[str, object],
             guard: Guard | None = None) -> Callable[[], Written]:
    """``call`` with a row of ``table`` (``row`` and the log position) saved in its transaction:
    the factory travels in the command's context."""
    def factory(context: CommandContext, aggregates: Sequence[object], events: Sequence[object]) -> Attachment:
        assert len(events) == 2, "a booking's own events: the pool's and the reservation's"
        return Attachment(table, lambda position: {**row, "position": position}, guard=guard)

    return lambda: call(context=CommandContext(attach=factory))


def keyed(call: Callable[[], Written], key: str) -> Callable[[], Written]:
    """``call`` with an attachment row (key, position) saved in its transaction."""
    return attached(call, "group_keys", {"key": key})


def test_each_booking_of_a_batch_saves_its_own_attachment(pool_fleet: Fleet, database_url: str) -> None:
    f, ledger = pool_fleet, pool_fleet.ledger
    one = Booking(gpus=1, start=0, hours=1)
    with key_table(database_url) as rows:
        batches = watch(ledger)
        outcomes = queued_together(f, [keyed(booking_call(f, one, 50), f"k{i}") for i in range(4)])
        assert all(isinstance(o, Written) for o in outcomes), outcomes
        assert len(batches) == 1
        assert rows() == {f"k{i}": o.position for i, o in enumerate(outcomes) if isinstance(o, Written)}


def test_a_key_taken_within_the_batch_falls_back_and_only_the_duplicate_fails(pool_fleet: Fleet,
                                                                              database_url: str) -> None:
    f, ledger = pool_fleet, pool_fleet.ledger
    one = Booking(gpus=1, start=0, hours=1)
    with key_table(database_url) as rows:
        batches = watch(ledger)
        outcomes = queued_together(f, [keyed(booking_call(f, one, 60), "same"),
                                       keyed(booking_call(f, one, 60), "same"),
                                       keyed(booking_call(f, one, 60), "other")])
        first, duplicate, other = outcomes
        assert isinstance(first, Written) and isinstance(other, Written), outcomes
        assert isinstance(duplicate, AttachmentTaken)
        assert not batches, "the batch with a taken key was saved"
        assert rows() == {"same": first.position, "other": other.position}
        assert ledger.get_pool(f.site_id, f.model).booked[hour_index(hour(60))] == 2


def test_without_group_commit_every_booking_saves_alone(pool_fleet: Fleet) -> None:
    f, ledger = pool_fleet, pool_fleet.ledger
    ledger.group_commit = False
    batches = watch(ledger)
    one = Booking(gpus=1, start=0, hours=1)
    refusals: list[BaseException] = []

    def book() -> None:
        try:
            booking_call(f, one, 70)()
        except InsufficientCapacity as error:
            refusals.append(error)

    threads = [threading.Thread(target=book) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not batches
    assert ledger.get_pool(f.site_id, f.model).booked[hour_index(hour(70))] == IN_SERVICE
    assert len(refusals) == 8 - IN_SERVICE


def test_a_guard_refused_within_the_batch_fails_only_its_own_booking(pool_fleet: Fleet, database_url: str) -> None:
    """A booking whose attachment's guard finds no row (a revoked token, in the API) rolls back
    the batch; run alone, only that booking is refused (AttachmentRefused), the others book."""
    f, ledger = pool_fleet, pool_fleet.ledger
    one = Booking(gpus=1, start=0, hours=1)
    config = parse_database_url(database_url)
    ddl = ["CREATE TABLE IF NOT EXISTS vouchers (name TEXT PRIMARY KEY, revoked_at TEXT)",
           "INSERT INTO vouchers (name, revoked_at) VALUES ('good', NULL), ('revoked', 'yesterday')",
           "CREATE TABLE IF NOT EXISTS vouched (key TEXT PRIMARY KEY, voucher TEXT NOT NULL, position BIGINT)"]
    if config.is_postgres:
        with psycopg.connect(conninfo(config), options=f"-c search_path={config.schema}") as conn:
            for statement in ddl:
                conn.execute(statement)
    else:
        with sqlite3.connect(config.sqlite_path) as conn:
            for statement in ddl:
                conn.execute(statement)
    guard = Guard(column="voucher", table="vouchers", key="name", unset="revoked_at")

    def vouched(call: Callable[[], Written], key: str, voucher: str) -> Callable[[], Written]:
        return attached(call, "vouched", {"key": key, "voucher": voucher}, guard)

    batches = watch(ledger)
    outcomes = queued_together(f, [vouched(booking_call(f, one, 80), "a", "good"),
                                   vouched(booking_call(f, one, 80), "b", "revoked"),
                                   vouched(booking_call(f, one, 80), "c", "good")])
    assert isinstance(outcomes[0], Written) and isinstance(outcomes[2], Written), outcomes
    assert isinstance(outcomes[1], AttachmentRefused), outcomes
    assert not batches, "a batch with a refused guard was saved"
    assert ledger.get_pool(f.site_id, f.model).booked[hour_index(hour(80))] == 2
