"""SupplyOrder: placing, deliveries (<= ordered) and commissioning (<= delivered) into a pool."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain import Ledger
from domain.errors import ExceedsOrdered, InvalidInput, NotFound, UnknownCurrency, UnknownGpuModel
from tests.builders import T0, funded_round, hour, refused, register_site

MISSING = "00000000-0000-0000-0000-00000000beef"


@pytest.fixture
def order_args(memory_ledger: Ledger) -> dict[str, object]:
    return {"funding_round_id": funded_round(memory_ledger), "site_id": register_site(memory_ledger),
            "model": "GB300", "quantity": 10, "unit_price": "60000", "currency": "USD", "placed_at": T0}


def test_an_order_commits_its_total_from_the_round(memory_ledger: Ledger, order_args: dict[str, object]) -> None:
    order_id = memory_ledger.place_supply_order(**order_args).id
    order = memory_ledger.get_supply_order(order_id)
    assert (order.model, order.quantity, order.total) == ("GB300", 10, 600000)
    assert memory_ledger.get_funding_round(order_args["funding_round_id"]).total_capex_committed == 600000


@pytest.mark.parametrize(("change", "error", "field"), [
    ({"model": "RTX-4090"}, UnknownGpuModel, "model"),
    ({"model": None}, UnknownGpuModel, "model"),
    ({"quantity": 0}, InvalidInput, "quantity"),
    ({"quantity": -3}, InvalidInput, "quantity"),
    ({"quantity": True}, InvalidInput, "quantity"),
    ({"quantity": 2.0}, InvalidInput, "quantity"),
    ({"quantity": "10"}, InvalidInput, "quantity"),
    ({"unit_price": 60000.0}, InvalidInput, "unit_price"),
    ({"unit_price": "-1"}, InvalidInput, "unit_price"),
    ({"unit_price": "0"}, InvalidInput, "unit_price"),
    ({"currency": "BTC"}, UnknownCurrency, "currency"),
    ({"placed_at": datetime(2026, 1, 1)}, InvalidInput, "placed_at"),
    ({"site_id": MISSING}, NotFound, "site_id"),
    ({"funding_round_id": MISSING}, NotFound, "funding_round_id"),
])
def test_bad_orders_are_refused(memory_ledger: Ledger, order_args: dict[str, object], change: dict[str, object],
                                error: type[Exception], field: str) -> None:
    with refused(memory_ledger, error, field):  # type: ignore[arg-type]
        memory_ledger.place_supply_order(**{**order_args, **change})


def test_deliveries_cannot_exceed_the_quantity_ordered(memory_ledger: Ledger, order_args: dict[str, object]) -> None:
    order_id = memory_ledger.place_supply_order(**order_args).id
    memory_ledger.record_delivery(order_id, quantity=6, delivered_at=T0)
    with refused(memory_ledger, ExceedsOrdered, "quantity"):
        memory_ledger.record_delivery(order_id, quantity=5, delivered_at=T0)
    memory_ledger.record_delivery(order_id, quantity=4, delivered_at=T0)
    assert memory_ledger.get_supply_order(order_id).delivered == 10


def test_bad_deliveries_are_refused(memory_ledger: Ledger, order_args: dict[str, object]) -> None:
    order_id = memory_ledger.place_supply_order(**order_args).id
    with refused(memory_ledger, InvalidInput, "quantity"):
        memory_ledger.record_delivery(order_id, quantity=0, delivered_at=T0)
    with refused(memory_ledger, InvalidInput, "delivered_at"):
        memory_ledger.record_delivery(order_id, quantity=1, delivered_at=datetime(2026, 1, 1))
    with refused(memory_ledger, NotFound, "supply_order_id"):
        memory_ledger.record_delivery(MISSING, quantity=1, delivered_at=T0)


def test_commissioning_cannot_exceed_deliveries_and_leaves_the_pool_untouched(
        memory_ledger: Ledger, order_args: dict[str, object]) -> None:
    order_id = memory_ledger.place_supply_order(**order_args).id
    with refused(memory_ledger, ExceedsOrdered, "quantity"):
        memory_ledger.commission(order_id, quantity=1, commissioned_at=T0)
    with pytest.raises(NotFound):
        memory_ledger.get_pool(order_args["site_id"], "GB300")
    memory_ledger.record_delivery(order_id, quantity=4, delivered_at=T0)
    memory_ledger.commission(order_id, quantity=3, commissioned_at=T0)
    with refused(memory_ledger, ExceedsOrdered, "quantity"):
        memory_ledger.commission(order_id, quantity=2, commissioned_at=T0)
    assert memory_ledger.get_pool(order_args["site_id"], "GB300").in_service_now_total == 3
    assert memory_ledger.get_supply_order(order_id).commissioned == 3


def test_commissioned_gpus_serve_from_the_next_whole_hour(memory_ledger: Ledger, order_args: dict[str, object]) -> None:
    order_id = memory_ledger.place_supply_order(**order_args).id
    memory_ledger.record_delivery(order_id, quantity=10, delivered_at=T0)
    memory_ledger.commission(order_id, quantity=4, commissioned_at=hour(10) + timedelta(minutes=30))
    memory_ledger.commission(order_id, quantity=6, commissioned_at=hour(20))
    pool = memory_ledger.get_pool(order_args["site_id"], "GB300")
    assert pool.free_gpus(hour(10), hour(11)) == 0
    assert pool.free_gpus(hour(11), hour(20)) == 4
    assert pool.free_gpus(hour(20), hour(21)) == 10
    assert pool.free_gpus(hour(11), hour(21)) == 4


def test_a_naive_commissioning_time_is_refused(memory_ledger: Ledger, order_args: dict[str, object]) -> None:
    order_id = memory_ledger.place_supply_order(**order_args).id
    memory_ledger.record_delivery(order_id, quantity=1, delivered_at=T0)
    with refused(memory_ledger, InvalidInput, "commissioned_at"):
        memory_ledger.commission(order_id, quantity=1, commissioned_at=datetime(2026, 1, 1))
