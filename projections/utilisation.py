"""Utilisation: per site / GPU model / hour (rolled up to day and month), GPU-hours in
service, booked and used.

- In service: a step function kept as its changes (``utl_capacity``: +commissioned,
  -decommissioned, effective from the first whole hour at or after the event's time, as the
  pool aggregate does). Queries integrate it over the periods asked for, so its cost depends
  on the number of changes, not on the number of hours.
- Booked: the pool's CapacityBooked / CapacityReleased spans, per hour, day and month.
- Used: metered usage, kept as integer micro-GPU-hours (usage has <= 6 decimal places), so the
  additive upserts stay exact on SQLite too.
"""

from __future__ import annotations

from projections.base import Adder, Projection
from projections.db import Table
from projections.events import Event, dec, hour_ceil, hour_floor, micro, month_of_hour, uuid_str

T, B = "TEXT", "BIGINT"


class Utilisation(Projection):
    name = "utilisation"
    topics = ("ledger:GpuPool.Created", "ledger:GpuPool.Commissioned", "ledger:GpuPool.Decommissioned",
              "ledger:GpuPool.CapacityBooked", "ledger:GpuPool.CapacityReleased",
              "ledger:Reservation.Confirmed", "ledger:Reservation.UsageRecorded")
    tables = (
        Table("utl_pools", (("pool_id", T), ("site_id", T), ("model", T)), ("pool_id",)),
        Table("utl_reservations", (("reservation_id", T), ("site_id", T), ("model", T)), ("reservation_id",)),
        Table("utl_capacity", (("site_id", T), ("model", T), ("hour", B), ("delta", B)), ("site_id", "model", "hour")),
        Table("utl_hours", (("site_id", T), ("model", T), ("hour", B), ("booked", B), ("used_micro", B)),
              ("site_id", "model", "hour"), indexes=(("hour",),)),
        Table("utl_days", (("site_id", T), ("model", T), ("day", B), ("booked", B), ("used_micro", B)),
              ("site_id", "model", "day")),
        Table("utl_months", (("site_id", T), ("model", T), ("month", T), ("booked", B), ("used_micro", B)),
              ("site_id", "model", "month")),
    )

    def apply(self, db, events: list[Event]) -> None:  # type: ignore[no-untyped-def]
        pools_new = [(e.originator_id, uuid_str(e.data["site_id"]), e.data["model"])
                     for e in events if e.topic == "ledger:GpuPool.Created"]
        res_new = [(e.originator_id, uuid_str(e.data["site_id"]), e.data["model"])
                   for e in events if e.topic == "ledger:Reservation.Confirmed"]
        self.remember(db, "utl_pools", pools_new)
        self.remember(db, "utl_reservations", res_new)
        pools = self.lookup(db, "utl_pools", {e.originator_id for e in events if e.topic.startswith("ledger:GpuPool")})
        reservations = self.lookup(db, "utl_reservations", {
            e.originator_id for e in events if e.topic == "ledger:Reservation.UsageRecorded"})

        capacity = Adder(self.table("utl_capacity"))
        hours = Adder(self.table("utl_hours"))
        add = hours.add

        for e in events:
            topic, data = e.topic, e.data
            if topic == "ledger:Reservation.UsageRecorded":
                site, model = reservations[e.originator_id]
                add((site, model, hour_floor(data["hour"])), 0, micro(dec(data["gpu_hours"])))
            elif topic in ("ledger:GpuPool.CapacityBooked", "ledger:GpuPool.CapacityReleased"):
                site, model = pools[e.originator_id]
                gpus = int(data["gpus"]) if topic.endswith("Booked") else -int(data["gpus"])
                for hour in range(hour_floor(data["start"]), hour_floor(data["end"])):
                    add((site, model, hour), gpus, 0)
            elif topic == "ledger:GpuPool.Commissioned":
                site, model = pools[e.originator_id]
                capacity.add((site, model, hour_ceil(data["at"])), int(data["quantity"]))
            elif topic == "ledger:GpuPool.Decommissioned":
                site, model = pools[e.originator_id]
                capacity.add((site, model, hour_ceil(data["at"])), -int(data["quantity"]))

        # Day and month roll-ups from the batch's hourly deltas: far fewer keys than events.
        days, months = Adder(self.table("utl_days")), Adder(self.table("utl_months"))
        for (site, model, hour), (booked, used) in hours.deltas.items():
            days.add((site, model, hour // 24), booked, used)
            months.add((site, model, month_of_hour(hour)), booked, used)
        capacity.flush(db, self.t("utl_capacity"))
        hours.flush(db, self.t("utl_hours"))
        days.flush(db, self.t("utl_days"))
        months.flush(db, self.t("utl_months"))
