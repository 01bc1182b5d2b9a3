"""GpuPool: the GPUs of one model at one site, hour by hour.

Holds the step function of GPUs in service (commissioning adds, decommissioning removes, each
effective from the first whole hour at or after its time) and the GPUs booked per hour. The
invariant, for every hour: booked <= in service. Booking is a two-phase hold in TigerBeetle's
sense: a reservation books its hours; cancellation releases the hours it gives back.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.aggregates.copying import copy_containers
from domain.checks import positive_int, text
from domain.errors import InsufficientCapacity, InvalidInput
from domain.timeutil import check_utc, hour_index, hour_index_ceil, hour_start

POOL_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledger.example/gpu-pool")


def pool_id(site_id: UUID, model: str) -> UUID:
    """Pools are identified by (site, model): at most one pool per pair, by construction."""
    return uuid5(POOL_NAMESPACE, f"{site_id}/{model}")


class GpuPool(Aggregate):
    TOPIC = "ledger:GpuPool"

    @staticmethod
    def create_id(site_id: UUID, model: str) -> UUID:
        return pool_id(site_id, model)

    class Created(Aggregate.Created):
        TOPIC = "ledger:GpuPool.Created"
        site_id: UUID
        model: str

    @event(Created)
    def __init__(self, site_id: UUID, model: str) -> None:
        self.site_id = site_id
        self.model = model
        self.in_service_changes: dict[int, int] = {}  # hour index -> change in GPUs in service
        self.booked: dict[int, int] = {}  # hour index -> GPUs booked
        self.commissioned_total = 0
        self.decommissioned_total = 0

    def __deepcopy__(self, memo: dict[int, object]) -> GpuPool:
        # The per-hour maps hold only ints, so copying each map is a deep copy, at a fraction of
        # the cost of the generic deepcopy (measured: ~25% of a reservation's time on PostgreSQL).
        return copy_containers(self)

    # ---- queries -------------------------------------------------------------------------

    def in_service_at(self, hour: int) -> int:
        return sum(delta for h, delta in self.in_service_changes.items() if h <= hour)

    def in_service_series(self, start: int, end: int) -> list[int]:
        """GPUs in service for each hour index in [start, end)."""
        series: list[int] = []
        current = self.in_service_at(start)
        for hour in range(start, end):
            if hour > start:
                current += self.in_service_changes.get(hour, 0)
            series.append(current)
        return series

    def free_series(self, start: int, end: int) -> list[int]:
        in_service = self.in_service_series(start, end)
        return [n - self.booked.get(h, 0) for h, n in zip(range(start, end), in_service, strict=True)]

    def free_gpus(self, start: datetime, end: datetime) -> int:
        """The most GPUs that could be booked for every hour of [start, end)."""
        series = self.free_series(hour_index(start), hour_index(end))
        return min(series) if series else 0

    @property
    def in_service_now_total(self) -> int:
        return self.commissioned_total - self.decommissioned_total

    # ---- commands ------------------------------------------------------------------------

    def commission(self, *, quantity: object, at: object, supply_order_id: UUID) -> None:
        self._commissioned(positive_int(quantity, field="quantity"), check_utc(at, field="at"), supply_order_id)

    class Commissioned(Aggregate.Event):
        TOPIC = "ledger:GpuPool.Commissioned"
        quantity: int
        at: datetime
        supply_order_id: UUID

    @event(Commissioned)
    def _commissioned(self, quantity: int, at: datetime, supply_order_id: UUID) -> None:
        hour = hour_index_ceil(at)
        self.in_service_changes[hour] = self.in_service_changes.get(hour, 0) + quantity
        self.commissioned_total += quantity

    def decommission(self, *, quantity: object, at: object, reason: object) -> None:
        """Take GPUs out of service from the first whole hour at or after ``at``.

        Refused if fewer GPUs would be in service than are booked in any later hour (cancel or
        move those reservations first), or than exist.
        """
        count = positive_int(quantity, field="quantity")
        moment = check_utc(at, field="at")
        why = text(reason, field="reason")
        start = hour_index_ceil(moment)
        hours = sorted({start, *(h for h in self.in_service_changes if h >= start),
                        *(h for h in self.booked if h >= start)})
        changes = sorted(self.in_service_changes)
        deltas = [self.in_service_changes[h] for h in changes]
        prefix = [0]
        for delta in deltas:
            prefix.append(prefix[-1] + delta)
        for hour in hours:
            in_service = prefix[bisect_right(changes, hour)]
            if in_service - count < 0:
                raise InvalidInput(
                    f"quantity: only {in_service} {self.model} GPUs in service at "
                    f"{hour_start(hour).isoformat()}, cannot decommission {count}", field="quantity")
            booked = self.booked.get(hour, 0)
            if booked > in_service - count:
                raise InsufficientCapacity(
                    f"quantity: decommissioning {count} {self.model} GPUs would overbook the pool: "
                    f"{booked} booked of {in_service} in service at {hour_start(hour).isoformat()}",
                    field="quantity")
        self._decommissioned(count, moment, why)

    class Decommissioned(Aggregate.Event):
        TOPIC = "ledger:GpuPool.Decommissioned"
        quantity: int
        at: datetime
        reason: str

    @event(Decommissioned)
    def _decommissioned(self, quantity: int, at: datetime, reason: str) -> None:
        hour = hour_index_ceil(at)
        self.in_service_changes[hour] = self.in_service_changes.get(hour, 0) - quantity
        self.decommissioned_total += quantity

    def book(self, *, reservation_id: UUID, start: datetime, end: datetime, gpus: int) -> None:
        """Hold ``gpus`` for every hour of [start, end); refused if any hour lacks them."""
        first, last = hour_index(start), hour_index(end)
        for hour, free in zip(range(first, last), self.free_series(first, last), strict=True):
            if free < gpus:
                raise InsufficientCapacity(
                    f"gpus: insufficient capacity: {max(free, 0)} {self.model} GPUs free at "
                    f"{hour_start(hour).isoformat()}, {gpus} requested", field="gpus")
        self._capacity_booked(reservation_id, start, end, gpus)

    class CapacityBooked(Aggregate.Event):
        TOPIC = "ledger:GpuPool.CapacityBooked"
        reservation_id: UUID
        start: datetime
        end: datetime
        gpus: int

    @event(CapacityBooked)
    def _capacity_booked(self, reservation_id: UUID, start: datetime, end: datetime, gpus: int) -> None:
        for hour in range(hour_index(start), hour_index(end)):
            self.booked[hour] = self.booked.get(hour, 0) + gpus

    def release(self, *, reservation_id: UUID, start: datetime, end: datetime, gpus: int) -> None:
        if start < end:
            self._capacity_released(reservation_id, start, end, gpus)

    class CapacityReleased(Aggregate.Event):
        TOPIC = "ledger:GpuPool.CapacityReleased"
        reservation_id: UUID
        start: datetime
        end: datetime
        gpus: int

    @event(CapacityReleased)
    def _capacity_released(self, reservation_id: UUID, start: datetime, end: datetime, gpus: int) -> None:
        for hour in range(hour_index(start), hour_index(end)):
            left = self.booked.get(hour, 0) - gpus
            if left:
                self.booked[hour] = left
            else:
                self.booked.pop(hour, None)
