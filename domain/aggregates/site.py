"""Site: a data-centre campus with effective-dated energy factors."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.checks import decimal_in_range, text
from domain.errors import InvalidInput
from domain.timeutil import check_utc

# Physical ranges: the dirtiest grids are ~1,000 gCO2e/kWh (coal ~820-1,050 per IPCC AR5
# lifecycle figures); PUE is >= 1 by definition (The Green Grid) and no real site is above 3.
GRID_INTENSITY_RANGE = (Decimal(0), Decimal(2000))
PUE_RANGE = (Decimal(1), Decimal(3))
SHARE_RANGE = (Decimal(0), Decimal(1))


def check_factors(grid_intensity_g_per_kwh: object, pue: object,
                  carbon_free_share: object) -> tuple[Decimal, Decimal, Decimal]:
    return (
        decimal_in_range(grid_intensity_g_per_kwh, field="grid_intensity_g_per_kwh",
                         low=GRID_INTENSITY_RANGE[0], high=GRID_INTENSITY_RANGE[1]),
        decimal_in_range(pue, field="pue", low=PUE_RANGE[0], high=PUE_RANGE[1]),
        decimal_in_range(carbon_free_share, field="carbon_free_share", low=SHARE_RANGE[0], high=SHARE_RANGE[1]),
    )


class Site(Aggregate):
    TOPIC = "ledger:Site"

    class Created(Aggregate.Created):  # unused; every event class needs an explicit topic
        TOPIC = "ledger:Site.Created"

    class Registered(Aggregate.Created):
        TOPIC = "ledger:Site.Registered"
        name: str
        country: str
        grid_intensity_g_per_kwh: Decimal
        pue: Decimal
        carbon_free_share: Decimal
        effective_from: datetime
        factor_source: str

    @event(Registered)
    def __init__(
        self,
        name: str,
        country: str,
        grid_intensity_g_per_kwh: Decimal,
        pue: Decimal,
        carbon_free_share: Decimal,
        effective_from: datetime,
        factor_source: str,
        id: UUID | None = None,  # the caller's choice, else uuid4
    ) -> None:
        self.name = name
        self.country = country
        # Each revision: [effective_from, grid intensity, PUE, carbon-free share, source].
        self.revisions: list[list[Any]] = [
            [effective_from, grid_intensity_g_per_kwh, pue, carbon_free_share, factor_source]
        ]

    @classmethod
    def register(cls, *, name: object, country: object, grid_intensity_g_per_kwh: object, pue: object,
                 carbon_free_share: object, effective_from: object, factor_source: object = "operator",
                 site_id: UUID | None = None) -> Site:
        name = text(name, field="name")
        country = text(country, field="country", maximum=2).upper()
        if len(country) != 2 or not country.isalpha():
            raise InvalidInput(f"country: expected an ISO 3166 alpha-2 code, got {country!r}", field="country")
        grid, pue_, share = check_factors(grid_intensity_g_per_kwh, pue, carbon_free_share)
        return cls(name, country, grid, pue_, share, check_utc(effective_from, field="effective_from"),
                   text(factor_source, field="factor_source", maximum=500), id=site_id)

    def revise(self, *, effective_from: object, grid_intensity_g_per_kwh: object, pue: object,
               carbon_free_share: object, factor_source: object = "operator") -> None:
        """Record new factors in force from ``effective_from`` (later than the last revision)."""
        start = check_utc(effective_from, field="effective_from")
        if start <= self.revisions[-1][0]:
            raise InvalidInput(
                f"effective_from: {start.isoformat()} must be after the latest revision "
                f"({self.revisions[-1][0].isoformat()})", field="effective_from")
        grid, pue_, share = check_factors(grid_intensity_g_per_kwh, pue, carbon_free_share)
        self._revised(start, grid, pue_, share, text(factor_source, field="factor_source", maximum=500))

    class Revised(Aggregate.Event):
        TOPIC = "ledger:Site.Revised"
        effective_from: datetime
        grid_intensity_g_per_kwh: Decimal
        pue: Decimal
        carbon_free_share: Decimal
        factor_source: str

    @event(Revised)
    def _revised(self, effective_from: datetime, grid_intensity_g_per_kwh: Decimal, pue: Decimal,
                 carbon_free_share: Decimal, factor_source: str) -> None:
        self.revisions.append([effective_from, grid_intensity_g_per_kwh, pue, carbon_free_share, factor_source])

    def factors_at(self, moment: datetime) -> tuple[Decimal, Decimal, Decimal]:
        """(grid intensity gCO2e/kWh, PUE, carbon-free share) in force at ``moment``."""
        current = self.revisions[0]
        for revision in self.revisions:
            if revision[0] <= moment:
                current = revision
        return current[1], current[2], current[3]
