"""Commands on tenancy: tenants and their plans, reservations, and metered usage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import cast
from uuid import UUID

from domain.aggregates import GpuPool, Reservation, Tenant, pool_id
from domain.aggregates.reservation import check_gpus, check_window
from domain.attachments import NO_CONTEXT, CommandContext
from domain.checks import uuid_of
from domain.errors import Conflict, InsufficientCapacity, InvalidInput, LedgerError, NotFound, TenantSuspended
from domain.money import check_rate
from domain.reference import gpu_model
from domain.service.commercial import check_pricing, contract_discount, discounted
from domain.service.core import LedgerCore
from domain.service.receipts import MAX_USAGE_BATCH, UsageReceipt, UsageRecord, Written
from domain.timeutil import month_of


class TenancyCommands(LedgerCore):
    # ---- tenants --------------------------------------------------------------------------

    def register_tenant(self, *, name: object, billing_currency: object, rates: object,
                        cancellation_fee_share: object = Decimal("0.25"), tenant_id: object = None,
                        context: CommandContext = NO_CONTEXT) -> Written:
        tenant = Tenant.register(name=name, billing_currency=billing_currency, rates=rates,
                                 cancellation_fee_share=cancellation_fee_share,
                                 tenant_id=self._new_id(tenant_id, field="tenant_id"))
        return Written(tenant.id, self._save(context, tenant))

    def change_plan(self, tenant_id: object, *, rates: object, cancellation_fee_share: object,
                    context: CommandContext = NO_CONTEXT) -> Written:
        return self._update(context, lambda: self.get_tenant(tenant_id), lambda tenant: tenant.change_plan(
            rates=rates, cancellation_fee_share=cancellation_fee_share))

    def suspend_tenant(self, tenant_id: object, *, reason: object, context: CommandContext = NO_CONTEXT) -> Written:
        return self._update(context, lambda: self.get_tenant(tenant_id), lambda tenant: tenant.suspend(reason=reason))

    def reinstate_tenant(self, tenant_id: object, *, context: CommandContext = NO_CONTEXT) -> Written:
        return self._update(context, lambda: self.get_tenant(tenant_id), lambda tenant: tenant.reinstate())

    # ---- reservations ---------------------------------------------------------------------

    def confirm_reservation(self, *, tenant_id: object, site_id: object, model: object, gpus: object,
                            start: object, end: object, rate_per_gpu_hour: object = None,
                            reservation_id: UUID | None = None, backfill: object = False,
                            pricing: object = "reserved", context: CommandContext = NO_CONTEXT) -> Written:
        """Book ``gpus`` of ``model`` at a site for [start, end) and lock the rate (the tenant's
        plan rate unless one is negotiated). Pool and reservation are saved together; refused
        with InsufficientCapacity if any hour lacks free GPUs. ``reservation_id`` is the
        caller's choice of id (an idempotent retry derives it from its key); refused with
        Conflict if taken. ``pricing``: ``reserved`` (billed on booked hours) or ``on_demand``
        (billed on metered hours at the plan's on-demand rate, no cancellation fee); a contract
        covering the start month discounts the plan rate (see ``domain.service.commercial``).

        Time rule: a window whose ``start`` has passed (by the ledger's clock) is refused
        (InvalidInput naming ``start``) unless ``backfill`` is true: a past reservation recorded
        on purpose, which the Confirmed event records (who may ask for it is the edge's rule)."""
        mode = check_pricing(pricing)
        count = check_gpus(gpus)
        window_start, window_end = check_window(start, end)
        code = gpu_model(model).code
        site = uuid_of(site_id, field="site_id")
        if rate_per_gpu_hour is not None:
            rate_override: Decimal | None = check_rate(rate_per_gpu_hour, field="rate_per_gpu_hour")
        else:
            rate_override = None
        if not isinstance(backfill, bool):
            raise InvalidInput("backfill: expected true or false", field="backfill")
        if not backfill and window_start < self.now():
            raise InvalidInput(f"start: {window_start.isoformat()} has already passed (now "
                               f"{self.now().isoformat(timespec='seconds')}); book from the next whole hour, "
                               f"or record a past reservation with backfill", field="start")

        # Read before the pool's lock is taken: the lock is held for the pool's load, the booking
        # and the save only (with several processes on one pool, what is done under the lock
        # bounds the pool's rate). The tenant is only read, never written, by this command.
        # A caller-chosen ``reservation_id`` that is taken is not looked up first (a round trip
        # on every keyed booking): the save of its first event then conflicts, and the retry
        # refuses it (``_refuse_taken`` below) having recorded nothing.
        tenant = self.get_tenant(tenant_id)
        if tenant.suspended:
            raise TenantSuspended(f"tenant_id: tenant {tenant.name!r} is suspended and cannot reserve",
                                  field="tenant_id")
        if rate_override is not None:
            rate = rate_override
        else:
            plan_rate = tenant.on_demand_rate_for(code) if mode == "on_demand" else tenant.rate_for(code)
            rate = discounted(plan_rate, contract_discount(self, tenant, month_of(window_start)))
        fee_share = Decimal(0) if mode == "on_demand" else tenant.cancellation_fee_share

        def book(pool: GpuPool) -> Reservation:
            reservation = Reservation(
                tenant_id=tenant.id, pool_id=pool.id, site_id=site, model=code, gpus=count, start=window_start,
                end=window_end, rate_per_gpu_hour=rate, currency=tenant.billing_currency,
                cancellation_fee_share=fee_share, confirmed_at=self.now(), backfill=backfill, pricing=mode,
                id=reservation_id)
            pool.book(reservation_id=reservation.id, start=window_start, end=window_end, gpus=count)
            return reservation

        def unit() -> Written:
            if getattr(self._local, "retrying", False):  # lost a race: perhaps to a writer of this id
                self._refuse_taken(reservation_id)
            try:
                pool = self.get_pool(site, code, for_update=True)
            except NotFound:
                self.get_site(site)
                raise InsufficientCapacity(f"gpus: insufficient capacity: no {code} GPUs in service at site {site}",
                                           field="gpus") from None
            reservation = book(pool)
            return Written(reservation.id, self._save(context, pool, reservation))
        # Bookings queued on this pool meanwhile may share one transaction (group commit).
        return self._booking(context, pool_id(site, code), book, unit)

    def _refuse_taken(self, reservation_id: UUID | None) -> None:
        if reservation_id is not None and reservation_id in self.repository:
            raise Conflict(f"reservation_id: a reservation with id {reservation_id} already exists",
                           field="reservation_id")

    def extend_reservation(self, reservation_id: object, *, end: object,
                           context: CommandContext = NO_CONTEXT) -> Written:
        def unit() -> Written:
            reservation = self._reservation_for_update(reservation_id)
            previous_end, new_end = reservation.extend(new_end=end, now=self.now())
            pool = self._get(GpuPool, reservation.pool_id, what="pool", field="pool_id", for_update=True)
            pool.book(reservation_id=reservation.id, start=previous_end, end=new_end, gpus=reservation.gpus)
            return Written(reservation.id, self._save(context, pool, reservation))
        return self._retrying(unit, pool=self._pool_of(reservation_id))

    def cancel_reservation(self, reservation_id: object, *, context: CommandContext = NO_CONTEXT) -> Written:
        """Release the hours from the next whole hour on and charge the locked fee share."""
        def unit() -> Written:
            reservation = self._reservation_for_update(reservation_id)
            released_from, released_until = reservation.cancel(now=self.now())
            pool = self._get(GpuPool, reservation.pool_id, what="pool", field="pool_id", for_update=True)
            pool.release(reservation_id=reservation.id, start=released_from, end=released_until,
                         gpus=reservation.gpus)
            return Written(reservation.id, self._save(context, pool, reservation))
        return self._retrying(unit, pool=self._pool_of(reservation_id))

    def _reservation_for_update(self, reservation_id: object) -> Reservation:
        return self._get(Reservation, reservation_id, what="reservation", field="reservation_id", for_update=True)

    def _pool_of(self, reservation_id: object) -> UUID:
        """The reservation's pool, to pick the lock: fixed at confirmation, so the cached copy
        serves and the command itself does the only up-to-date load."""
        return self._reservation_for_update(reservation_id).pool_id

    # ---- usage ----------------------------------------------------------------------------

    def record_usage(self, records: Sequence[UsageRecord | Mapping[str, object]],
                     *, context: CommandContext = NO_CONTEXT) -> UsageReceipt:
        """Record a batch of per-hour usage in one transaction: all or nothing. A record whose
        id was already recorded with the same values is skipped (counted as a duplicate)."""
        if not records:
            raise InvalidInput("records: the batch is empty", field="records")
        if len(records) > MAX_USAGE_BATCH:
            raise InvalidInput(f"records: at most {MAX_USAGE_BATCH} records per batch", field="records")
        parsed = [usage_record(r, i) for i, r in enumerate(records)]

        def unit() -> UsageReceipt:
            now = self.now()
            reservations: dict[UUID, Reservation] = {}
            staged: dict[UUID, dict[int, list[str]]] = {}
            recorded = duplicates = 0
            for index, record in enumerate(parsed):
                reservation = reservations.get(record.reservation_id)
                if reservation is None:
                    try:
                        reservation = self._reservation_for_update(record.reservation_id)
                    except LedgerError as error:
                        raise type(error)(f"records[{index}].{error.message}",
                                          field=f"records[{index}].reservation_id") from None
                    reservations[record.reservation_id] = reservation
                    staged[record.reservation_id] = {}
                try:
                    if reservation.stage_usage(staged[record.reservation_id], record_id=record.record_id,
                                               hour=record.hour, gpu_hours=record.gpu_hours, now=now):
                        recorded += 1
                    else:
                        duplicates += 1
                except LedgerError as error:
                    raise type(error)(f"records[{index}].{error.message}",
                                      field=f"records[{index}].{error.field}") from None
            for reservation_id, reservation in reservations.items():
                reservation.record_staged_usage(staged[reservation_id])
            position = self._save(context, *reservations.values()) if recorded else None
            return UsageReceipt(recorded, duplicates, position)
        return self._retrying(unit)


def usage_record(record: UsageRecord | Mapping[str, object], index: int) -> UsageRecord:
    """``record`` as a UsageRecord; from a mapping, only the ids are checked here: the hour and
    the GPU-hours are checked by the reservation, which names the field."""
    if isinstance(record, UsageRecord):
        return record
    if not isinstance(record, Mapping):
        raise InvalidInput(f"records[{index}]: expected an object", field=f"records[{index}]")
    return UsageRecord(
        record_id=uuid_of(record.get("record_id"), field=f"records[{index}].record_id"),
        reservation_id=uuid_of(record.get("reservation_id"), field=f"records[{index}].reservation_id"),
        hour=cast(datetime, record.get("hour")),
        gpu_hours=cast(Decimal, record.get("gpu_hours")),
    )
