"""Reservation: a tenant's GPUs of one model at one site for [start, end) on whole UTC hours.

The rate per GPU-hour and the cancellation fee share are locked at confirmation. A ``reserved``
reservation is billed on booked GPU-hours; an ``on_demand`` one holds capacity the same way but
is billed on metered GPU-hours at the on-demand rate locked at confirmation (and has no
cancellation fee). Metered usage (per hour, <= the reserved GPUs, inside the window) feeds
utilisation and carbon reports.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.aggregates.copying import copy_containers
from domain.checks import positive_int
from domain.errors import DuplicateUsage, InvalidInput, InvalidTransition, UsageOutsideReservation
from domain.money import quantize, to_decimal
from domain.timeutil import check_on_the_hour, hour_index, hour_index_ceil, hour_start

PRICING_MODES = ("reserved", "on_demand")

# A reservation longer than this is a contract, not a reservation; refuse typos like 2062.
MAX_WINDOW_HOURS = 24 * 366 * 3


def check_window(start: object, end: object) -> tuple[datetime, datetime]:
    start_ = check_on_the_hour(start, field="start")
    end_ = check_on_the_hour(end, field="end")
    if end_ <= start_:
        raise InvalidInput(f"end: {end_.isoformat()} must be after start {start_.isoformat()}", field="end")
    if hour_index(end_) - hour_index(start_) > MAX_WINDOW_HOURS:
        raise InvalidInput(f"end: a window may be at most {MAX_WINDOW_HOURS} hours", field="end")
    return start_, end_


class Reservation(Aggregate):
    TOPIC = "ledger:Reservation"

    class Created(Aggregate.Created):  # unused; every event class needs an explicit topic
        TOPIC = "ledger:Reservation.Created"

    class Confirmed(Aggregate.Created):
        """``__init__``'s ``id`` is not a field: the library takes it as the aggregate's id.
        Version 2 added ``backfill`` (a past window recorded on purpose by an operator);
        version-1 events, stored without it, are upcast to ``False``."""

        TOPIC = "ledger:Reservation.Confirmed"
        class_version = 2
        tenant_id: UUID
        pool_id: UUID
        site_id: UUID
        model: str
        gpus: int
        start: datetime
        end: datetime
        rate_per_gpu_hour: Decimal
        currency: str
        cancellation_fee_share: Decimal
        confirmed_at: datetime
        backfill: bool
        # Added after version 1 with a default, so Confirmed events stored before it load as
        # ``reserved`` (billed on booked GPU-hours); ``on_demand`` is billed on metered GPU-hours.
        pricing: str = "reserved"

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["backfill"] = False

    @event(Confirmed)
    def __init__(self, tenant_id: UUID, pool_id: UUID, site_id: UUID, model: str, gpus: int,
                 start: datetime, end: datetime, rate_per_gpu_hour: Decimal, currency: str,
                 cancellation_fee_share: Decimal, confirmed_at: datetime, backfill: bool = False,
                 pricing: str = "reserved",
                 id: UUID | None = None) -> None:
        # ``id``: the caller's choice (an idempotent retry derives it from its key), else a new
        # uuid4. The library takes it as the aggregate's id when ``__init__`` names it; it is not
        # a field of the Confirmed event, so events recorded before it load unchanged.
        self.tenant_id = tenant_id
        self.pool_id = pool_id
        self.site_id = site_id
        self.model = model
        self.gpus = gpus
        self.start = start
        self.end = end
        self.rate_per_gpu_hour = rate_per_gpu_hour
        self.currency = currency
        self.cancellation_fee_share = cancellation_fee_share
        self.confirmed_at = confirmed_at
        self.backfill = backfill
        self.pricing = pricing
        self.cancelled_at: datetime | None = None
        self.cancellation_fee = Decimal(0)
        self.usage: dict[int, list[object]] = {}  # hour index -> [record id hex, GPU-hours]

    @property
    def hours(self) -> int:
        return hour_index(self.end) - hour_index(self.start)

    @property
    def gpu_hours_booked(self) -> int:
        return self.gpus * self.hours

    @property
    def gpu_hours_used(self) -> Decimal:
        return sum((Decimal(str(v[1])) for v in self.usage.values()), Decimal(0))

    @property
    def status(self) -> str:
        return "cancelled" if self.cancelled_at is not None else "confirmed"

    def extend(self, *, new_end: object, now: datetime) -> tuple[datetime, datetime]:
        """Move the end later; returns the newly booked span [old end, new end)."""
        if self.cancelled_at is not None:
            raise InvalidTransition("reservation is cancelled and cannot be extended")
        end = check_on_the_hour(new_end, field="end")
        if end <= self.end:
            raise InvalidInput(f"end: new end {end.isoformat()} must be after the current end {self.end.isoformat()}",
                               field="end")
        if self.end < now:
            raise InvalidTransition(f"reservation ended at {self.end.isoformat()} and cannot be extended")
        if hour_index(end) - hour_index(self.start) > MAX_WINDOW_HOURS:
            raise InvalidInput(f"end: a window may be at most {MAX_WINDOW_HOURS} hours", field="end")
        previous_end = self.end
        self._extended(previous_end, end)
        return previous_end, end

    class Extended(Aggregate.Event):
        TOPIC = "ledger:Reservation.Extended"
        previous_end: datetime
        end: datetime

    @event(Extended)
    def _extended(self, previous_end: datetime, end: datetime) -> None:
        self.end = end

    def cancel(self, *, now: datetime) -> tuple[datetime, datetime]:
        """Cancel at ``now``: hours from the next whole hour are released; the fee is the locked
        share of their booked value, rounded at the line. Returns the released span."""
        if self.cancelled_at is not None:
            raise InvalidTransition("reservation is already cancelled")
        release_from = max(self.start, hour_start(hour_index_ceil(now)))
        if release_from >= self.end:
            raise InvalidTransition(f"reservation ended at {self.end.isoformat()}; nothing left to cancel")
        released_hours = hour_index(self.end) - hour_index(release_from)
        fee = quantize(self.cancellation_fee_share * self.rate_per_gpu_hour * released_hours * self.gpus,
                       self.currency)
        released_until = self.end
        self._cancelled(now, release_from, released_until, fee)
        return release_from, released_until

    class Cancelled(Aggregate.Event):
        TOPIC = "ledger:Reservation.Cancelled"
        cancelled_at: datetime
        released_from: datetime
        released_until: datetime
        fee: Decimal

    @event(Cancelled)
    def _cancelled(self, cancelled_at: datetime, released_from: datetime, released_until: datetime,
                   fee: Decimal) -> None:
        self.cancelled_at = cancelled_at
        self.end = released_from
        self.cancellation_fee = fee

    def record_usage(self, *, record_id: UUID, hour: object, gpu_hours: object, now: datetime) -> bool:
        """Meter ``gpu_hours`` used in the hour starting at ``hour``. Returns False (and records
        nothing) when the same record was already recorded: retries are harmless."""
        staged: dict[int, list[str]] = {}
        if not self.stage_usage(staged, record_id=record_id, hour=hour, gpu_hours=gpu_hours, now=now):
            return False
        self.record_staged_usage(staged)
        return True

    def stage_usage(self, staged: dict[int, list[str]], *, record_id: UUID, hour: object, gpu_hours: object,
                    now: datetime) -> bool:
        """Check one usage record and add it to ``staged`` (hour index -> [record id hex, hour
        ISO, GPU-hours]); ``record_staged_usage`` then records everything staged as one event.
        Returns False for a retry of a record already recorded or staged (same id and value)."""
        start = check_on_the_hour(hour, field="hour")
        amount = to_decimal(gpu_hours, field="gpu_hours")
        if amount < 0:
            raise InvalidInput(f"gpu_hours: must be non-negative, got {amount}", field="gpu_hours")
        exponent = amount.as_tuple().exponent  # an int: to_decimal refuses NaN and infinities
        if isinstance(exponent, int) and exponent < -6:
            raise InvalidInput(f"gpu_hours: at most 6 decimal places, got {amount}", field="gpu_hours")
        index = hour_index(start)
        existing = self.usage.get(index)
        if existing is None and index in staged:
            existing = [staged[index][0], staged[index][2]]
        if existing is not None:
            if existing[0] == record_id.hex and Decimal(str(existing[1])) == amount:
                return False
            raise DuplicateUsage(f"hour: usage for {start.isoformat()} is already recorded (record {existing[0]})",
                                 field="hour")
        if not self.start <= start < self.end:
            raise UsageOutsideReservation(
                f"hour: {start.isoformat()} is outside the reservation window "
                f"[{self.start.isoformat()}, {self.end.isoformat()})", field="hour")
        if (index + 1) * 3600 > now.timestamp():  # the hour has not ended yet
            raise UsageOutsideReservation(f"hour: {start.isoformat()} has not ended yet", field="hour")
        if amount > self.gpus:
            raise UsageOutsideReservation(
                f"gpu_hours: {amount} GPU-hours in one hour exceeds the {self.gpus} GPUs reserved", field="gpu_hours")
        staged[index] = [record_id.hex, start.isoformat(), str(amount)]
        return True

    def record_staged_usage(self, staged: dict[int, list[str]]) -> None:
        if staged:
            self._usage_batch_recorded([staged[h] for h in sorted(staged)])

    class UsageBatchRecorded(Aggregate.Event):
        TOPIC = "ledger:Reservation.UsageBatchRecorded"
        records: list[list[str]]

    @event(UsageBatchRecorded)
    def _usage_batch_recorded(self, records: list[list[str]]) -> None:
        # One event per reservation per metering batch: each record is [record id (hex), hour
        # (ISO 8601 UTC), GPU-hours (decimal string)]. Plain strings keep encoding cheap; a
        # batch of thousands of hourly records costs one event, not thousands (bench/usage.py).
        for record_id_hex, hour, gpu_hours in records:
            self.usage[hour_index(datetime.fromisoformat(hour))] = [record_id_hex, Decimal(gpu_hours)]

    class UsageRecorded(Aggregate.Event):
        """Superseded by UsageBatchRecorded; kept so that logs written before it still load."""

        TOPIC = "ledger:Reservation.UsageRecorded"
        record_id: UUID
        hour: datetime
        gpu_hours: Decimal

    @event(UsageRecorded)
    def _usage_recorded(self, record_id: UUID, hour: datetime, gpu_hours: Decimal) -> None:
        self.usage[hour_index(hour)] = [record_id.hex, gpu_hours]

    def __deepcopy__(self, memo: dict[int, object]) -> Reservation:
        # Cheap copy for the repository's cache: usage values are replaced, never mutated.
        return copy_containers(self)


def check_gpus(gpus: object) -> int:
    return positive_int(gpus, field="gpus")
