"""Utilisation: per site / GPU model / hour (rolled up to day and month), GPU-hours in
service, booked and used.

- In service: a step function kept as its changes (``utl_capacity``: +commissioned,
  -decommissioned, effective from the first whole hour at or after the event's time, as the
  pool aggregate does). Reports integrate it over the periods asked for, so their cost depends
  on the number of changes, not on the number of hours.
- Booked: the pool's CapacityBooked / CapacityReleased spans, per hour, day and month.
- Used: metered usage as integer micro-GPU-hours (exact additive upserts on SQLite too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import singledispatchmethod

from domain.aggregates import GpuPool, Reservation
from projections.projection import Batch, Positioned, Projection, text_id
from projections.rows import Adder, RowSet
from projections.timeaxis import hour_ceil, hour_floor, hour_of_iso, micro, micro_of_text, month_of_hour
from storage.database import Database
from storage.tables import Table


@dataclass(slots=True)
class PoolRow:
    pool_id: str
    site_id: str
    model: str


@dataclass(slots=True)
class ReservationPoolRow:
    reservation_id: str
    site_id: str
    model: str


@dataclass(slots=True)
class CapacityChange:
    site_id: str
    model: str
    hour: int
    delta: int


@dataclass(slots=True)
class HourRow:
    site_id: str
    model: str
    hour: int
    booked: int
    used_micro: int


@dataclass(slots=True)
class DayRow:
    site_id: str
    model: str
    day: int  # days since the epoch
    booked: int
    used_micro: int


@dataclass(slots=True)
class MonthRow:
    site_id: str
    model: str
    month: str
    booked: int
    used_micro: int


POOLS = Table("utl_pools", PoolRow, key=("pool_id",))
RESERVATIONS = Table("utl_reservations", ReservationPoolRow, key=("reservation_id",))
CAPACITY = Table("utl_capacity", CapacityChange, key=("site_id", "model", "hour"))
HOURS = Table("utl_hours", HourRow, key=("site_id", "model", "hour"), indexes=(("hour",),))
DAYS = Table("utl_days", DayRow, key=("site_id", "model", "day"))
MONTHS = Table("utl_months", MonthRow, key=("site_id", "model", "month"))


@dataclass
class UtilisationBatch(Batch):
    db: Database
    pools: RowSet[PoolRow]
    reservations: RowSet[ReservationPoolRow]
    capacity: Adder[CapacityChange]
    hours: Adder[HourRow]
    prefix: str

    def flush(self) -> None:
        self.pools.flush()
        self.reservations.flush()
        # Day and month roll-ups from the batch's hourly deltas: far fewer keys than events.
        days, months = Adder(DAYS), Adder(MONTHS)
        for (site, model, hour), (booked, used) in self.hours.deltas.items():
            days.add((site, model, hour // 24), booked, used)
            months.add((site, model, month_of_hour(hour)), booked, used)
        self.capacity.flush(self.db, self.prefix + CAPACITY.name)
        self.hours.flush(self.db, self.prefix + HOURS.name)
        days.flush(self.db, self.prefix + DAYS.name)
        months.flush(self.db, self.prefix + MONTHS.name)


class Utilisation(Projection):
    name = "utilisation"
    title = "GPU-hours in service, booked and used per site, model and hour/day/month"
    tables = (POOLS, RESERVATIONS, CAPACITY, HOURS, DAYS, MONTHS)

    def begin(self, db: Database, events: Sequence[Positioned]) -> UtilisationBatch:
        batch = UtilisationBatch(db, self.rows(db, POOLS), self.rows(db, RESERVATIONS), Adder(CAPACITY),
                                 Adder(HOURS), self.prefix)
        batch.pools.prefetch({(text_id(e.originator_id),) for _, e in events if not isinstance(e, Reservation.Event)})
        batch.reservations.prefetch({(text_id(e.originator_id),) for _, e in events
                                     if isinstance(e, Reservation.UsageBatchRecorded | Reservation.UsageRecorded)})
        return batch

    @singledispatchmethod
    def handle(self, event: object, batch: UtilisationBatch) -> None:
        """Events without a handler are ignored."""

    @staticmethod
    def _pool(batch: UtilisationBatch, pool_id: object) -> PoolRow:
        return batch.pools.require((text_id(pool_id),), f"utilisation: no GpuPool.Created seen for pool {pool_id}")

    @staticmethod
    def _reservation(batch: UtilisationBatch, reservation_id: object) -> ReservationPoolRow:
        return batch.reservations.require((text_id(reservation_id),),
                                          f"utilisation: usage for unknown reservation {reservation_id}")

    @handle.register(GpuPool.Created)
    def _created(self, event: GpuPool.Created, batch: UtilisationBatch) -> None:
        batch.pools.put(PoolRow(text_id(event.originator_id), text_id(event.site_id), event.model))

    @handle.register(GpuPool.Commissioned)
    def _commissioned(self, event: GpuPool.Commissioned, batch: UtilisationBatch) -> None:
        pool = self._pool(batch, event.originator_id)
        batch.capacity.add((pool.site_id, pool.model, hour_ceil(event.at)), int(event.quantity))

    @handle.register(GpuPool.Decommissioned)
    def _decommissioned(self, event: GpuPool.Decommissioned, batch: UtilisationBatch) -> None:
        pool = self._pool(batch, event.originator_id)
        batch.capacity.add((pool.site_id, pool.model, hour_ceil(event.at)), -int(event.quantity))

    @handle.register(GpuPool.CapacityBooked)
    def _booked(self, event: GpuPool.CapacityBooked, batch: UtilisationBatch) -> None:
        self._book(batch, event.originator_id, event.start, event.end, int(event.gpus))

    @handle.register(GpuPool.CapacityReleased)
    def _released(self, event: GpuPool.CapacityReleased, batch: UtilisationBatch) -> None:
        self._book(batch, event.originator_id, event.start, event.end, -int(event.gpus))

    def _book(self, batch: UtilisationBatch, pool_id: object, start: object, end: object, gpus: int) -> None:
        pool = self._pool(batch, pool_id)
        add = batch.hours.add
        for hour in range(hour_floor(start), hour_floor(end)):  # type: ignore[arg-type]
            add((pool.site_id, pool.model, hour), gpus, 0)

    @handle.register(Reservation.Confirmed)
    def _confirmed(self, event: Reservation.Confirmed, batch: UtilisationBatch) -> None:
        batch.reservations.put(ReservationPoolRow(text_id(event.originator_id), text_id(event.site_id), event.model))

    @handle.register(Reservation.UsageBatchRecorded)
    def _usage_batch(self, event: Reservation.UsageBatchRecorded, batch: UtilisationBatch) -> None:
        reservation = self._reservation(batch, event.originator_id)
        add, site, model = batch.hours.add, reservation.site_id, reservation.model
        for _, hour, gpu_hours in event.records:
            add((site, model, hour_of_iso(hour)), 0, micro_of_text(gpu_hours))

    @handle.register(Reservation.UsageRecorded)
    def _usage(self, event: Reservation.UsageRecorded, batch: UtilisationBatch) -> None:
        reservation = self._reservation(batch, event.originator_id)
        batch.hours.add((reservation.site_id, reservation.model, hour_floor(event.hour)), 0, micro(event.gpu_hours))
