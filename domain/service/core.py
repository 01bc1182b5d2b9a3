"""The ledger's plumbing: loading, saving, the one retry loop, and the readers.

Command families (``capacity``, ``tenancy``, ``billing``) extend :class:`LedgerCore`; the one
application, ``Ledger``, combines them. Every command is a unit of work (load, decide, save)
run by :meth:`LedgerCore._retrying`; one that changes a single aggregate is just
:meth:`LedgerCore._update`.
"""

from __future__ import annotations

import copy
import functools
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.aggregates import FundingRound, GpuPool, Invoice, Reservation, Site, SupplyOrder, Tenant, pool_id
from domain.aggregates.stamping import stamp
from domain.attachments import Attachment, AttachmentRefused, AttachmentTaken, CommandContext
from domain.checks import uuid_of
from domain.errors import ConcurrencyConflict, Conflict, InvalidInput, NotFound
from domain.reference import gpu_model
from domain.service.batching import Job, Queues
from domain.service.locks import CommandLock, StripedLocks
from domain.service.receipts import Written, system_clock
from domain.timeutil import UTC

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)

class LedgerCore(Application[UUID]):
    """Not an application of its own: the base the command families share (see ``Ledger``)."""

    max_attempts = 20
    # Jittered exponential backoff between attempts after the second: 1 ms, 2 ms, 4 ms, ...
    # up to 50 ms (each drawn from [half, all] of that). The first retry is immediate: the usual
    # loser is a stale cached copy, and the retry reloads it.
    backoff_first_seconds = 0.001
    backoff_max_seconds = 0.050

    def __init__(self, env: Mapping[str, str] | None = None, *, clock: Callable[[], datetime] = system_clock,
                 command_lock: CommandLock | None = None, group_commit: bool = True) -> None:
        super().__init__(env)
        self.clock = clock
        # Commands on the same pool from threads of one process queue on a striped lock
        # instead of racing and retrying; with a ``command_lock`` (PostgreSQL: an advisory
        # lock), the thread at the head of that queue then queues across processes.
        self._pool_locks = StripedLocks(64)
        self.command_lock = command_lock
        self._local = threading.local()
        self._sleep: Callable[[float], None] = time.sleep
        # Bookings queued on one pool share a transaction (domain/service/batching.py).
        self.group_commit = group_commit
        self._queues = Queues()

    def use_command_lock(self, command_lock: CommandLock | None) -> None:
        """Serialise commands on one pool across processes with ``command_lock`` (replacing,
        and closing, any earlier one). ``None``: within this process only."""
        previous, self.command_lock = self.command_lock, command_lock
        if previous is not None and previous is not command_lock:
            previous.close()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.command_lock is not None:
                self.command_lock.close()

    def now(self) -> datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise InvalidInput("clock returned a naive datetime")
        return moment.astimezone(UTC)

    def observe_group_commits(self, observer: Callable[[int], None]) -> Callable[[], None]:
        """Call ``observer(n)`` after each transaction that saved ``n > 1`` bookings together
        (``domain/service/batching.py``; /metrics counts them, across worker processes) until
        the function returned is called."""
        return self._queues.observe(observer)

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    # ---- readers --------------------------------------------------------------------------

    def get_site(self, site_id: object) -> Site:
        return self._get(Site, site_id, what="site", field="site_id")

    def get_funding_round(self, round_id: object) -> FundingRound:
        return self._get(FundingRound, round_id, what="funding round", field="funding_round_id")

    def get_supply_order(self, order_id: object) -> SupplyOrder:
        return self._get(SupplyOrder, order_id, what="supply order", field="supply_order_id")

    def get_pool(self, site_id: object, model: object, *, for_update: bool = False) -> GpuPool:
        site = uuid_of(site_id, field="site_id")
        code = gpu_model(model).code
        try:
            aggregate = self._load(pool_id(site, code), for_update)
        except AggregateNotFoundError:
            raise NotFound(f"site_id: no {code} GPUs have been commissioned at site {site}", field="site_id") from None
        assert isinstance(aggregate, GpuPool)
        return aggregate

    def get_tenant(self, tenant_id: object) -> Tenant:
        return self._get(Tenant, tenant_id, what="tenant", field="tenant_id")

    def get_reservation(self, reservation_id: object) -> Reservation:
        return self._get(Reservation, reservation_id, what="reservation", field="reservation_id")

    def get_invoice(self, invoice_ref: object) -> Invoice:
        return self._get(Invoice, invoice_ref, what="invoice", field="invoice_id")

    # ---- units of work --------------------------------------------------------------------

    def _get(self, cls: type[A], aggregate_id: object, *, what: str, field: str, for_update: bool = False) -> A:
        ident = uuid_of(aggregate_id, field=field)
        try:
            aggregate = self._load(ident, for_update)
        except AggregateNotFoundError:
            raise NotFound(f"{field}: no {what} with id {ident}", field=field) from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"{field}: no {what} with id {ident}", field=field)
        return aggregate

    def _load(self, ident: UUID, for_update: bool) -> object:
        """An aggregate this command will save: on the first attempt, a copy of the cached one
        without asking the database for newer events. That is safe because the save checks
        versions: if another process wrote meanwhile, the save conflicts and the retry reloads
        (``_local.retrying``). Aggregates only read (a tenant's suspension) always fast-forward,
        and so does everything a command loads while it holds a cross-process pool lock
        (``_local.shared``): other processes write that pool too, so a cached copy would be
        stale as often as not, and the lock guarantees the fresh copy wins."""
        cache = self.repository.cache
        if (for_update and cache is not None and not getattr(self._local, "retrying", False)
                and not getattr(self._local, "shared", False)):
            try:
                cached = cache.get(ident)
            except KeyError:
                pass
            else:
                return copy.deepcopy(cached)
        aggregate: object = self.repository.get(ident)
        return aggregate

    def _new_id(self, ident: object, *, field: str) -> UUID | None:
        """A caller's choice of id for a new aggregate (a scenario's derived id, ``ledger demo``):
        None (the library draws a uuid4), or a UUID no aggregate has yet (else Conflict)."""
        if ident is None:
            return None
        chosen = uuid_of(ident, field=field)
        if chosen in self.repository:
            raise Conflict(f"{field}: an aggregate with id {chosen} already exists", field=field)
        return chosen

    def _save(self, context: CommandContext, *aggregates: Aggregate) -> int | None:
        """Save in one transaction; with an attachment factory in the command's ``context``, its
        row goes into that transaction too (``domain/attachments.py``)."""
        made = stamp(self.now(), *aggregates)  # the ledger's clock (domain.aggregates.stamping)
        factory = context.attach
        if factory is None:
            recordings = self.save(*aggregates)
        else:
            events = tuple(event for aggregate in aggregates for event in aggregate.pending_events)
            recordings = self.save(*aggregates, attachments=(factory(context, aggregates, events),))
        self._cached(tuple(made.get(aggregate.id, aggregate) for aggregate in aggregates))
        return recordings[-1].notification.id if recordings else None

    def _cached(self, aggregates: tuple[Aggregate, ...]) -> None:
        cache = self.repository.cache
        if cache is not None:
            # The library leaves the cache to fast-forward on the next get; keep our own writes
            # in it so that the next command's first attempt starts from them.
            for aggregate in aggregates:
                cache.put(aggregate.id, aggregate)

    def _retrying(self, unit: Callable[[], T], *, pool: UUID | None = None) -> T:
        """Run ``unit`` (which loads, decides and saves) until its save wins the race.

        A save that loses (``IntegrityError``: another writer recorded a newer version first)
        records nothing; the next attempt reloads from the store instead of the cache, after a
        short jittered backoff from the third attempt on. After ``max_attempts`` lost races,
        :class:`ConcurrencyConflict`. With ``pool``, each attempt holds that pool's locks (see
        :meth:`_holding`): units on one pool run one at a time, and the locks are not held
        while backing off."""
        for attempt in range(self.max_attempts):
            if attempt > 1:
                self._backoff(attempt)
            self._local.retrying = attempt > 0
            try:
                with self._holding(pool):
                    return unit()
            except IntegrityError:
                continue
            finally:
                self._local.retrying = False
        raise ConcurrencyConflict(f"gave up after {self.max_attempts} concurrent-write conflicts; retry later")

    @contextmanager
    def _holding(self, pool: UUID | None) -> Iterator[None]:
        """The pool's in-process lock, then (if configured) its cross-process one: threads of
        one process queue here first, so each process waits on at most one cross-process lock
        per pool. Re-entrant per thread for the same pool; one pool at a time per thread."""
        held = getattr(self._local, "holding", None)
        if pool is None or held == pool:
            yield
            return
        if held is not None:
            raise RuntimeError(f"a command on pool {held} may not also lock pool {pool}")
        with self._pool_locks.hold(pool):
            self._local.holding = pool
            try:
                with self._shared(pool):
                    yield
            finally:
                self._local.holding = None

    @contextmanager
    def _shared(self, pool: UUID) -> Iterator[None]:
        """The pool's cross-process lock, if one is configured (the in-process one is held)."""
        if self.command_lock is None:
            yield
            return
        with self.command_lock.hold(pool):
            self._local.shared = True
            try:
                yield
            finally:
                self._local.shared = False

    # ---- group commit (domain/service/batching.py) ----------------------------------------

    def _booking(self, context: CommandContext, pool: UUID, decide: Callable[[GpuPool], Aggregate],
                 alone: Callable[[], Written]) -> Written:
        """A command on ``pool`` that ``decide``s on the loaded pool and returns the one aggregate
        it creates (saved with the pool), or runs ``alone`` (a unit of work, as ``_retrying``
        runs it). With group commit, the bookings queued on the pool meanwhile share one
        transaction; the outcome is the one running them alone, in queue order, gives."""
        if not self.group_commit or getattr(self._local, "holding", None) is not None:
            return self._retrying(alone, pool=pool)
        job: Job[Written] = Job(decide, alone, context)
        self._queues.join(pool, job)
        with self._pool_locks.hold(pool):
            self._local.holding = pool
            try:
                while not job.done:  # else a batch before this turn of the lock took it
                    self._run_batch(pool, self._queues.take(pool))
            finally:
                self._local.holding = None
        return job.outcome()

    def _run_batch(self, pool: UUID, jobs: list[Job[Any]]) -> None:
        """Settle every job of ``jobs`` (called holding the pool's in-process lock)."""
        try:
            with self._shared(pool):
                if len(jobs) > 1 and self._save_together(pool, jobs):
                    return
                for job in jobs:  # one at a time, in order: what the ledger does without group commit
                    job.settle(functools.partial(self._retrying, job.alone, pool=pool))
        except BaseException as error:  # the lock or the batch's save failed: no job may be left waiting
            for job in jobs:
                if not job.done:
                    job.fail(error)
            raise

    def _save_together(self, pool_id_: UUID, jobs: list[Job[Any]]) -> bool:
        """Decide ``jobs`` in order on one copy of the pool and save the accepted ones in one
        transaction. False (nothing recorded, no job settled) when they must run alone instead."""
        try:
            pool = self._load(pool_id_, for_update=True)
        except AggregateNotFoundError:
            return False  # each alone gives its own answer (no such site, no capacity)
        assert isinstance(pool, GpuPool)
        events: list[Any] = []  # the library's domain events, in the order saved
        accepted: list[tuple[Job[Any], Aggregate, int]] = []  # a job, what it created, its last event's index
        refused: list[tuple[Job[Any], BaseException]] = []
        attachments: list[Attachment] = []
        made: dict[UUID, Aggregate] = {}  # what the stamped events create, as a replay makes it (the cache's copies)
        for job in jobs:
            version = pool.version
            try:
                created = job.decide(pool)
            except Exception as error:
                if pool.version != version:
                    return False  # refused half-way through changing the pool: run each alone
                refused.append((job, error))
                continue
            made.update(stamp(self.now(), pool, created))
            own = (*pool.collect_events(), *created.collect_events())
            events.extend(own)
            last = len(events) - 1
            accepted.append((job, created, last))
            factory = job.command.attach
            if factory is not None:
                attachment = factory(job.command, (pool, created), own)
                attachment.last = last
                attachments.append(attachment)
        if accepted:
            try:
                recordings = self.save(*events, attachments=tuple(attachments))
            except (IntegrityError, AttachmentTaken, AttachmentRefused):
                return False  # nothing was recorded: each alone meets the conflict by itself
            except Exception:
                if any(a.failure is not None for a in attachments):
                    return False  # a result could not be made; the transaction was rolled back
                raise
            self._cached((pool, *(made.get(created.id, created) for _, created, _ in accepted)))
            self._queues.counted(len(accepted))
            for job, created, last in accepted:
                job.succeed(Written(created.id, recordings[last].notification.id))
        for job, refusal in refused:
            job.fail(refusal)
        return True

    def _backoff(self, attempt: int) -> None:
        """Sleep before ``attempt`` (2, 3, ...): 1 ms, 2 ms, 4 ms ... capped at 50 ms, jittered."""
        ceiling = min(self.backoff_max_seconds, self.backoff_first_seconds * 2 ** (attempt - 2))
        self._sleep(ceiling * random.uniform(0.5, 1.0))

    def _update(self, context: CommandContext, load: Callable[[], A], change: Callable[[A], object]) -> Written:
        """The common command: load one aggregate, ``change`` it, save it; retried on conflict."""
        def unit() -> Written:
            aggregate = load()
            change(aggregate)
            return Written(aggregate.id, self._save(context, aggregate))
        return self._retrying(unit)
