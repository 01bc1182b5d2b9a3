"""Carbon on billing lines: metered usage priced by the carbon method (``projections.carbon``,
the one the sustainability report uses) per reservation and month of use.

The billing projection keeps its own copy of each site's factor revisions (``bil_factors``) and
of the hourly usage per reservation (``bil_usage``, to re-price usage when a revision is recorded
after it), so it can be rebuilt on its own. Usage is gathered per (reservation, site, month,
revision) and priced once per key when ``settle`` is called (linear: exact).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from projections.carbon import Carbon, FactorBook, FactorRevision, carbon_of
from projections.rows import Adder
from projections.timeaxis import month_of_hour
from storage.database import Database
from storage.tables import Table


@dataclass(slots=True)
class UsageHour:
    site_id: str
    hour: int
    reservation_id: str
    used_micro: int


FACTORS = Table("bil_factors", FactorRevision, key=("site_id", "seq"))
USAGE = Table("bil_usage", UsageHour, key=("site_id", "hour", "reservation_id"))

# (reservation id, month of use, carbon to add -- negative to take away)
AddCarbon = Callable[[str, str, Carbon], None]


def difference(new: Carbon, old: Carbon) -> Carbon:
    return Carbon(new.energy_kwh - old.energy_kwh, new.location_kg - old.location_kg, new.market_kg - old.market_kg)


class LineCarbon:
    """The usage side of the billing projection for one batch."""

    def __init__(self, db: Database, prefix: str) -> None:
        self.db = db
        self.usage_name = prefix + USAGE.name
        self.factors = FactorBook(db, FACTORS, prefix + FACTORS.name)
        self.usage: Adder[UsageHour] = Adder(USAGE)
        self.pending: dict[tuple[str, str, str, int], int] = {}

    def use(self, reservation: str, site: str, hour: int, used_micro: int) -> None:
        self.usage.add((site, hour, reservation), used_micro)
        key = (reservation, site, month_of_hour(hour), self.factors.in_force(site, hour).seq)
        self.pending[key] = self.pending.get(key, 0) + used_micro

    def settle(self, model_of: Callable[[str], str], add: AddCarbon) -> None:
        """Price the usage gathered so far onto the lines."""
        pending, self.pending = self.pending, {}
        for (reservation, site, month, seq), used_micro in pending.items():
            add(reservation, month, carbon_of(used_micro, model_of(reservation), self.factors.revisions(site)[seq]))

    def revise(self, event: Any, site: str, model_of: Callable[[str], str], add: AddCarbon) -> None:
        """Record a site's factor revision; usage already priced for hours from it on moves from
        the factors in force before it to the new ones (call ``settle`` first)."""
        old, revision = self.factors.add(event, site)
        if old is None:
            return
        self.flush()
        used: dict[tuple[str, str], int] = defaultdict(int)
        for hour, reservation, used_micro in self.db.fetchall(
                f"SELECT hour, reservation_id, used_micro FROM {self.usage_name} WHERE site_id = ? AND hour >= ? "
                "ORDER BY hour, reservation_id", (site, revision.from_hour)):
            used[(str(reservation), month_of_hour(int(hour)))] += int(used_micro)
        for (reservation, month), used_micro in sorted(used.items()):
            model = model_of(reservation)
            add(reservation, month, difference(carbon_of(used_micro, model, revision),
                                               carbon_of(used_micro, model, old)))

    def flush(self) -> None:
        self.usage.flush(self.db, self.usage_name)
