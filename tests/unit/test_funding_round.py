"""FundingRound: commitments, tranches (<= commitment) and capex (<= funds received)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain import Ledger
from domain.errors import InsufficientFunds, InvalidInput, NotFound, UnknownCurrency
from tests.builders import T0, funded_round, refused, register_site


@pytest.fixture
def round_id(memory_ledger: Ledger) -> object:
    round_id = memory_ledger.open_funding_round(name="Seed", currency="USD", opened_at=T0).id
    memory_ledger.record_commitment(round_id, investor="Fund A", amount="1000", currency="USD", equity_percent="20")
    return round_id


def test_tranches_accumulate_up_to_the_commitment(memory_ledger: Ledger, round_id: object) -> None:
    memory_ledger.record_tranche(round_id, investor="Fund A", amount="600", currency="USD", received_at=T0)
    memory_ledger.record_tranche(round_id, investor="Fund A", amount="400", currency="USD", received_at=T0)
    funding = memory_ledger.get_funding_round(round_id)
    assert funding.total_received == funding.total_committed == Decimal("1000")


def test_a_tranche_beyond_the_outstanding_commitment_is_refused(memory_ledger: Ledger, round_id: object) -> None:
    memory_ledger.record_tranche(round_id, investor="Fund A", amount="600", currency="USD", received_at=T0)
    with refused(memory_ledger, InsufficientFunds, "amount"):
        memory_ledger.record_tranche(round_id, investor="Fund A", amount="400.01", currency="USD", received_at=T0)


def test_a_tranche_from_an_investor_without_commitment_is_refused(memory_ledger: Ledger, round_id: object) -> None:
    with refused(memory_ledger, NotFound, "investor"):
        memory_ledger.record_tranche(round_id, investor="Stranger", amount="1", currency="USD", received_at=T0)


def test_an_unknown_currency_is_refused(memory_ledger: Ledger) -> None:
    with refused(memory_ledger, UnknownCurrency, "currency"):
        memory_ledger.open_funding_round(name="Seed", currency="XYZ", opened_at=T0)
    with refused(memory_ledger, UnknownCurrency, "currency"):
        memory_ledger.open_funding_round(name="Seed", currency="usd", opened_at=T0)


def test_money_in_another_currency_than_the_round_is_refused(memory_ledger: Ledger, round_id: object) -> None:
    with refused(memory_ledger, InvalidInput, "currency"):
        memory_ledger.record_commitment(round_id, investor="B", amount="10", currency="EUR", equity_percent="1")


@pytest.mark.parametrize("amount", ["-5", "0", 0, -1, True, 10.5, "1.001", "NaN", "lots", None])
def test_amounts_must_be_positive_exact_and_in_minor_units(memory_ledger: Ledger, round_id: object,
                                                          amount: object) -> None:
    with refused(memory_ledger, InvalidInput, "amount"):
        memory_ledger.record_commitment(round_id, investor="B", amount=amount, currency="USD", equity_percent="1")


def test_jpy_has_no_minor_unit(memory_ledger: Ledger) -> None:
    round_id = memory_ledger.open_funding_round(name="Tokyo", currency="JPY", opened_at=T0).id
    with refused(memory_ledger, InvalidInput, "amount"):
        memory_ledger.record_commitment(round_id, investor="B", amount="100.5", currency="JPY", equity_percent="1")
    memory_ledger.record_commitment(round_id, investor="B", amount="100", currency="JPY", equity_percent="1")


def test_equity_of_a_round_cannot_exceed_100_percent(memory_ledger: Ledger, round_id: object) -> None:
    with refused(memory_ledger, InvalidInput, "equity_percent"):
        memory_ledger.record_commitment(round_id, investor="B", amount="10", currency="USD", equity_percent="80.01")


def test_a_naive_received_at_is_refused(memory_ledger: Ledger, round_id: object) -> None:
    with refused(memory_ledger, InvalidInput, "received_at"):
        memory_ledger.record_tranche(round_id, investor="Fund A", amount="1", currency="USD",
                                     received_at=T0.replace(tzinfo=None))


def test_capex_beyond_funds_received_is_refused_and_records_no_order(memory_ledger: Ledger) -> None:
    site_id = register_site(memory_ledger)
    round_id = funded_round(memory_ledger, amount="100000")
    memory_ledger.place_supply_order(funding_round_id=round_id, site_id=site_id, model="H200", quantity=2,
                                     unit_price="30000", currency="USD", placed_at=T0)
    with refused(memory_ledger, InsufficientFunds, "quantity"):
        memory_ledger.place_supply_order(funding_round_id=round_id, site_id=site_id, model="H200", quantity=2,
                                         unit_price="20000.01", currency="USD", placed_at=T0)
    funding = memory_ledger.get_funding_round(round_id)
    assert funding.total_capex_committed == Decimal("60000")
    assert funding.available == Decimal("40000")


def test_capex_needs_money_received_not_merely_committed(memory_ledger: Ledger, round_id: object) -> None:
    site_id = register_site(memory_ledger)
    with refused(memory_ledger, InsufficientFunds):
        memory_ledger.place_supply_order(funding_round_id=round_id, site_id=site_id, model="H200", quantity=1,
                                         unit_price="1", currency="USD", placed_at=T0)
