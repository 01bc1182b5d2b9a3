"""FX rates as facts and consolidated finance, hand-computed, on SQLite and PostgreSQL.

A USD pool (8 H100 at 25,000 USD: 200,000 USD spent) earns, in January 2026:
  USD tenant  2 GPUs x 10 h x 2.50 USD        = 50.00 USD
  EUR tenant  1 GPU  x 10 h x 3.00 EUR = 30.00 EUR x 1.10 (EUR->USD)             = 33.00 USD
  GBP tenant  1 GPU  x  7 h x 2.00 GBP = 14.00 GBP x 1.10 / 0.85 (cross via EUR) = 18.12 USD
  consolidated 101.12 USD; recovered 101.12 / 200,000 = 0.0005 (4 places)
A NOK tenant without a NOK rate makes the payback missing, named, never 0.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from decimal import Decimal
from pathlib import Path

from bootstrap import open_ledger, open_projections
from cli.main import run as ledger_cli
from tests.builders import SimClock, fleet, hour, register_tenant

D = Decimal
RATES = ("base,quote,rate,effective_date,source\n"
         "EUR,USD,1.10,2026-01-30,ECB reference rate\n"
         "EUR,GBP,0.85,2026-01-30,ECB reference rate\n"
         "EUR,USD,1.30,2026-02-27,ECB reference rate\n")  # February's rate: not for January's lines


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = ledger_cli(list(args))
    return code, out.getvalue(), err.getvalue()


def test_capex_payback_and_revenue_consolidate_every_currency(database_url: str, tmp_path: Path) -> None:
    clock = SimClock()
    ledger = open_ledger(database_url, clock=clock)
    projections = open_projections(database_url)
    try:
        f = fleet(ledger, gpus=8, rate="2.50")
        ledger.confirm_reservation(tenant_id=f.tenant_id, site_id=f.site_id, model=f.model, gpus=2, start=hour(0),
                                   end=hour(10))
        for currency, rate, hours in (("EUR", "3.00", 10), ("GBP", "2.00", 7)):
            tenant = register_tenant(ledger, currency=currency, rate=rate, name=f"Lab {currency}")
            ledger.confirm_reservation(tenant_id=tenant, site_id=f.site_id, model=f.model, gpus=1, start=hour(0),
                                       end=hour(hours))
        rates = tmp_path / "rates.csv"
        rates.write_text(RATES)
        code, out, err = run("fx", "import", str(rates), "--db", database_url)
        assert code == 0 and out.startswith("recorded 3 new rate(s)"), (out, err)
        before = ledger.max_position()
        code, out, _ = run("fx", "import", str(rates), "--db", database_url)
        assert code == 0 and out.startswith("nothing recorded") and ledger.max_position() == before

        projections.catch_up()
        [pool] = projections.report("capex")
        assert pool["currency"] == "USD" and pool["capex_spent"] == D("200000.00")
        assert pool["booked_gpu_hours"] == 20 + 10 + 7
        assert pool["revenue_booked"] == D("101.12") and pool["capex_recovered"] == D("0.0005")
        assert pool["fx_note"] == ""

        rows = {r["currency"]: r for r in projections.report("revenue_consolidated", {"currency": "USD"})}
        assert rows["EUR"]["revenue_booked"] == D("30.00") and rows["EUR"]["revenue_reporting"] == D("33.00")
        assert (rows["EUR"]["fx_rate"], rows["EUR"]["fx_rate_date"]) == ("1.1", "2026-01-30")
        assert rows["EUR"]["fx_source"] == "ECB reference rate"
        assert rows["GBP"]["revenue_reporting"] == D("18.12") and rows["USD"]["fx_rate"] == "1"
        in_eur = {r["currency"]: r for r in projections.report("revenue_consolidated", {"currency": "EUR"})}
        assert in_eur["USD"]["revenue_reporting"] == D("45.45")  # 50.00 / 1.10, derived inverse

        # A tenant in NOK, without a NOK rate: missing, named, never 0.
        nok = register_tenant(ledger, currency="NOK", rate="20.00", name="Lab NOK")
        ledger.confirm_reservation(tenant_id=nok, site_id=f.site_id, model=f.model, gpus=1, start=hour(0),
                                   end=hour(1))
        projections.catch_up()
        [pool] = projections.report("capex")
        assert pool["revenue_booked"] is None and pool["capex_recovered"] is None
        assert pool["fx_note"] == "no rate for NOK->USD on 2026-01-31"
        rows = {r["currency"]: r for r in projections.report("revenue_consolidated", {"currency": "USD"})}
        assert rows["NOK"]["revenue_reporting"] is None and rows["NOK"]["fx_rate"] is None
        assert rows["NOK"]["fx_note"] == "no rate for NOK->USD on 2026-01-31"

        # Recorded (EUR->NOK 11.50): NOK->USD = 1.10 / 11.50; 20.00 NOK = 1.913... -> 1.91 USD.
        code, out, _ = run("fx", "record", "--base", "EUR", "--quote", "NOK", "--rate", "11.50", "--date",
                           "2026-01-30", "--source", "ECB reference rate", "--db", database_url)
        assert code == 0 and out.startswith("recorded:")
        # A correction of EUR->USD for 2026-01-30 supersedes it: 30 x 1.12 = 33.60; 14 x 1.12/0.85 = 18.45;
        # 20 x 1.12 / 11.5 = 1.95.
        code, out, _ = run("fx", "record", "--base", "EUR", "--quote", "USD", "--rate", "1.12", "--date",
                           "2026-01-30", "--source", "ECB reference rate (corrected)", "--db", database_url)
        assert code == 0 and out.startswith("corrected:")
        projections.catch_up()
        [pool] = projections.report("capex")
        assert pool["revenue_booked"] == D("50.00") + D("33.60") + D("18.45") + D("1.95")
        assert pool["fx_note"] == ""
        listed = projections.report("fx_rates")
        assert [(r["base"], r["quote"], r["effective_date"], r["rate"], r["corrections"]) for r in listed] == [
            ("EUR", "GBP", "2026-01-30", D("0.85"), 0), ("EUR", "NOK", "2026-01-30", D("11.50"), 0),
            ("EUR", "USD", "2026-01-30", D("1.12"), 1), ("EUR", "USD", "2026-02-27", D("1.30"), 0)]
    finally:
        projections.close()
        ledger.close()


def test_fx_import_refuses_a_bad_file_naming_line_and_field_and_records_nothing(database_url: str,
                                                                               tmp_path: Path) -> None:
    ledger = open_ledger(database_url, clock=SimClock())
    try:
        fleet(ledger)
        before = ledger.max_position()
        bad = tmp_path / "bad.csv"
        bad.write_text(RATES + "EUR,NOK,eleven,2026-01-30,ECB\n")
        code, out, err = run("fx", "import", str(bad), "--db", database_url)
        assert code == 2 and out == ""
        assert err.strip().splitlines() == [f"error: {bad} line 5: rate: 'eleven' is not a decimal number"]
        header = tmp_path / "header.csv"
        header.write_text("base,quote,rate,date,source\nEUR,USD,1.1,2026-01-30,ECB\n")
        code, _, err = run("fx", "import", str(header), "--db", database_url)
        assert code == 2 and "line 1" in err and "missing effective_date" in err
        assert ledger.max_position() == before
    finally:
        ledger.close()
