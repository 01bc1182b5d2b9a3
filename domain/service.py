"""The ledger application service: one method per command, get -> call -> save.

One eventsourcing ``Application`` holds every aggregate, so the whole history is one totally
ordered notification log (the auditors' log). A command that changes several aggregates saves
them in one ``save(a, b)``: atomic, with optimistic concurrency on each aggregate's version.
When another writer wins the race, the command reloads and retries (``max_attempts``), then
reports :class:`ConcurrencyConflict`. Every command returns a :class:`Written` receipt with the
log position of its last event, for read-your-writes.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.aggregates import FundingRound, GpuPool, Invoice, Reservation, Site, SupplyOrder, Tenant, invoice_id, pool_id
from domain.aggregates.reservation import check_gpus, check_window
from domain.checks import text, uuid_of
from domain.errors import (
    ConcurrencyConflict, Conflict, InsufficientCapacity, InvalidInput, InvoiceAlreadyIssued, LedgerError, NotFound,
    TenantSuspended,
)
from domain.money import check_rate, check_signed_amount
from domain.reference import gpu_model
from domain.storage import StoreConfig, parse_database_url
from domain.timeutil import UTC, check_utc, hour_start, hour_index

T = TypeVar("T")
A = TypeVar("A")

MONTH_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_USAGE_BATCH = 20_000  # one transaction; larger batches were measured to stall the psycopg pipeline


@dataclass(frozen=True)
class Written:
    """What a command returns: the id it acted on and the log position of its last event
    (``None`` when it recorded nothing, e.g. an idempotent usage retry)."""

    id: UUID
    position: int | None


@dataclass(frozen=True)
class UsageRecord:
    """GPU-hours used by a reservation in the hour starting at ``hour``; ``record_id`` makes a
    retried record harmless."""

    record_id: UUID
    reservation_id: UUID
    hour: datetime
    gpu_hours: Decimal


@dataclass(frozen=True)
class UsageReceipt:
    recorded: int
    duplicates: int
    position: int | None


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


class Ledger(Application):
    """The system of record. Construct with ``Ledger.open(url)`` or ``Ledger(env=...)``."""

    name = "Ledger"
    env = {"AGGREGATE_CACHE_MAXSIZE": "5000", "COMPRESSOR_TOPIC": ""}
    max_attempts = 20

    def __init__(self, env: Mapping[str, str] | None = None, *, clock: Callable[[], datetime] = system_clock) -> None:
        super().__init__(env)
        self.clock = clock
        # Commands on the same pool from threads of one process queue on a striped lock
        # instead of racing and retrying; across processes optimistic concurrency still rules.
        self._pool_locks = [threading.Lock() for _ in range(64)]
        self._local = threading.local()

    @classmethod
    def open(cls, url: str | None = None, *, clock: Callable[[], datetime] = system_clock,
             extra_env: Mapping[str, str] | None = None) -> Ledger:
        """Open the ledger on a SQLite path or a ``postgresql://`` URL (creating tables)."""
        config = parse_database_url(url)
        env = dict(config.event_store_env())
        env.update(extra_env or {})
        ledger = cls(env, clock=clock)
        ledger.store_config = config
        return ledger

    store_config: StoreConfig = StoreConfig(kind="memory")

    # ---- plumbing -------------------------------------------------------------------------

    def now(self) -> datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise InvalidInput("clock returned a naive datetime")
        return moment.astimezone(UTC)

    def _get(self, cls: type[A], aggregate_id: object, *, what: str, field: str, for_update: bool = False) -> A:
        ident = uuid_of(aggregate_id, field=field)
        try:
            aggregate = self._load(ident, for_update)
        except AggregateNotFoundError:
            raise NotFound(f"{field}: no {what} with id {ident}", field=field) from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"{field}: no {what} with id {ident}", field=field)
        return aggregate

    def _load(self, ident: UUID, for_update: bool) -> Any:
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
        return self.repository.get(ident)

    def _save(self, *aggregates: Any) -> int | None:
        recordings = self.save(*aggregates)
        cache = self.repository.cache
        if cache is not None:
            # The library leaves the cache to fast-forward on the next get; keep our own writes
            # in it so that the next command's first attempt starts from them.
            for aggregate in aggregates:
                cache.put(aggregate.id, aggregate)
        return recordings[-1].notification.id if recordings else None

    def _retrying(self, command: Callable[[], T], *, pool: UUID | None = None) -> T:
        """Run ``command`` (which loads, decides and saves) until it wins the race. With
        ``pool``, commands on that pool from this process run one at a time."""
        if pool is not None:
            with self._pool_locks[pool.int % len(self._pool_locks)]:
                return self._retrying(command)
        for attempt in range(self.max_attempts):
            self._local.retrying = attempt > 0
            try:
                return command()
            except IntegrityError:
                continue
            finally:
                self._local.retrying = False
        raise ConcurrencyConflict(f"gave up after {self.max_attempts} concurrent-write conflicts; retry later")

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    # ---- sites ----------------------------------------------------------------------------

    def register_site(self, *, name: object, country: object, grid_intensity_g_per_kwh: object, pue: object,
                      carbon_free_share: object, effective_from: object, factor_source: object = "operator") -> Written:
        site = Site.register(name=name, country=country, grid_intensity_g_per_kwh=grid_intensity_g_per_kwh,
                             pue=pue, carbon_free_share=carbon_free_share, effective_from=effective_from,
                             factor_source=factor_source)
        return Written(site.id, self._save(site))

    def revise_site(self, site_id: object, *, effective_from: object, grid_intensity_g_per_kwh: object, pue: object,
                    carbon_free_share: object, factor_source: object = "operator") -> Written:
        def command() -> Written:
            site = self._get(Site, site_id, what="site", field="site_id")
            site.revise(effective_from=effective_from, grid_intensity_g_per_kwh=grid_intensity_g_per_kwh, pue=pue,
                        carbon_free_share=carbon_free_share, factor_source=factor_source)
            return Written(site.id, self._save(site))
        return self._retrying(command)

    def get_site(self, site_id: object) -> Site:
        return self._get(Site, site_id, what="site", field="site_id")

    # ---- funding --------------------------------------------------------------------------

    def open_funding_round(self, *, name: object, currency: object, opened_at: object) -> Written:
        funding_round = FundingRound.open(name=name, currency=currency, opened_at=opened_at)
        return Written(funding_round.id, self._save(funding_round))

    def record_commitment(self, round_id: object, *, investor: object, amount: object, currency: object,
                          equity_percent: object = Decimal(0)) -> Written:
        def command() -> Written:
            funding_round = self.get_funding_round(round_id)
            funding_round.commit(investor=investor, amount=amount, currency=currency, equity_percent=equity_percent)
            return Written(funding_round.id, self._save(funding_round))
        return self._retrying(command)

    def record_tranche(self, round_id: object, *, investor: object, amount: object, currency: object,
                       received_at: object) -> Written:
        def command() -> Written:
            funding_round = self.get_funding_round(round_id)
            funding_round.receive(investor=investor, amount=amount, currency=currency, received_at=received_at)
            return Written(funding_round.id, self._save(funding_round))
        return self._retrying(command)

    def get_funding_round(self, round_id: object) -> FundingRound:
        return self._get(FundingRound, round_id, what="funding round", field="funding_round_id")

    # ---- supply ---------------------------------------------------------------------------

    def place_supply_order(self, *, funding_round_id: object, site_id: object, model: object, quantity: object,
                           unit_price: object, currency: object, placed_at: object,
                           supplier: object = "NVIDIA") -> Written:
        """Place an order paid from a round: the order and the round's capex commitment are
        saved together, and refused if the round has not received enough uncommitted funds."""
        code = gpu_model(model).code
        qty, price, cur = SupplyOrder.check_terms(quantity=quantity, unit_price=unit_price, currency=currency)
        when = check_utc(placed_at, field="placed_at")
        supplier_name = text(supplier, field="supplier")
        site = self.get_site(site_id)

        def command() -> Written:
            funding_round = self.get_funding_round(funding_round_id)
            if funding_round.currency != cur:
                raise InvalidInput(f"currency: the order is in {cur} but round {funding_round.name!r} is in "
                                   f"{funding_round.currency}", field="currency")
            order = SupplyOrder(funding_round.id, site.id, code, qty, price, cur, when, supplier_name)
            funding_round.commit_capex(supply_order_id=order.id, amount=order.total)
            return Written(order.id, self._save(order, funding_round))
        return self._retrying(command)

    def record_delivery(self, order_id: object, *, quantity: object, delivered_at: object) -> Written:
        def command() -> Written:
            order = self.get_supply_order(order_id)
            order.deliver(quantity=quantity, delivered_at=delivered_at)
            return Written(order.id, self._save(order))
        return self._retrying(command)

    def commission(self, order_id: object, *, quantity: object, commissioned_at: object) -> Written:
        """Put delivered GPUs into service in the order's site pool (order + pool, atomically)."""
        def command() -> Written:
            order = self.get_supply_order(order_id)
            qty, when = order.commission(quantity=quantity, commissioned_at=commissioned_at)
            pool = self._pool_or_new(order.site_id, order.model)
            pool.commission(quantity=qty, at=when, supply_order_id=order.id)
            return Written(order.id, self._save(order, pool))
        return self._retrying(command)

    def decommission(self, *, site_id: object, model: object, quantity: object, at: object, reason: object) -> Written:
        """Take GPUs out of service (failure, retirement); refused if it would overbook."""
        def command() -> Written:
            pool = self.get_pool(site_id, model)
            pool.decommission(quantity=quantity, at=at, reason=reason)
            return Written(pool.id, self._save(pool))
        return self._retrying(command)

    def get_supply_order(self, order_id: object) -> SupplyOrder:
        return self._get(SupplyOrder, order_id, what="supply order", field="supply_order_id")

    def _pool_or_new(self, site_id: UUID, model: str) -> GpuPool:
        try:
            return self.get_pool(site_id, model)
        except NotFound:
            return GpuPool(site_id=site_id, model=model)

    def get_pool(self, site_id: object, model: object, *, for_update: bool = False) -> GpuPool:
        site = uuid_of(site_id, field="site_id")
        code = gpu_model(model).code
        try:
            aggregate = self._load(pool_id(site, code), for_update)
        except AggregateNotFoundError:
            raise NotFound(f"site_id: no {code} GPUs have been commissioned at site {site}", field="site_id") from None
        assert isinstance(aggregate, GpuPool)
        return aggregate

    # ---- tenants --------------------------------------------------------------------------

    def register_tenant(self, *, name: object, billing_currency: object, rates: object,
                        cancellation_fee_share: object = Decimal("0.25")) -> Written:
        tenant = Tenant.register(name=name, billing_currency=billing_currency, rates=rates,
                                 cancellation_fee_share=cancellation_fee_share)
        return Written(tenant.id, self._save(tenant))

    def change_plan(self, tenant_id: object, *, rates: object, cancellation_fee_share: object) -> Written:
        def command() -> Written:
            tenant = self.get_tenant(tenant_id)
            tenant.change_plan(rates=rates, cancellation_fee_share=cancellation_fee_share)
            return Written(tenant.id, self._save(tenant))
        return self._retrying(command)

    def suspend_tenant(self, tenant_id: object, *, reason: object) -> Written:
        def command() -> Written:
            tenant = self.get_tenant(tenant_id)
            tenant.suspend(reason=reason)
            return Written(tenant.id, self._save(tenant))
        return self._retrying(command)

    def reinstate_tenant(self, tenant_id: object) -> Written:
        def command() -> Written:
            tenant = self.get_tenant(tenant_id)
            tenant.reinstate()
            return Written(tenant.id, self._save(tenant))
        return self._retrying(command)

    def get_tenant(self, tenant_id: object) -> Tenant:
        return self._get(Tenant, tenant_id, what="tenant", field="tenant_id")

    # ---- reservations ---------------------------------------------------------------------

    def confirm_reservation(self, *, tenant_id: object, site_id: object, model: object, gpus: object,
                            start: object, end: object, rate_per_gpu_hour: object = None,
                            reservation_id: UUID | None = None) -> Written:
        """Book ``gpus`` of ``model`` at a site for [start, end) and lock the rate (the tenant's
        plan rate unless one is negotiated). Pool and reservation are saved together; refused
        with InsufficientCapacity if any hour lacks free GPUs."""
        count = check_gpus(gpus)
        window_start, window_end = check_window(start, end)
        code = gpu_model(model).code
        site = uuid_of(site_id, field="site_id")
        if rate_per_gpu_hour is not None:
            rate_override: Decimal | None = check_rate(rate_per_gpu_hour, field="rate_per_gpu_hour")
        else:
            rate_override = None

        def command() -> Written:
            if reservation_id is not None and reservation_id in self.repository:
                raise Conflict(f"reservation_id: a reservation with id {reservation_id} already exists",
                               field="reservation_id")
            tenant = self.get_tenant(tenant_id)
            if tenant.suspended:
                raise TenantSuspended(f"tenant_id: tenant {tenant.name!r} is suspended and cannot reserve", field="tenant_id")
            rate = rate_override if rate_override is not None else tenant.rate_for(code)
            try:
                pool = self.get_pool(site, code, for_update=True)
            except NotFound:
                self.get_site(site)
                raise InsufficientCapacity(f"gpus: insufficient capacity: no {code} GPUs in service at site {site}",
                                           field="gpus") from None
            # _create, not Reservation(...): the @event-decorated __init__ takes no ``id``, so a
            # caller-chosen id (an idempotent retry) can only be given to the library's factory.
            reservation = Reservation._create(
                Reservation.Confirmed, id=reservation_id, tenant_id=tenant.id, pool_id=pool.id, site_id=site,
                model=code, gpus=count, start=window_start, end=window_end, rate_per_gpu_hour=rate,
                currency=tenant.billing_currency, cancellation_fee_share=tenant.cancellation_fee_share,
                confirmed_at=self.now())
            pool.book(reservation_id=reservation.id, start=window_start, end=window_end, gpus=count)
            return Written(reservation.id, self._save(pool, reservation))
        return self._retrying(command, pool=pool_id(site, code))

    def extend_reservation(self, reservation_id: object, *, end: object) -> Written:
        def command() -> Written:
            reservation = self._get(Reservation, reservation_id, what="reservation", field="reservation_id",
                                    for_update=True)
            previous_end, new_end = reservation.extend(new_end=end, now=self.now())
            pool = self._get(GpuPool, reservation.pool_id, what="pool", field="pool_id", for_update=True)
            pool.book(reservation_id=reservation.id, start=previous_end, end=new_end, gpus=reservation.gpus)
            return Written(reservation.id, self._save(pool, reservation))
        return self._retrying(command, pool=self._pool_of(reservation_id))

    def cancel_reservation(self, reservation_id: object) -> Written:
        """Release the hours from the next whole hour on and charge the locked fee share."""
        def command() -> Written:
            reservation = self._get(Reservation, reservation_id, what="reservation", field="reservation_id",
                                    for_update=True)
            released_from, released_until = reservation.cancel(now=self.now())
            pool = self._get(GpuPool, reservation.pool_id, what="pool", field="pool_id", for_update=True)
            pool.release(reservation_id=reservation.id, start=released_from, end=released_until,
                         gpus=reservation.gpus)
            return Written(reservation.id, self._save(pool, reservation))
        return self._retrying(command, pool=self._pool_of(reservation_id))

    def get_reservation(self, reservation_id: object) -> Reservation:
        return self._get(Reservation, reservation_id, what="reservation", field="reservation_id")

    def _pool_of(self, reservation_id: object) -> UUID:
        """The reservation's pool, to pick the lock: fixed at confirmation, so the cached copy
        serves and the command itself does the only up-to-date load."""
        reservation = self._get(Reservation, reservation_id, what="reservation", field="reservation_id",
                                for_update=True)
        return reservation.pool_id

    # ---- usage ----------------------------------------------------------------------------

    def record_usage(self, records: Sequence[UsageRecord | Mapping[str, object]]) -> UsageReceipt:
        """Record a batch of per-hour usage in one transaction: all or nothing. A record whose
        id was already recorded with the same values is skipped (counted as a duplicate)."""
        if not records:
            raise InvalidInput("records: the batch is empty", field="records")
        if len(records) > MAX_USAGE_BATCH:
            raise InvalidInput(f"records: at most {MAX_USAGE_BATCH} records per batch", field="records")
        parsed = [self._usage_record(r, i) for i, r in enumerate(records)]

        def command() -> UsageReceipt:
            now = self.now()
            reservations: dict[UUID, Reservation] = {}
            staged: dict[UUID, dict[int, list[str]]] = {}
            recorded = duplicates = 0
            for index, record in enumerate(parsed):
                reservation = reservations.get(record.reservation_id)
                if reservation is None:
                    try:
                        reservation = self._get(Reservation, record.reservation_id, what="reservation",
                                                field="reservation_id", for_update=True)
                    except LedgerError as error:
                        raise type(error)(f"records[{index}].{error.message}", field=f"records[{index}].reservation_id") from None
                    reservations[record.reservation_id] = reservation
                    staged[record.reservation_id] = {}
                try:
                    if reservation.stage_usage(staged[record.reservation_id], record_id=record.record_id,
                                               hour=record.hour, gpu_hours=record.gpu_hours, now=now):
                        recorded += 1
                    else:
                        duplicates += 1
                except LedgerError as error:
                    raise type(error)(f"records[{index}].{error.message}", field=f"records[{index}].{error.field}") from None
            for reservation_id, reservation in reservations.items():
                reservation.record_staged_usage(staged[reservation_id])
            position = self._save(*reservations.values()) if recorded else None
            return UsageReceipt(recorded, duplicates, position)
        return self._retrying(command)

    @staticmethod
    def _usage_record(record: UsageRecord | Mapping[str, object], index: int) -> UsageRecord:
        if isinstance(record, UsageRecord):
            return record
        if not isinstance(record, Mapping):
            raise InvalidInput(f"records[{index}]: expected an object", field=f"records[{index}]")
        return UsageRecord(
            record_id=uuid_of(record.get("record_id"), field=f"records[{index}].record_id"),
            reservation_id=uuid_of(record.get("reservation_id"), field=f"records[{index}].reservation_id"),
            hour=record.get("hour"),  # type: ignore[arg-type]  # checked by the reservation
            gpu_hours=record.get("gpu_hours"),  # type: ignore[arg-type]
        )

    # ---- invoices -------------------------------------------------------------------------

    def issue_invoice(self, *, tenant_id: object, month: object, lines: Iterable[Mapping[str, Any]],
                      billed_through_position: int) -> Written:
        """Issue the invoice of a closed month from billing lines computed by the billing
        projection. Each line needs ``amount`` (Decimal in the tenant's currency); the total is
        their sum. At most one invoice per tenant and month."""
        tenant = self.get_tenant(tenant_id)
        month_text = check_month(month)
        year, mon = int(month_text[:4]), int(month_text[5:])
        month_end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)
        if month_end > self.now():
            raise InvalidInput(f"month: {month_text} is not closed yet", field="month")
        checked_lines: list[dict[str, Any]] = []
        for i, line in enumerate(lines):
            row = dict(line)
            row["amount"] = check_signed_amount(row.get("amount"), tenant.billing_currency, field=f"lines[{i}].amount")
            checked_lines.append(row)
        total = sum((row["amount"] for row in checked_lines), Decimal(0))
        ident = invoice_id(tenant.id, month_text)

        def command() -> Written:
            if ident in self.repository:
                raise InvoiceAlreadyIssued(f"month: tenant {tenant.name!r} already has an invoice for {month_text}",
                                           field="month")
            invoice = Invoice(tenant.id, month_text, tenant.billing_currency, checked_lines, total, self.now(),
                              billed_through_position)
            return Written(invoice.id, self._save(invoice))
        return self._retrying(command)

    def void_invoice(self, invoice_ref: object, *, reason: object) -> Written:
        def command() -> Written:
            invoice = self.get_invoice(invoice_ref)
            invoice.void(reason=reason)
            return Written(invoice.id, self._save(invoice))
        return self._retrying(command)

    def credit_invoice(self, invoice_ref: object, *, amount: object, reason: object) -> Written:
        def command() -> Written:
            invoice = self.get_invoice(invoice_ref)
            invoice.credit(amount=amount, reason=reason, issued_at=self.now())
            return Written(invoice.id, self._save(invoice))
        return self._retrying(command)

    def get_invoice(self, invoice_ref: object) -> Invoice:
        return self._get(Invoice, invoice_ref, what="invoice", field="invoice_id")


def check_month(month: object) -> str:
    if not isinstance(month, str) or not MONTH_PATTERN.match(month):
        raise InvalidInput(f"month: expected YYYY-MM, got {month!r}", field="month")
    return month


__all__ = ["Ledger", "UsageReceipt", "UsageRecord", "Written", "check_month", "hour_index", "hour_start"]
