"""The cheap copies of cached aggregates (``domain/aggregates/copying.py``) are deep copies.

The repository copies a cached aggregate for every command, and a booking reads its tenant's
copy. A copy that shared a container with the cached original would let a command's changes (or
its new pending events) leak into the cache. For any history of a tenant's changes, a copy
starts equal to the original, and any further changes to the copy leave the original as it was.
"""

from __future__ import annotations

import copy
import uuid
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.aggregates import Tenant
from domain.reference import GPU_MODELS

MODELS = sorted(GPU_MODELS)
rates = st.dictionaries(st.sampled_from(MODELS), st.decimals(Decimal("0.01"), Decimal("99"), places=2),
                        min_size=1, max_size=3)
shares = st.decimals(Decimal(0), Decimal(1), places=2)
changes = st.lists(st.one_of(
    st.tuples(st.just("plan"), rates, shares),
    st.tuples(st.just("on_demand"), rates),
    st.tuples(st.just("contract")),
    st.tuples(st.just("suspension")),
), max_size=6)


def change(tenant: Tenant, step: tuple[Any, ...]) -> None:
    match step:
        case ("plan", new_rates, share):
            tenant.change_plan(rates=new_rates, cancellation_fee_share=share)
        case ("on_demand", new_rates):
            tenant.set_on_demand_rates(rates=new_rates)
        case ("contract",):
            tenant.contract_signed(uuid.uuid4())
        case ("suspension",):
            if tenant.suspended:
                tenant.reinstate()
            else:
                tenant.suspend(reason="unpaid")


def state(tenant: Tenant) -> dict[str, object]:
    """Everything the aggregate holds, pending events as their ids (copied by value)."""
    held = {name: copy.deepcopy(value) for name, value in vars(tenant).items() if name != "_pending_events"}
    held["pending"] = [id(event) for event in tenant._pending_events]
    return held


@given(rates, shares, changes, changes)
def test_a_tenant_copy_is_deep(first_rates: dict[str, Decimal], share: Decimal, before: list[tuple[Any, ...]],
                               after: list[tuple[Any, ...]]) -> None:
    original = Tenant.register(name="Lab", billing_currency="USD", rates=first_rates, cancellation_fee_share=share)
    for step in before:
        change(original, step)
    kept = state(original)
    clone = copy.deepcopy(original)
    assert clone is not original and type(clone) is Tenant
    assert {k: v for k, v in state(clone).items() if k != "pending"} == \
           {k: v for k, v in kept.items() if k != "pending"}
    assert clone.version == original.version and clone.rates == original.rates
    for step in after:
        change(clone, step)
    assert state(original) == kept  # nothing done to the copy reached the original
