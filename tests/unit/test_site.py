"""Site: registration and effective-dated revisions of energy factors within physical ranges."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from domain import Ledger
from domain.errors import InvalidInput, NotFound
from tests.builders import T0, hour, refused

GOOD = {"name": "Stargate Norway", "country": "NO", "grid_intensity_g_per_kwh": "30", "pue": "1.1",
        "carbon_free_share": "0.98", "effective_from": T0}


def test_a_registered_site_reports_the_factors_in_force(memory_ledger: Ledger) -> None:
    site_id = memory_ledger.register_site(**GOOD).id
    memory_ledger.revise_site(site_id, effective_from=hour(24), grid_intensity_g_per_kwh="25", pue="1.08",
                              carbon_free_share="0.99")
    site = memory_ledger.get_site(site_id)
    assert site.country == "NO"
    assert site.factors_at(hour(23)) == (Decimal("30"), Decimal("1.1"), Decimal("0.98"))
    assert site.factors_at(hour(24)) == (Decimal("25"), Decimal("1.08"), Decimal("0.99"))


@pytest.mark.parametrize(("field", "value"), [
    ("pue", "0.99"), ("pue", "3.5"), ("pue", "-1"),
    ("grid_intensity_g_per_kwh", "-1"), ("grid_intensity_g_per_kwh", "2500"),
    ("carbon_free_share", "1.01"), ("carbon_free_share", "-0.1"),
    ("pue", 1.2), ("pue", True), ("pue", "NaN"), ("pue", "Infinity"), ("pue", "abc"),
])
def test_factors_outside_physical_range_or_inexact_are_refused(memory_ledger: Ledger, field: str,
                                                                value: object) -> None:
    with refused(memory_ledger, InvalidInput, field):
        memory_ledger.register_site(**{**GOOD, field: value})


@pytest.mark.parametrize("country", ["GBR", "1A", "", "G"])
def test_country_must_be_an_iso_alpha2_code(memory_ledger: Ledger, country: str) -> None:
    with refused(memory_ledger, InvalidInput, "country"):
        memory_ledger.register_site(**{**GOOD, "country": country})


def test_a_naive_effective_from_is_refused(memory_ledger: Ledger) -> None:
    with refused(memory_ledger, InvalidInput, "effective_from"):
        memory_ledger.register_site(**{**GOOD, "effective_from": datetime(2026, 1, 1)})


def test_a_revision_must_come_after_the_latest_one_and_stay_in_range(memory_ledger: Ledger) -> None:
    site_id = memory_ledger.register_site(**GOOD).id
    with refused(memory_ledger, InvalidInput, "effective_from"):
        memory_ledger.revise_site(site_id, effective_from=T0, grid_intensity_g_per_kwh="25", pue="1.08",
                                  carbon_free_share="0.99")
    with refused(memory_ledger, InvalidInput, "pue"):
        memory_ledger.revise_site(site_id, effective_from=hour(1), grid_intensity_g_per_kwh="25", pue="0.5",
                                  carbon_free_share="0.99")
    assert len(memory_ledger.get_site(site_id).revisions) == 1


def test_revising_an_unknown_site_is_not_found(memory_ledger: Ledger) -> None:
    with refused(memory_ledger, NotFound, "site_id"):
        memory_ledger.revise_site("00000000-0000-0000-0000-000000000001", effective_from=hour(1),
                                  grid_intensity_g_per_kwh="25", pue="1.1", carbon_free_share="0.5")
    with refused(memory_ledger, InvalidInput, "site_id"):
        memory_ledger.get_site("not-a-uuid")
