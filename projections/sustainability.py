"""Sustainability: per tenant, site and month, used GPU-hours, energy and carbon.

Method (operational emissions only, in the style of Cloud Carbon Footprint / GHG Protocol
scope 2 guidance; embodied emissions are out of scope):
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
from decimal import Decimal, localcontext
from typing import Any

from domain.reference import GPU_MODELS
from projections.base import Adder, Projection
from projections.db import Database, Table
from projections.events import Event, dec, from_micro, hour_ceil, hour_floor, micro, month_of_hour, uuid_str

T, B = "TEXT", "BIGINT"
METHOD = ("energy = GPU-hours x board power x PUE; location-based = energy x grid intensity; "
          "market-based = location-based x (1 - carbon-free share); factors in force per hour")


class Sustainability(Projection):
    name = "sustainability"
    topics = ("ledger:Site.Registered", "ledger:Site.Revised", "ledger:Reservation.Confirmed",
              "ledger:Reservation.UsageRecorded")
    tables = (
        Table("sus_factors", (("site_id", T), ("seq", B), ("from_hour", B), ("effective_from", T), ("grid", T),
                              ("pue", T), ("cfs", T), ("source", T)), ("site_id", "seq")),
        Table("sus_reservations", (("reservation_id", T), ("tenant_id", T), ("site_id", T), ("model", T)),
              ("reservation_id",)),
        Table("sus_hours", (("site_id", T), ("hour", B), ("tenant_id", T), ("model", T), ("used_micro", B)),
              ("site_id", "hour", "tenant_id", "model")),
        Table("sus_months", (("tenant_id", T), ("site_id", T), ("model", T), ("month", T), ("used_micro", B),
                             ("energy_kwh", T), ("location_kg", T), ("market_kg", T)),
              ("tenant_id", "site_id", "model", "month")),
    )

    def factors(self, db: Database, site: str) -> list[tuple[Any, ...]]:
        """The site's revisions in order: (from_hour, seq, grid, pue, cfs), memoised."""
        memo = self.lookups["sus_factors"]
        if site not in memo:
            rows = db.fetchall(f"SELECT from_hour, seq, grid, pue, cfs FROM {self.t('sus_factors')} "
                               "WHERE site_id = ? ORDER BY seq", (site,))
            memo[site] = tuple((r[0], r[1], Decimal(r[2]), Decimal(r[3]), Decimal(r[4])) for r in rows)
        return list(memo[site])

    def apply(self, db: Database, events: list[Event]) -> None:
        new = [(e.originator_id, uuid_str(e.data["tenant_id"]), uuid_str(e.data["site_id"]), e.data["model"])
               for e in events if e.topic == "ledger:Reservation.Confirmed"]
        self.remember(db, "sus_reservations", new)
        reservations = self.lookup(db, "sus_reservations", {
            e.originator_id for e in events if e.topic == "ledger:Reservation.UsageRecorded"})
        months = self.rows(db, "sus_months")
        hours = Adder(self.table("sus_hours"))
        # Prefetch every month row this batch's usage touches: one query, not one per event.
        keys = set()
        for e in events:
            if e.topic == "ledger:Reservation.UsageRecorded":
                tenant, site, model = reservations[e.originator_id]
                keys.add((tenant, site, model, month_of_hour(hour_floor(e.data["hour"]))))
        months.prefetch(keys)

        with localcontext() as ctx:
            ctx.prec = 60  # products of several factors stay exact
            for e in events:
                data = e.data
                if e.topic == "ledger:Reservation.UsageRecorded":
                    tenant, site, model = reservations[e.originator_id]
                    hour = hour_floor(data["hour"])
                    used = dec(data["gpu_hours"])
                    hours.add((site, hour, tenant, model), micro(used))
                    key = (tenant, site, model, month_of_hour(hour))
                    self._add(months, key, used, self._in_force(db, site, hour), 1)
                elif e.topic in ("ledger:Site.Registered", "ledger:Site.Revised"):
                    hours.flush(db, self.t("sus_hours"))
                    self._revise(db, months, e)
        hours.flush(db, self.t("sus_hours"))
        months.flush()

    def _in_force(self, db: Database, site: str, hour: int) -> tuple[Decimal, Decimal, Decimal]:
        revisions = self.factors(db, site)
        if not revisions:
            raise LookupError(f"sustainability: usage at site {site} before the site was registered")
        i = bisect_right([r[0] for r in revisions], hour) - 1
        _, _, grid, pue, cfs = revisions[max(i, 0)]
        return grid, pue, cfs

    @staticmethod
    def _add(months: Any, key: tuple[Any, ...], used: Decimal, factors: tuple[Decimal, Decimal, Decimal],
             sign: int) -> None:
        grid, pue, cfs = factors
        row = months.get(key) or [*key, 0, "0", "0", "0"]
        kwh = used * GPU_MODELS[key[2]].board_power_kw * pue
        location = kwh * grid / 1000
        market = location * (1 - cfs)
        row[4] = int(row[4]) + sign * micro(used)
        row[5] = str(Decimal(row[5]) + sign * kwh)
        row[6] = str(Decimal(row[6]) + sign * location)
        row[7] = str(Decimal(row[7]) + sign * market)
        months.put(row)

    def _revise(self, db: Database, months: Any, e: Event) -> None:
        site = e.originator_id
        data = e.data
        revisions = self.factors(db, site)
        seq = len(revisions)
        from_hour = hour_ceil(data["effective_from"])
        revision = (from_hour, seq, dec(data["grid_intensity_g_per_kwh"]), dec(data["pue"]),
                    dec(data["carbon_free_share"]))
        db.upsert(self.table("sus_factors"), self.t("sus_factors"),
                  [(site, seq, from_hour, data["effective_from"]["_data_"], str(revision[2]), str(revision[3]),
                    str(revision[4]), data.get("factor_source", ""))], add=False)
        if revisions:
            # Usage already recorded for hours from this revision on was priced with the factors
            # in force before it (revisions only move forward): re-price it.
            old = revisions[-1][2:]
            rows = db.fetchall(f"SELECT hour, tenant_id, model, used_micro FROM {self.t('sus_hours')} "
                               "WHERE site_id = ? AND hour >= ? ORDER BY hour, tenant_id, model", (site, from_hour))
            for hour, tenant, model, used_micro in rows:
                key = (tenant, site, model, month_of_hour(hour))
                used = from_micro(int(used_micro))
                self._add(months, key, used, old, -1)
                self._add(months, key, used, revision[2:], 1)
        self.lookups["sus_factors"][site] = (*revisions, revision)
