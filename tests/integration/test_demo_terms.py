"""The demo's commercial terms (cli/demo/terms.py) on a reduced history: the anchor's commitment
starts with its service (prorated first month, modest true-ups), the start-up's wallet consumes,
expires and never goes negative, on-demand tenants are billed on metered hours, and revenue
recognition adds up per tenant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

import pytest
from rich.console import Console

from bootstrap import open_ledger, open_projections
from cli.demo.runner import build_history
from cli.demo.terms import ANCHOR, ON_DEMAND, START_UP
from cli.demo.terms_report import print_terms_sections
from cli.names import Names
from domain import Ledger
from projections import Projections

MONTHS = 4


pytestmark = pytest.mark.slow  # builds a demo history: ~7 s


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, Projections, dict[str, str]]]:
    url = str(tmp_path_factory.mktemp("terms") / "ledger.db")
    history = build_history(url, months=MONTHS, scale="small", seed=42)
    ledger, projections = open_ledger(url), open_projections(url)
    try:
        yield ledger, projections, {name: str(i) for name, i in history.summary.tenant_ids.items()}
    finally:
        projections.close()
        ledger.close()


def test_the_anchors_commitment_starts_with_its_service_and_true_ups_are_modest(
        demo: tuple[Ledger, Projections, dict[str, str]]) -> None:
    """The anchor signs when its first reservation is confirmed: the first settled period is the
    month its service starts, prorated by days from that start; no period is trued up on zero
    spend; a true-up is the shortfall below the (prorated) commitment, and modest."""
    ledger, projections, tenants = demo
    settled = projections.report("commitments")
    assert settled and {r["tenant_id"] for r in settled} == {tenants[ANCHOR]}
    (contract,) = ledger.get_contracts_of(tenants[ANCHOR])
    first = settled[0]
    assert first["period_start"] == contract.term_start == contract.service_start[:7]
    served = contract.settled[first["period_start"]]
    assert served.served_days == served.period_days - int(contract.service_start[8:]) + 1
    for row in settled:
        assert row["eligible_spend"] > 0  # never a commitment before there was capacity
        assert row["true_up"] == max(Decimal(0), row["commitment"] - row["eligible_spend"])
        assert row["true_up"] <= row["commitment"] / 4  # occasional and modest, not the whole commitment
        invoice = ledger.get_invoice(row["invoice_id"])
        billed = [x for x in invoice.lines if x.get("kind") == "true_up"]
        assert sum((Decimal(str(x["amount"])) for x in billed), Decimal(0)) == row["true_up"]
        for x in billed:
            assert f"committed {row['commitment']:,}, eligible spend {row['eligible_spend']:,}" in x["description"]


def test_the_start_ups_wallet(demo: tuple[Ledger, Projections, dict[str, str]]) -> None:
    _, projections, tenants = demo
    trace = projections.report("credits", {"tenant_id": tenants[START_UP]})
    kinds = [r["kind"] for r in trace]
    assert kinds.count("purchased") == 2 and kinds.count("granted") == 2 and "applied" in kinds
    assert any(r["kind"] == "expired" and r["paid_amount"] == 0 for r in trace)  # the promotion lapsed unused
    assert all(r["balance"] >= 0 and r["paid_balance"] >= 0 for r in trace)


def test_on_demand_tenants_are_billed_on_metered_hours(demo: tuple[Ledger, Projections, dict[str, str]]) -> None:
    _, projections, tenants = demo
    lines = projections.billing()
    on_demand = {r["tenant_id"] for r in lines if r["kind"] == "on_demand"}
    assert on_demand and on_demand <= {tenants[name] for name in ON_DEMAND}


def test_recognised_plus_deferred_plus_tax_is_amounts_due_plus_credits_bought(
        demo: tuple[Ledger, Projections, dict[str, str]]) -> None:
    ledger, projections, tenants = demo
    rows = projections.report("revenue")
    recognised: dict[str, Decimal] = defaultdict(Decimal)
    purchased: dict[str, Decimal] = defaultdict(Decimal)
    deferred: dict[str, Decimal] = {}
    tax: dict[str, Decimal] = defaultdict(Decimal)  # in the invoices' totals, never revenue
    for row in rows:
        recognised[row["tenant_id"]] += row["recognised"]
        purchased[row["tenant_id"]] += row["credits_purchased"]
        deferred[row["tenant_id"]] = row["deferred_closing"]
        tax[row["tenant_id"]] += row["tax"]
    due: dict[str, Decimal] = defaultdict(Decimal)
    for row in projections.billing_totals():
        if row.get("invoice_id"):
            due[row["tenant_id"]] += ledger.get_invoice(row["invoice_id"]).total
    assert set(recognised) == set(due)
    for tenant in recognised:
        assert recognised[tenant] + deferred[tenant] + tax[tenant] == due[tenant] + purchased[tenant]
    assert purchased[tenants[START_UP]] > 0
    assert sum(tax.values()) > 0  # the demo taxes some tenants: the identity is not vacuous


def test_the_sections_are_printed(demo: tuple[Ledger, Projections, dict[str, str]]) -> None:
    _, projections, tenants = demo
    console = Console(record=True, width=250)
    names = Names(tenants={i: name for name, i in tenants.items()})
    print_terms_sections(projections, names, "2026-07", "2026-10", console)
    text = console.export_text()
    for title in ("Commitments", "Credits", "Revenue recognition"):
        assert title in text
    assert ANCHOR in text and START_UP in text
