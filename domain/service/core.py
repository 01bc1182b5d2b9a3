"""The ledger's plumbing: loading, saving, the one retry loop, and the readers.

Command families (``capacity``, ``tenancy``, ``billing``) extend :class:`LedgerCore`; the one
application, ``Ledger``, combines them. Every command is a unit of work (load, decide, save)
run by :meth:`LedgerCore._retrying`; one that changes a single aggregate is just
:meth:`LedgerCore._update`.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.aggregates import FundingRound, GpuPool, Invoice, Reservation, Site, SupplyOrder, Tenant, pool_id
from domain.checks import uuid_of
from domain.errors import ConcurrencyConflict, InvalidInput, NotFound
from domain.reference import gpu_model
from domain.service.receipts import Written, system_clock
from domain.timeutil import UTC

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)


class LedgerCore(Application[UUID]):
    """Not an application of its own: the base the command families share (see ``Ledger``)."""

    max_attempts = 20

    def __init__(self, env: Mapping[str, str] | None = None, *, clock: Callable[[], datetime] = system_clock) -> None:
        super().__init__(env)
        self.clock = clock
        # Commands on the same pool from threads of one process queue on a striped lock
        # instead of racing and retrying; across processes optimistic concurrency still rules.
        self._pool_locks = [threading.Lock() for _ in range(64)]
        self._local = threading.local()

    def now(self) -> datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise InvalidInput("clock returned a naive datetime")
        return moment.astimezone(UTC)

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
        (``_local.retrying``). Aggregates only read (a tenant's suspension) always fast-forward."""
        cache = self.repository.cache
        if for_update and cache is not None and not getattr(self._local, "retrying", False):
            try:
                cached = cache.get(ident)
            except KeyError:
                pass
            else:
                return copy.deepcopy(cached)
        aggregate: object = self.repository.get(ident)
        return aggregate

    def _save(self, *aggregates: Aggregate) -> int | None:
        recordings = self.save(*aggregates)
        cache = self.repository.cache
        if cache is not None:
            # The library leaves the cache to fast-forward on the next get; keep our own writes
            # in it so that the next command's first attempt starts from them.
            for aggregate in aggregates:
                cache.put(aggregate.id, aggregate)
        return recordings[-1].notification.id if recordings else None

    def _retrying(self, unit: Callable[[], T], *, pool: UUID | None = None) -> T:
        """Run ``unit`` (which loads, decides and saves) until its save wins the race.

        A save that loses (``IntegrityError``: another writer recorded a newer version first)
        records nothing; the next attempt reloads from the store instead of the cache. After
        ``max_attempts`` lost races, :class:`ConcurrencyConflict`. With ``pool``, units on that
        pool from this process run one at a time."""
        if pool is not None:
            with self._pool_locks[pool.int % len(self._pool_locks)]:
                return self._retrying(unit)
        for attempt in range(self.max_attempts):
            self._local.retrying = attempt > 0
            try:
                return unit()
            except IntegrityError:
                continue
            finally:
                self._local.retrying = False
        raise ConcurrencyConflict(f"gave up after {self.max_attempts} concurrent-write conflicts; retry later")

    def _update(self, load: Callable[[], A], change: Callable[[A], object]) -> Written:
        """The common command: load one aggregate, ``change`` it, save it; retried on conflict."""
        def unit() -> Written:
            aggregate = load()
            change(aggregate)
            return Written(aggregate.id, self._save(aggregate))
        return self._retrying(unit)
