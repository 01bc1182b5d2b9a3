"""Sustainability: per tenant, site, model and month, used GPU-hours, energy and carbon.

The method and the factors in force per hour are ``projections.carbon`` (shared with the carbon
on billing lines). A revision recorded after usage it applies to (effective_from in the past)
re-prices that usage: the hourly usage kept in ``sus_hours`` is moved from the old factors to the
new. Figures are exact decimals; round only for display.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from functools import singledispatchmethod
from typing import Any

from domain.aggregates import Reservation, Site
from projections.carbon import PRECISION, FactorBook, FactorRevision, carbon_of
from projections.projection import Batch, Positioned, Projection, text_id
from projections.rows import Adder, RowSet
from projections.timeaxis import hour_floor, hour_of_iso, micro, micro_of_text, month_of_hour
from storage.database import Database
from storage.tables import Table


@dataclass(slots=True)
class UsageOwner:
    reservation_id: str
    tenant_id: str
    site_id: str
    model: str


@dataclass(slots=True)
class SiteHour:
    site_id: str
    hour: int
    tenant_id: str
    model: str
    used_micro: int


@dataclass(slots=True)
class CarbonMonth:
    tenant_id: str
    site_id: str
    model: str
    month: str
    used_micro: int
    energy_kwh: Decimal
    location_kg: Decimal
    market_kg: Decimal


FACTORS = Table("sus_factors", FactorRevision, key=("site_id", "seq"))
OWNERS = Table("sus_reservations", UsageOwner, key=("reservation_id",))
HOURS = Table("sus_hours", SiteHour, key=("site_id", "hour", "tenant_id", "model"))
MONTHS = Table("sus_months", CarbonMonth, key=("tenant_id", "site_id", "model", "month"))
ZERO = Decimal(0)


@dataclass
class SustainabilityBatch(Batch):
    db: Database
    prefix: str
    owners: RowSet[UsageOwner]
    months: RowSet[CarbonMonth]
    hours: Adder[SiteHour]
    factors: FactorBook
    # Used micro-GPU-hours per (tenant, site, model, month, factor revision), priced once per key
    # (energy and carbon are linear in usage: pricing the sum equals summing the prices, exactly).
    pending: dict[tuple[str, str, str, str, int], int] = field(default_factory=dict)

    def flush(self) -> None:
        self.settle()
        self.owners.flush()
        self.hours.flush(self.db, self.prefix + HOURS.name)
        self.months.flush()

    def settle(self) -> None:
        """Price the usage gathered so far into the month rows."""
        for (tenant, site, model, month, seq), used_micro in self.pending.items():
            self.add_month((tenant, site, model, month), used_micro, self.factors.revisions(site)[seq], 1)
        self.pending.clear()

    def add_month(self, key: tuple[str, str, str, str], used_micro: int, factors: FactorRevision, sign: int) -> None:
        row = self.months.get(key) or CarbonMonth(*key, 0, ZERO, ZERO, ZERO)
        carbon = carbon_of(used_micro, key[2], factors)
        row.used_micro += sign * used_micro
        row.energy_kwh += sign * carbon.energy_kwh
        row.location_kg += sign * carbon.location_kg
        row.market_kg += sign * carbon.market_kg
        self.months.put(row)


class Sustainability(Projection):
    name = "sustainability"
    title = "Energy and operational carbon per tenant, site, model and month"
    tables = (FACTORS, OWNERS, HOURS, MONTHS)

    def begin(self, db: Database, events: Sequence[Positioned]) -> SustainabilityBatch:
        batch = SustainabilityBatch(db, self.prefix, self.rows(db, OWNERS), self.rows(db, MONTHS), Adder(HOURS),
                                    FactorBook(db, FACTORS, self.t(FACTORS)))
        batch.owners.prefetch({(text_id(e.originator_id),) for _, e in events if isinstance(e, Reservation.Event)})
        return batch

    def apply(self, db: Database, events: Sequence[Positioned]) -> None:
        with localcontext() as ctx:
            ctx.prec = PRECISION  # products of several factors stay exact
            super().apply(db, events)

    @singledispatchmethod
    def handle(self, event: object, batch: SustainabilityBatch) -> None:
        """Events without a handler are ignored."""

    @handle.register(Reservation.Confirmed)
    def _confirmed(self, event: Reservation.Confirmed, batch: SustainabilityBatch) -> None:
        batch.owners.put(UsageOwner(text_id(event.originator_id), text_id(event.tenant_id), text_id(event.site_id),
                                    event.model))

    def _owner(self, batch: SustainabilityBatch, reservation: object) -> UsageOwner:
        return batch.owners.require((text_id(reservation),),
                                    f"sustainability: usage for unknown reservation {reservation}")

    @handle.register(Reservation.UsageBatchRecorded)
    def _usage_batch(self, event: Reservation.UsageBatchRecorded, batch: SustainabilityBatch) -> None:
        owner = self._owner(batch, event.originator_id)
        for _, hour_text, gpu_hours in event.records:
            self._use(batch, owner, hour_of_iso(hour_text), micro_of_text(gpu_hours))

    @handle.register(Reservation.UsageRecorded)
    def _usage(self, event: Reservation.UsageRecorded, batch: SustainabilityBatch) -> None:
        self._use(batch, self._owner(batch, event.originator_id), hour_floor(event.hour), micro(event.gpu_hours))

    @staticmethod
    def _use(batch: SustainabilityBatch, owner: UsageOwner, hour: int, used_micro: int) -> None:
        batch.hours.add((owner.site_id, hour, owner.tenant_id, owner.model), used_micro)
        key = (owner.tenant_id, owner.site_id, owner.model, month_of_hour(hour),
               batch.factors.in_force(owner.site_id, hour).seq)
        batch.pending[key] = batch.pending.get(key, 0) + used_micro

    @handle.register(Site.Registered)
    def _registered(self, event: Site.Registered, batch: SustainabilityBatch) -> None:
        self._revise(batch, event)

    @handle.register(Site.Revised)
    def _revised(self, event: Site.Revised, batch: SustainabilityBatch) -> None:
        self._revise(batch, event)

    def _revise(self, batch: SustainabilityBatch, event: Any) -> None:
        site = text_id(event.originator_id)
        batch.settle()  # usage so far is priced with the factors in force before this revision
        old, revision = batch.factors.add(event, site)
        if old is not None:
            # Usage already recorded for hours from this revision on was priced with the factors
            # in force before it (revisions only move forward): re-price it.
            batch.hours.flush(batch.db, batch.prefix + HOURS.name)
            for hour, tenant, model, used_micro in batch.db.fetchall(
                    f"SELECT hour, tenant_id, model, used_micro FROM {batch.prefix}{HOURS.name} "
                    "WHERE site_id = ? AND hour >= ? ORDER BY hour, tenant_id, model", (site, revision.from_hour)):
                key = (tenant, site, model, month_of_hour(int(hour)))
                batch.add_month(key, int(used_micro), old, -1)
                batch.add_month(key, int(used_micro), revision, 1)
