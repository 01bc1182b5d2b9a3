"""The carbon method, in one place, for every read model that prices usage (sustainability,
billing lines): the factors in force per site and hour, and energy and carbon of used GPU-hours.

Method (operational emissions only, in the style of Cloud Carbon Footprint / GHG Protocol
scope 2 dual reporting; embodied emissions are out of scope):
- energy kWh          = used GPU-hours x GPU board power kW (domain.reference.GPU_MODELS)
                       x site PUE in force at that hour
- location-based kg  = kWh x grid intensity gCO2e/kWh in force at that hour / 1000
- market-based kg    = location-based kg x (1 - contracted carbon-free share in force)
"In force at hour h" = the site's latest factor revision whose effective_from is at or before
the start of h (the first one for hours before it), as ``Site.factors_at`` does. Figures are
exact decimals (computed under ``PRECISION`` significant digits, far more than any product
needs); round only for display. Energy and carbon are linear in usage, so pricing a sum of
usage with one revision equals summing the prices of its parts, exactly.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.reference import GPU_MODELS
from projections.timeaxis import from_micro, hour_ceil
from storage.database import Database
from storage.tables import Table

PRECISION = 60
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


@dataclass(frozen=True, slots=True)
class Carbon:
    energy_kwh: Decimal
    location_kg: Decimal
    market_kg: Decimal


def carbon_of(used_micro: int, model: str, factors: FactorRevision) -> Carbon:
    """Energy and location-/market-based kgCO2e of ``used_micro`` micro-GPU-hours of ``model``
    under ``factors`` (call inside a decimal context of ``PRECISION`` digits)."""
    kwh = from_micro(used_micro) * GPU_MODELS[model].board_power_kw * factors.pue
    location = kwh * factors.grid_g_per_kwh / 1000
    return Carbon(kwh, location, location * (1 - factors.carbon_free_share))


def revision_of(event: Any, site: str, seq: int) -> FactorRevision:
    """The revision a ``Site.Registered`` or ``Site.Revised`` event records."""
    return FactorRevision(site, seq, hour_ceil(event.effective_from), event.effective_from.isoformat(),
                          Decimal(event.grid_intensity_g_per_kwh), Decimal(event.pue),
                          Decimal(event.carbon_free_share), getattr(event, "factor_source", "") or "")


class FactorBook:
    """The factor revisions of each site, kept in a projection's own ``table`` (each read model
    owns its copy, so one can be rebuilt while the others stay live)."""

    def __init__(self, db: Database, table: Table[FactorRevision], name: str) -> None:
        self.db, self.table, self.name = db, table, name
        self.sites: dict[str, list[FactorRevision]] = {}

    def revisions(self, site: str) -> list[FactorRevision]:
        found = self.sites.get(site)
        if found is None:
            found = self.sites[site] = [self.table.from_db(r) for r in self.db.fetchall(
                f"SELECT {', '.join(self.table.column_names)} FROM {self.name} WHERE site_id = ? ORDER BY seq",
                (site,))]
        return found

    def in_force(self, site: str, hour: int) -> FactorRevision:
        revisions = self.revisions(site)
        if not revisions:
            raise LookupError(f"usage at site {site} before the site was registered")
        if len(revisions) == 1 or hour < revisions[1].from_hour:
            return revisions[0]  # the common case: one revision, or an hour before the second
        i = bisect_right([r.from_hour for r in revisions], hour) - 1
        return revisions[max(i, 0)]

    def add(self, event: Any, site: str) -> tuple[FactorRevision | None, FactorRevision]:
        """Record the event's revision; returns (the revision in force before it, the new one)."""
        revisions = self.revisions(site)
        revision = revision_of(event, site, len(revisions))
        self.db.upsert(self.table, self.name, [self.table.values_of(revision)], add=False)
        previous = revisions[-1] if revisions else None
        revisions.append(revision)
        return previous, revision
