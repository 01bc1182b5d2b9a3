"""Capex: money in (funding rounds) against capacity bought.

Per funding round: committed, received, capex committed (orders placed), spent (delivered units
x unit price). Per site and model: GPUs ordered, delivered, commissioned, decommissioned, and
capex committed and spent per currency. Amounts are exact here; reports round them (banker's
rounding) to the currency's minor unit. Revenue against capex comes from the billing lines
(rounded at the line, as invoiced): see ``projections.reports.capex``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import singledispatchmethod

from domain.aggregates import FundingRound, GpuPool, SupplyOrder
from projections.projection import Batch, Positioned, Projection, text_id
from projections.rows import RowSet
from storage.database import Database
from storage.tables import Table

ZERO = Decimal(0)


@dataclass(slots=True)
class RoundRow:
    round_id: str
    name: str
    currency: str
    committed: Decimal
    received: Decimal
    capex_committed: Decimal
    spent: Decimal


@dataclass(slots=True)
class OrderRow:
    order_id: str
    round_id: str
    site_id: str
    model: str
    currency: str
    unit_price: Decimal


@dataclass(slots=True)
class PoolIdRow:
    pool_id: str
    site_id: str
    model: str


@dataclass(slots=True)
class PoolCountRow:
    site_id: str
    model: str
    ordered: int
    delivered: int
    commissioned: int
    decommissioned: int


@dataclass(slots=True)
class PoolMoneyRow:
    site_id: str
    model: str
    currency: str
    capex_committed: Decimal
    spent: Decimal


ROUNDS = Table("cap_rounds", RoundRow, key=("round_id",))
ORDERS = Table("cap_orders", OrderRow, key=("order_id",))
POOL_IDS = Table("cap_pool_ids", PoolIdRow, key=("pool_id",))
POOLS = Table("cap_pools", PoolCountRow, key=("site_id", "model"))
POOL_MONEY = Table("cap_pool_money", PoolMoneyRow, key=("site_id", "model", "currency"))


@dataclass
class CapexBatch(Batch):
    rounds: RowSet[RoundRow]
    orders: RowSet[OrderRow]
    pool_ids: RowSet[PoolIdRow]
    pools: RowSet[PoolCountRow]
    money: RowSet[PoolMoneyRow]

    def flush(self) -> None:
        for rows in (self.rounds, self.orders, self.pool_ids, self.pools, self.money):
            rows.flush()

    def round(self, round_id: object) -> RoundRow:
        row = self.rounds.require((text_id(round_id),), f"capex: funding round {round_id} was never opened")
        self.rounds.changed(row)
        return row

    def order(self, order_id: object) -> OrderRow:
        return self.orders.require((text_id(order_id),), f"capex: supply order {order_id} was never placed")

    def pool(self, site: str, model: str) -> PoolCountRow:
        row = self.pools.get((site, model)) or PoolCountRow(site, model, 0, 0, 0, 0)
        self.pools.put(row)
        return row

    def pool_money(self, site: str, model: str, currency: str) -> PoolMoneyRow:
        row = self.money.get((site, model, currency)) or PoolMoneyRow(site, model, currency, ZERO, ZERO)
        self.money.put(row)
        return row


class Capex(Projection):
    name = "capex"
    title = "Funding rounds and capex per site and GPU model"
    tables = (ROUNDS, ORDERS, POOL_IDS, POOLS, POOL_MONEY)

    def begin(self, db: Database, events: Sequence[Positioned]) -> CapexBatch:
        return CapexBatch(self.rows(db, ROUNDS), self.rows(db, ORDERS), self.rows(db, POOL_IDS), self.rows(db, POOLS),
                          self.rows(db, POOL_MONEY))

    @singledispatchmethod
    def handle(self, event: object, batch: CapexBatch) -> None:
        """Events without a handler are ignored."""

    @handle.register(FundingRound.Opened)
    def _opened(self, event: FundingRound.Opened, batch: CapexBatch) -> None:
        batch.rounds.put(RoundRow(text_id(event.originator_id), event.name, event.currency, ZERO, ZERO, ZERO, ZERO))

    @handle.register(FundingRound.CommitmentRecorded)
    def _committed(self, event: FundingRound.CommitmentRecorded, batch: CapexBatch) -> None:
        batch.round(event.originator_id).committed += Decimal(event.amount)

    @handle.register(FundingRound.TrancheReceived)
    def _received(self, event: FundingRound.TrancheReceived, batch: CapexBatch) -> None:
        batch.round(event.originator_id).received += Decimal(event.amount)

    @handle.register(FundingRound.CapexCommitted)
    def _capex_committed(self, event: FundingRound.CapexCommitted, batch: CapexBatch) -> None:
        batch.round(event.originator_id).capex_committed += Decimal(event.amount)

    @handle.register(SupplyOrder.Placed)
    def _placed(self, event: SupplyOrder.Placed, batch: CapexBatch) -> None:
        order = batch.orders.put(OrderRow(text_id(event.originator_id), text_id(event.funding_round_id),
                                          text_id(event.site_id), event.model, event.currency,
                                          Decimal(event.unit_price)))
        batch.pool(order.site_id, order.model).ordered += int(event.quantity)
        batch.pool_money(order.site_id, order.model, order.currency).capex_committed += \
            int(event.quantity) * order.unit_price

    @handle.register(SupplyOrder.Delivered)
    def _delivered(self, event: SupplyOrder.Delivered, batch: CapexBatch) -> None:
        order = batch.order(event.originator_id)
        value = int(event.quantity) * order.unit_price
        batch.round(order.round_id).spent += value
        batch.pool(order.site_id, order.model).delivered += int(event.quantity)
        batch.pool_money(order.site_id, order.model, order.currency).spent += value

    @handle.register(SupplyOrder.Commissioned)
    def _commissioned(self, event: SupplyOrder.Commissioned, batch: CapexBatch) -> None:
        order = batch.order(event.originator_id)
        batch.pool(order.site_id, order.model).commissioned += int(event.quantity)

    @handle.register(GpuPool.Created)
    def _pool_created(self, event: GpuPool.Created, batch: CapexBatch) -> None:
        batch.pool_ids.put(PoolIdRow(text_id(event.originator_id), text_id(event.site_id), event.model))

    @handle.register(GpuPool.Decommissioned)
    def _decommissioned(self, event: GpuPool.Decommissioned, batch: CapexBatch) -> None:
        pool = batch.pool_ids.require((text_id(event.originator_id),),
                                      f"capex: no GpuPool.Created seen for pool {event.originator_id}")
        batch.pool(pool.site_id, pool.model).decommissioned += int(event.quantity)
