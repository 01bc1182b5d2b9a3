"""Sustainability: per tenant, site, model and month, used GPU-hours, energy and carbon.

Method (operational emissions only, in the style of Cloud Carbon Footprint / GHG Protocol
scope 2 dual reporting; embodied emissions are out of scope):
- energy kWh          = used GPU-hours x GPU board power kW (domain.reference.GPU_MODELS)
                       x site PUE in force at that hour
- location-based kg  = kWh x grid intensity gCO2e/kWh in force at that hour / 1000
- market-based kg    = location-based kg x (1 - contracted carbon-free share in force)
"In force at hour h" = the site's latest factor revision whose effective_from is at or before
the start of h (the first one for hours before it), as ``Site.factors_at`` does. A revision
recorded after usage it applies to (effective_from in the past) re-prices that usage: the
hourly usage kept in ``sus_hours`` is moved from the old factors to the new. Figures are exact
decimals; round only for display.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from functools import singledispatchmethod
from typing import Any

from domain.aggregates import Reservation, Site
from domain.reference import GPU_MODELS
from projections.db import Database
from projections.projection import Batch, Positioned, Projection, text_id
from projections.rows import Adder, RowSet, Table
from projections.timeaxis import from_micro, hour_ceil, hour_floor, hour_of_iso, micro, micro_of_text, month_of_hour

METHOD = ("energy = used GPU-hours x board power x PUE; location-based = energy x grid intensity; "
          "market-based = location-based x (1 - carbon-free share); factors in force per hour")


@dataclass(slots=True)
class FactorRevision:
    site_id: str
    seq: int
    from_hour: int
    effective_from: str
    grid_g_per_kwh: Decimal
    pue: Decimal
    carbon_free_share: Decimal
    source: str


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
    factors: dict[str, list[FactorRevision]] = field(default_factory=dict)
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
            self.add_month((tenant, site, model, month), used_micro, self.factors[site][seq], 1)
        self.pending.clear()

    def revisions(self, site: str) -> list[FactorRevision]:
        found = self.factors.get(site)
        if found is None:
            found = self.factors[site] = [FACTORS.from_db(r) for r in self.db.fetchall(
                f"SELECT {', '.join(FACTORS.column_names)} FROM {self.prefix}{FACTORS.name} WHERE site_id = ? "
                "ORDER BY seq", (site,))]
        return found

    def in_force(self, site: str, hour: int) -> FactorRevision:
        revisions = self.revisions(site)
        if not revisions:
            raise LookupError(f"sustainability: usage at site {site} before the site was registered")
        if len(revisions) == 1 or hour < revisions[1].from_hour:
            return revisions[0]  # the common case: one revision, or an hour before the second
        i = bisect_right([r.from_hour for r in revisions], hour) - 1
        return revisions[max(i, 0)]

    def add_month(self, key: tuple[str, str, str, str], used_micro: int, factors: FactorRevision, sign: int) -> None:
        model = key[2]
        row = self.months.get(key) or CarbonMonth(*key, 0, ZERO, ZERO, ZERO)
        used = from_micro(used_micro)
        kwh = used * GPU_MODELS[model].board_power_kw * factors.pue
        location = kwh * factors.grid_g_per_kwh / 1000
        row.used_micro += sign * used_micro
        row.energy_kwh += sign * kwh
        row.location_kg += sign * location
        row.market_kg += sign * location * (1 - factors.carbon_free_share)
        self.months.put(row)


class Sustainability(Projection):
    name = "sustainability"
    title = "Energy and operational carbon per tenant, site, model and month"
    tables = (FACTORS, OWNERS, HOURS, MONTHS)

    def begin(self, db: Database, events: Sequence[Positioned]) -> SustainabilityBatch:
        batch = SustainabilityBatch(db, self.prefix, self.rows(db, OWNERS), self.rows(db, MONTHS), Adder(HOURS))
        batch.owners.prefetch({(text_id(e.originator_id),) for _, e in events if isinstance(e, Reservation.Event)})
        return batch

    def apply(self, db: Database, events: Sequence[Positioned]) -> None:
        with localcontext() as ctx:
            ctx.prec = 60  # products of several factors stay exact
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
               batch.in_force(owner.site_id, hour).seq)
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
        revisions = batch.revisions(site)
        revision = FactorRevision(site, len(revisions), hour_ceil(event.effective_from),
                                  event.effective_from.isoformat(), Decimal(event.grid_intensity_g_per_kwh),
                                  Decimal(event.pue), Decimal(event.carbon_free_share),
                                  getattr(event, "factor_source", "") or "")
        batch.db.upsert(FACTORS, batch.prefix + FACTORS.name, [FACTORS.values_of(revision)], add=False)
        if revisions:
            # Usage already recorded for hours from this revision on was priced with the factors
            # in force before it (revisions only move forward): re-price it.
            batch.hours.flush(batch.db, batch.prefix + HOURS.name)
            old = revisions[-1]
            for hour, tenant, model, used_micro in batch.db.fetchall(
                    f"SELECT hour, tenant_id, model, used_micro FROM {batch.prefix}{HOURS.name} "
                    "WHERE site_id = ? AND hour >= ? ORDER BY hour, tenant_id, model", (site, revision.from_hour)):
                key = (tenant, site, model, month_of_hour(int(hour)))
                batch.add_month(key, int(used_micro), old, -1)
                batch.add_month(key, int(used_micro), revision, 1)
        revisions.append(revision)
