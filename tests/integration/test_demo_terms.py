"""The demo's commercial terms (cli/demo/terms.py) on a reduced history: the anchor's commitment
falls short once (a true-up), the start-up's wallet consumes, expires and never goes negative,
on-demand tenants are billed on metered hours, and revenue recognition adds up per tenant."""

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


def test_the_anchor_falls_short_once_and_is_trued_up(demo: tuple[Ledger, Projections, dict[str, str]]) -> None:
    ledger, projections, tenants = demo
    settled = projections.report("commitments")
    assert settled and {r["tenant_id"] for r in settled} == {tenants[ANCHOR]}
    assert any(r["true_up"] > 0 for r in settled)
    for row in settled:
        assert row["true_up"] == max(Decimal(0), row["commitment"] - row["eligible_spend"])
        invoice = ledger.get_invoice(row["invoice_id"])
        billed = sum((Decimal(str(x["amount"])) for x in invoice.lines if x.get("kind") == "true_up"), Decimal(0))
        assert billed == row["true_up"]


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


def test_recognised_plus_deferred_is_amounts_due_plus_credits_bought(
        demo: tuple[Ledger, Projections, dict[str, str]]) -> None:
    ledger, projections, tenants = demo
    rows = projections.report("revenue")
    recognised: dict[str, Decimal] = defaultdict(Decimal)
    purchased: dict[str, Decimal] = defaultdict(Decimal)
    deferred: dict[str, Decimal] = {}
    for row in rows:
        recognised[row["tenant_id"]] += row["recognised"]
        purchased[row["tenant_id"]] += row["credits_purchased"]
        deferred[row["tenant_id"]] = row["deferred_closing"]
    due: dict[str, Decimal] = defaultdict(Decimal)
    for row in projections.billing_totals():
        if row.get("invoice_id"):
            due[row["tenant_id"]] += ledger.get_invoice(row["invoice_id"]).total
    assert set(recognised) == set(due)
    for tenant in recognised:
        assert recognised[tenant] + deferred[tenant] == due[tenant] + purchased[tenant]
    assert purchased[tenants[START_UP]] > 0


def test_the_sections_are_printed(demo: tuple[Ledger, Projections, dict[str, str]]) -> None:
    _, projections, tenants = demo
    console = Console(record=True, width=250)
    names = Names(tenants={i: name for name, i in tenants.items()})
    print_terms_sections(projections, names, "2026-07", "2026-10", console)
    text = console.export_text()
    for title in ("Commitments", "Credits", "Revenue recognition"):
        assert title in text
    assert ANCHOR in text and START_UP in text
