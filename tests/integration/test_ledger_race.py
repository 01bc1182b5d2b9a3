"""Racing for the last GPUs of a pool on PostgreSQL: never overbooked, every racer answered.

Ten threads released together by a barrier each try to reserve one of the last free GPUs of
one pool for the same hours, both through ONE shared ``Ledger`` (one process, one connection
pool) and through SEPARATE ``Ledger`` instances (separate connection pools and caches, as
separate API processes would be). Each racer must get a confirmation or InsufficientCapacity;
anything else (ConcurrencyConflict included: the retry budget exceeds the number of possible
winners, so giving up would be a bug) fails the test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from uuid import UUID

import pytest

from bootstrap import open_ledger
from domain import Ledger
from domain.errors import InsufficientCapacity
from domain.timeutil import hour_index
from tests.builders import SimClock, fleet, hour, reserve

RACERS = 10
IN_SERVICE = 12
FREE = 4
ROUNDS = 3


def race(ledger_for: Callable[[int], Ledger], tenant_id: UUID, site_id: UUID, model: str,
         start: int) -> list[object]:
    """Run RACERS threads reserving 1 GPU for hours [start, start + 6); return their outcomes."""
    barrier = threading.Barrier(RACERS)
    outcomes: list[object] = [None] * RACERS

    def racer(index: int) -> None:
        ledger = ledger_for(index)
        barrier.wait(timeout=30)
        try:
            outcomes[index] = ledger.confirm_reservation(tenant_id=tenant_id, site_id=site_id, model=model, gpus=1,
                                                         start=hour(start), end=hour(start + 6)).id
        except InsufficientCapacity:
            outcomes[index] = "refused"
        except BaseException as error:
            outcomes[index] = error

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return outcomes


def check_round(url: str, outcomes: list[object], site_id: UUID, model: str, start: int) -> None:
    failures = [o for o in outcomes if not (o == "refused" or isinstance(o, UUID))]
    assert not failures, f"racers got neither a confirmation nor InsufficientCapacity: {failures!r}"
    confirmed = [o for o in outcomes if isinstance(o, UUID)]
    assert len(confirmed) == FREE, f"{len(confirmed)} confirmations for {FREE} free GPUs"
    auditor = open_ledger(url, clock=SimClock())  # a fresh reader: nothing cached
    try:
        pool = auditor.get_pool(site_id, model)
        for h in range(start, start + 6):
            index = hour_index(hour(h))
            assert pool.booked[index] == IN_SERVICE, "overbooked or underbooked after the race"
            assert pool.booked[index] <= pool.in_service_at(index)
        assert all(auditor.get_reservation(r).gpus == 1 for r in confirmed)
    finally:
        auditor.close()


def prepared_pool(url: str, start: int) -> tuple[Ledger, object]:
    ledger = open_ledger(url, clock=SimClock())
    f = fleet(ledger, gpus=IN_SERVICE)
    for round_ in range(ROUNDS):
        reserve(f, IN_SERVICE - FREE, start + 10 * round_, start + 10 * round_ + 6)
    return ledger, f


@pytest.mark.postgres
def test_threads_sharing_one_ledger_never_overbook(postgres_url: str) -> None:
    ledger, f = prepared_pool(postgres_url, 10)
    try:
        for round_ in range(ROUNDS):
            start = 10 + 10 * round_
            outcomes = race(lambda _: ledger, f.tenant_id, f.site_id, f.model, start)  # type: ignore[attr-defined]
            check_round(postgres_url, outcomes, f.site_id, f.model, start)  # type: ignore[attr-defined]
    finally:
        ledger.close()


@pytest.mark.postgres
def test_separate_ledgers_racing_through_the_database_never_overbook(postgres_url: str) -> None:
    ledger, f = prepared_pool(postgres_url, 10)
    # Each Ledger keeps POSTGRES_POOL_SIZE connections open (10 by default): ten of them at the
    # defaults would exhaust a stock server's max_connections=100. A racer needs one.
    small_pool = {"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}
    racers = [open_ledger(postgres_url, clock=SimClock(), extra_env=small_pool) for _ in range(RACERS)]
    try:
        for racer in racers:  # warm each cache with the pool, so racers start from stale copies
            racer.get_pool(f.site_id, f.model)  # type: ignore[attr-defined]
        for round_ in range(ROUNDS):
            start = 10 + 10 * round_
            outcomes = race(lambda i: racers[i], f.tenant_id, f.site_id, f.model, start)  # type: ignore[attr-defined]
            check_round(postgres_url, outcomes, f.site_id, f.model, start)  # type: ignore[attr-defined]
    finally:
        for racer in racers:
            racer.close()
        ledger.close()
