"""Capex: money in (funding rounds) against capacity bought and revenue booked.

Per funding round: committed, received, capex committed (orders placed), spent (delivered
units x unit price). Per site and model: GPUs ordered, delivered, in service (commissioned
minus decommissioned), capex committed and spent per currency, and revenue booked there
(booked GPU-hours x locked rate, plus cancellation fees) per tenant currency. Amounts are
exact here; the report rounds them (banker's rounding) to the currency's minor unit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from projections.base import Projection, Rows
from projections.db import Database, Table
from projections.events import Event, dec, hour_floor, uuid_str

T, B = "TEXT", "BIGINT"


class Capex(Projection):
    name = "capex"
    topics = ("ledger:FundingRound.Opened", "ledger:FundingRound.CommitmentRecorded",
              "ledger:FundingRound.TrancheReceived", "ledger:FundingRound.CapexCommitted",
              "ledger:SupplyOrder.Placed", "ledger:SupplyOrder.Delivered", "ledger:SupplyOrder.Commissioned",
              "ledger:GpuPool.Created", "ledger:GpuPool.Decommissioned",
              "ledger:Reservation.Confirmed", "ledger:Reservation.Extended", "ledger:Reservation.Cancelled")
    tables = (
        Table("cap_rounds", (("round_id", T), ("name", T), ("currency", T), ("committed", T), ("received", T),
                             ("capex_committed", T), ("spent", T)), ("round_id",)),
        Table("cap_orders", (("order_id", T), ("round_id", T), ("site_id", T), ("model", T), ("currency", T),
                             ("unit_price", T)), ("order_id",)),
        Table("cap_pool_ids", (("pool_id", T), ("site_id", T), ("model", T)), ("pool_id",)),
        Table("cap_reservations", (("reservation_id", T), ("site_id", T), ("model", T), ("currency", T),
                                   ("gpus", B), ("rate", T)), ("reservation_id",)),
        Table("cap_pools", (("site_id", T), ("model", T), ("ordered", B), ("delivered", B), ("commissioned", B),
                            ("decommissioned", B)), ("site_id", "model")),
        Table("cap_pool_money", (("site_id", T), ("model", T), ("currency", T), ("capex_committed", T),
                                 ("spent", T)), ("site_id", "model", "currency")),
        Table("cap_revenue", (("site_id", T), ("model", T), ("currency", T), ("booked_gpu_hours", B),
                              ("revenue", T)), ("site_id", "model", "currency")),
    )

    def apply(self, db: Database, events: list[Event]) -> None:
        self.remember(db, "cap_orders", [
            (e.originator_id, uuid_str(e.data["funding_round_id"]), uuid_str(e.data["site_id"]), e.data["model"],
             e.data["currency"], str(dec(e.data["unit_price"]))) for e in events if e.topic == "ledger:SupplyOrder.Placed"])
        self.remember(db, "cap_pool_ids", [(e.originator_id, uuid_str(e.data["site_id"]), e.data["model"])
                                           for e in events if e.topic == "ledger:GpuPool.Created"])
        self.remember(db, "cap_reservations", [
            (e.originator_id, uuid_str(e.data["site_id"]), e.data["model"], e.data["currency"], int(e.data["gpus"]),
             str(dec(e.data["rate_per_gpu_hour"]))) for e in events if e.topic == "ledger:Reservation.Confirmed"])
        orders = self.lookup(db, "cap_orders", {e.originator_id for e in events
                                                if e.topic.startswith("ledger:SupplyOrder")})
        pools = self.lookup(db, "cap_pool_ids", {e.originator_id for e in events if e.topic.startswith("ledger:GpuPool")})
        reservations = self.lookup(db, "cap_reservations", {
            e.originator_id for e in events if e.topic.startswith("ledger:Reservation")})
        rounds, pool_rows = self.rows(db, "cap_rounds"), self.rows(db, "cap_pools")
        money, revenue = self.rows(db, "cap_pool_money"), self.rows(db, "cap_revenue")

        def round_row(round_id: str) -> list[Any]:
            row = rounds.get((round_id,))
            if row is None:
                raise LookupError(f"capex: funding round {round_id} was never opened")
            return row

        def bump(rows: Rows, key: tuple[Any, ...], blank: list[Any], changes: dict[int, Any]) -> None:
            row = rows.get(key) or [*key, *blank]
            for index, delta in changes.items():
                row[index] = (int(row[index]) + delta) if isinstance(delta, int) else str(Decimal(row[index]) + delta)
            rows.put(row)

        for e in events:
            topic, data, oid = e.topic, e.data, e.originator_id
            if topic == "ledger:FundingRound.Opened":
                rounds.put([oid, data["name"], data["currency"], "0", "0", "0", "0"])
            elif topic == "ledger:FundingRound.CommitmentRecorded":
                row = round_row(oid); row[3] = str(Decimal(row[3]) + dec(data["amount"])); rounds.put(row)  # noqa: E702
            elif topic == "ledger:FundingRound.TrancheReceived":
                row = round_row(oid); row[4] = str(Decimal(row[4]) + dec(data["amount"])); rounds.put(row)  # noqa: E702
            elif topic == "ledger:FundingRound.CapexCommitted":
                row = round_row(oid); row[5] = str(Decimal(row[5]) + dec(data["amount"])); rounds.put(row)  # noqa: E702
            elif topic == "ledger:SupplyOrder.Placed":
                quantity, value = int(data["quantity"]), int(data["quantity"]) * dec(data["unit_price"])
                bump(pool_rows, orders[oid][1:3], [0, 0, 0, 0], {2: quantity})
                bump(money, (*orders[oid][1:3], orders[oid][3]), ["0", "0"], {3: value})
            elif topic == "ledger:SupplyOrder.Delivered":
                round_id, site, model, currency, price = orders[oid]
                value = int(data["quantity"]) * Decimal(price)
                row = round_row(round_id); row[6] = str(Decimal(row[6]) + value); rounds.put(row)  # noqa: E702
                bump(pool_rows, (site, model), [0, 0, 0, 0], {3: int(data["quantity"])})
                bump(money, (site, model, currency), ["0", "0"], {4: value})
            elif topic == "ledger:SupplyOrder.Commissioned":
                bump(pool_rows, orders[oid][1:3], [0, 0, 0, 0], {4: int(data["quantity"])})
            elif topic == "ledger:GpuPool.Decommissioned":
                bump(pool_rows, pools[oid], [0, 0, 0, 0], {5: int(data["quantity"])})
            elif topic.startswith("ledger:Reservation"):
                site, model, currency, gpus, rate = reservations[oid]
                if topic == "ledger:Reservation.Confirmed":
                    gpu_hours = gpus * (hour_floor(data["end"]) - hour_floor(data["start"]))
                    extra = Decimal(0)
                elif topic == "ledger:Reservation.Extended":
                    gpu_hours = gpus * (hour_floor(data["end"]) - hour_floor(data["previous_end"]))
                    extra = Decimal(0)
                else:
                    gpu_hours = -gpus * (hour_floor(data["released_until"]) - hour_floor(data["released_from"]))
                    extra = dec(data["fee"])
                bump(revenue, (site, model, currency), [0, "0"], {3: gpu_hours, 4: gpu_hours * Decimal(rate) + extra})
        for rows in (rounds, pool_rows, money, revenue):
            rows.flush()
