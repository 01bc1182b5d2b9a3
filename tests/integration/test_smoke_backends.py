from datetime import UTC, datetime

import pytest

from bootstrap import open_ledger
from domain.errors import InsufficientCapacity

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_booking_beyond_capacity_is_refused_on_every_store(database_url: str) -> None:
    ledger = open_ledger(database_url, clock=lambda: datetime(2026, 3, 1, tzinfo=UTC))
    site = ledger.register_site(name="UK", country="GB", grid_intensity_g_per_kwh="225", pue="1.18",
                                carbon_free_share="0.6", effective_from=T0)
    fund = ledger.open_funding_round(name="B", currency="USD", opened_at=T0)
    ledger.record_commitment(fund.id, investor="X", amount="1000000", currency="USD", equity_percent="1")
    ledger.record_tranche(fund.id, investor="X", amount="1000000", currency="USD", received_at=T0)
    order = ledger.place_supply_order(funding_round_id=fund.id, site_id=site.id, model="H100-SXM", quantity=4,
                                      unit_price="25000", currency="USD", placed_at=T0)
    ledger.record_delivery(order.id, quantity=4, delivered_at=T0)
    ledger.commission(order.id, quantity=4, commissioned_at=T0)
    tenant = ledger.register_tenant(name="Lab", billing_currency="USD", rates={"H100-SXM": "2.50"})
    ledger.confirm_reservation(tenant_id=tenant.id, site_id=site.id, model="H100-SXM", gpus=3,
                               start=datetime(2026, 2, 1, tzinfo=UTC), end=datetime(2026, 2, 2, tzinfo=UTC),
                               backfill=True)  # February has passed by this clock
    before = ledger.max_position()
    with pytest.raises(InsufficientCapacity):
        ledger.confirm_reservation(tenant_id=tenant.id, site_id=site.id, model="H100-SXM", gpus=2,
                                   start=datetime(2026, 2, 1, 12, tzinfo=UTC),
                                   end=datetime(2026, 2, 1, 13, tzinfo=UTC), backfill=True)
    assert ledger.max_position() == before
    ledger.close()
