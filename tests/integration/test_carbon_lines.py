"""Carbon on billing lines and invoices, hand-computed, on SQLite and PostgreSQL.

Site: grid 124 gCO2e/kWh, PUE 1.2, carbon-free share 0.6 (tests.builders); H100 SXM 0.7 kW.
2 GPUs reserved for hours 0-9 of 2026-01; 2 GPU-hours used in hour 0 and 1.5 in hour 1:
  energy   = 3.5 x 0.7 x 1.2          = 2.94 kWh
  location = 2.94 x 124 / 1000        = 0.36456 kgCO2e
  market   = 0.36456 x (1 - 0.6)      = 0.145824 kgCO2e
"""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from bootstrap import open_ledger, open_projections
from tests.builders import SimClock, fleet, hour, reserve

D = Decimal


def carbon(line: dict[str, object]) -> tuple[object, object, object]:
    return line["energy_kwh"], line["location_kgco2e"], line["market_kgco2e"]


def test_carbon_on_lines_invoices_late_usage_and_revisions(database_url: str) -> None:
    clock = SimClock()
    ledger = open_ledger(database_url, clock=clock)
    projections = open_projections(database_url)
    try:
        f = fleet(ledger, gpus=8, rate="2.50")
        r = reserve(f, 2, 0, 10)
        clock.set(hour(5))
        ledger.record_usage([{"record_id": uuid4(), "reservation_id": r, "hour": hour(0), "gpu_hours": "2"},
                             {"record_id": uuid4(), "reservation_id": r, "hour": hour(1), "gpu_hours": "1.5"}])
        projections.catch_up()
        [line] = projections.billing(tenant_id=f.tenant_id)
        assert line["kind"] == "reservation" and line["amount"] == D("50.00")
        assert carbon(line) == (D("2.94"), D("0.36456"), D("0.145824"))

        # The invoice carries the line's carbon and the totals.
        clock.set(hour(24 * 32))
        lines, through = projections.invoice_lines(f.tenant_id, "2026-01")
        invoice = ledger.get_invoice(ledger.issue_invoice(tenant_id=f.tenant_id, month="2026-01", lines=lines,
                                                          billed_through_position=through).id)
        assert (invoice.energy_kwh, invoice.location_kgco2e, invoice.market_kgco2e) == \
            (D("2.94"), D("0.36456"), D("0.145824"))
        assert carbon(invoice.lines[0]) == (D("2.94"), D("0.36456"), D("0.145824"))

        # Late usage for January (1 GPU-hour in hour 2) goes on an adjustment line of February:
        # 0.84 kWh, 0.10416 and 0.041664 kgCO2e. Then a revision from hour 1 (grid 200, PUE 1.1,
        # share 0.5) re-prices hours 1 and 2 (2.5 GPU-hours): 2.1 -> 1.925 kWh, 0.2604 -> 0.385
        # and 0.10416 -> 0.1925 kgCO2e, also on that adjustment line.
        ledger.record_usage([{"record_id": uuid4(), "reservation_id": r, "hour": hour(2), "gpu_hours": "1"}])
        ledger.revise_site(f.site_id, effective_from=hour(1), grid_intensity_g_per_kwh="200", pue="1.1",
                           carbon_free_share="0.5")
        projections.catch_up()
        rows = projections.billing(tenant_id=f.tenant_id)
        [january] = [x for x in rows if x["month"] == "2026-01"]
        assert carbon(january) == (D("2.94"), D("0.36456"), D("0.145824"))  # frozen as invoiced
        [adjustment] = [x for x in rows if x["month"] == "2026-02"]
        assert adjustment["kind"] == "adjustment" and adjustment["origin_month"] == "2026-01"
        assert adjustment["gpu_hours"] == 0 and adjustment["amount"] == 0
        assert carbon(adjustment) == (D("0.665"), D("0.22876"), D("0.130004"))
        # ... and together they are the sustainability report's January, to the gram.
        [report] = projections.sustainability(tenant_id=f.tenant_id)
        assert (report["energy_kwh"], report["location_kgco2e"], report["market_kgco2e"]) == \
            (D("3.605"), D("0.59332"), D("0.275828"))
        assert all(january[k] + adjustment[k] == report[k]
                   for k in ("energy_kwh", "location_kgco2e", "market_kgco2e"))
        # A credit note carries no carbon, and adds no billing line (it settles on its own invoice).
        before = projections.billing(tenant_id=f.tenant_id)
        ledger.credit_invoice(invoice.id, amount="5.00", reason="goodwill")
        projections.catch_up()
        assert projections.billing(tenant_id=f.tenant_id) == before
        [report] = projections.sustainability(tenant_id=f.tenant_id)
        assert report["energy_kwh"] == D("3.605")
        assert projections.verify("billing").ok
    finally:
        projections.close()
        ledger.close()
