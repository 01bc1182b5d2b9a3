"""Tenant: plans (rates per model, cancellation fee share), plan changes and suspension."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain import Ledger
from domain.errors import InvalidInput, InvalidTransition, TenantSuspended, UnknownCurrency, UnknownGpuModel
from tests.builders import fleet, hour, refused, reserve


@pytest.mark.parametrize(("change", "error", "field"), [
    ({"billing_currency": "EURO"}, UnknownCurrency, "billing_currency"),
    ({"rates": {"TPU-v5": "2.00"}}, UnknownGpuModel, "rates"),
    ({"rates": {"H100-SXM": "-2.00"}}, InvalidInput, "rates"),
    ({"rates": {"H100-SXM": "0"}}, InvalidInput, "rates"),
    ({"rates": {"H100-SXM": 2.5}}, InvalidInput, "rates"),
    ({"rates": {"H100-SXM": "2.1234567"}}, InvalidInput, "rates"),
    ({"rates": {}}, InvalidInput, "rates"),
    ({"rates": "2.50"}, InvalidInput, "rates"),
    ({"cancellation_fee_share": "1.5"}, InvalidInput, "cancellation_fee_share"),
    ({"cancellation_fee_share": "-0.1"}, InvalidInput, "cancellation_fee_share"),
    ({"name": "  "}, InvalidInput, "name"),
])
def test_bad_tenants_are_refused(memory_ledger: Ledger, change: dict[str, object], error: type[Exception],
                                 field: str) -> None:
    args = {"name": "Lab", "billing_currency": "GBP", "rates": {"H100-SXM": "2.50"}, "cancellation_fee_share": "0.2"}
    with refused(memory_ledger, error, field):  # type: ignore[arg-type]
        memory_ledger.register_tenant(**{**args, **change})


def test_a_suspended_tenant_cannot_reserve_until_reinstated(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger)
    memory_ledger.suspend_tenant(f.tenant_id, reason="unpaid invoice")
    with refused(memory_ledger, TenantSuspended, "tenant_id"):
        reserve(f, 1, 0, 2)
    assert memory_ledger.get_pool(f.site_id, f.model).free_gpus(hour(0), hour(2)) == 8
    memory_ledger.reinstate_tenant(f.tenant_id)
    reserve(f, 1, 0, 2)


def test_suspending_twice_or_reinstating_an_active_tenant_is_refused(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger)
    with refused(memory_ledger, InvalidTransition):
        memory_ledger.reinstate_tenant(f.tenant_id)
    memory_ledger.suspend_tenant(f.tenant_id, reason="fraud check")
    with refused(memory_ledger, InvalidTransition):
        memory_ledger.suspend_tenant(f.tenant_id, reason="again")
    memory_ledger.reinstate_tenant(f.tenant_id)
    with refused(memory_ledger, InvalidInput, "reason"):
        memory_ledger.suspend_tenant(f.tenant_id, reason="")


def test_a_plan_change_applies_to_new_reservations_only(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger, rate="2.50")
    before = reserve(f, 1, 0, 1)
    memory_ledger.change_plan(f.tenant_id, rates={"H100-SXM": "3.10"}, cancellation_fee_share="0.5")
    after = reserve(f, 1, 0, 1)
    assert memory_ledger.get_reservation(before).rate_per_gpu_hour == Decimal("2.50")
    assert memory_ledger.get_reservation(before).cancellation_fee_share == Decimal("0.25")
    assert memory_ledger.get_reservation(after).rate_per_gpu_hour == Decimal("3.10")
    assert memory_ledger.get_reservation(after).cancellation_fee_share == Decimal("0.5")


def test_a_model_outside_the_tenants_plan_needs_a_negotiated_rate(memory_ledger: Ledger) -> None:
    f = fleet(memory_ledger)
    memory_ledger.change_plan(f.tenant_id, rates={"H200": "3.00"}, cancellation_fee_share="0.25")
    with refused(memory_ledger, InvalidInput, "model"):
        reserve(f, 1, 0, 1)
    reservation = reserve(f, 1, 0, 1, rate_per_gpu_hour="1.99")
    assert memory_ledger.get_reservation(reservation).rate_per_gpu_hour == Decimal("1.99")
