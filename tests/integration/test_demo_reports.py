"""The demo's history, checked against the ledger itself, on SQLite and on PostgreSQL.

A reduced history (2 months, small scale) is built once per store; the reports must agree with
what the aggregates say (billing = booked hours x locked rate + fees; energy = used GPU-hours x
board power x PUE in force; capex spent = delivered GPUs x unit price), and the same seed must
give the same reports on both stores.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from bootstrap import open_ledger, open_projections
from cli.demo.history import DemoHistory
from cli.demo.runner import build_history
from cli.demo.timeline import month_text
from cli.names import Names, with_names
from domain import Ledger
from domain.money import quantize
from domain.reference import GPU_MODELS
from domain.timeutil import hour_index, hour_start
from projections import Projections
from tests.conftest import postgres_admin_url
from tests.postgres_server import schema_url, scratch_schema

MONTHS, SEED = 2, 7


@dataclass
class Built:
    url: str
    history: DemoHistory
    ledger: Ledger
    projections: Projections


def _built(url: str) -> Iterator[Built]:
    history = build_history(url, months=MONTHS, scale="small", seed=SEED)
    ledger = open_ledger(url)
    projections = open_projections(url)
    try:
        yield Built(url, history, ledger, projections)
    finally:
        projections.close()
        ledger.close()


@pytest.fixture(scope="module")
def sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    yield from _built(str(tmp_path_factory.mktemp("demo") / "ledger.db"))


@pytest.fixture(scope="module")
def postgres_demo() -> Iterator[Built]:
    admin = postgres_admin_url()
    with scratch_schema(admin, "t_demo_") as schema:
        yield from _built(schema_url(admin, schema))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo(request: pytest.FixtureRequest) -> Built:
    return request.getfixturevalue(f"{request.param}_demo")  # type: ignore[no-any-return]


def test_the_history_is_substantial(demo: Built) -> None:
    counts = demo.history.summary.counts
    assert counts["events"] > 2_000
    assert counts["reservations"] >= 10 and counts["usage records"] > 4_000
    assert counts["invoices"] >= 5
    assert counts["commissionings"] > 0 and counts["deliveries"] > 0
    currencies = {demo.ledger.get_tenant(t).billing_currency for t in demo.history.summary.tenant_ids.values()}
    assert currencies == {"USD", "GBP", "EUR", "NOK"}


def test_each_bill_is_the_sum_of_its_lines_and_each_line_is_booked_hours_times_the_locked_rate(demo: Built) -> None:
    lines = demo.projections.billing()
    totals = demo.projections.billing_totals()
    assert totals
    by_month: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in lines:
        by_month[(line["tenant_id"], line["month"])] += line["amount"]
    for row in totals:
        assert row["total"] == quantize(by_month[(row["tenant_id"], row["month"])], row["currency"])
    # Independently, from the reservation aggregates: booked GPU-hours per month x locked rate.
    expected: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for sim in demo.history.reservations:
        reservation = demo.ledger.get_reservation(sim.id)
        if reservation.pricing == "on_demand":  # billed on metered GPU-hours
            for hour, (_, used) in reservation.usage.items():
                expected[(str(reservation.tenant_id), month_text(hour_start(hour)), "reservation")] += Decimal(
                    str(used))
        for hour in range(hour_index(reservation.start), hour_index(reservation.end)):
            if reservation.pricing == "on_demand":
                break
            expected[(str(reservation.tenant_id), month_text(hour_start(hour)), "reservation")] += reservation.gpus
        if reservation.cancelled_at is not None:
            expected[(str(reservation.tenant_id), month_text(reservation.cancelled_at), "fee")] += \
                reservation.cancellation_fee
    billed_hours: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for line in lines:
        if line["kind"] in ("true_up", "termination_fee", "credits_applied", "tax"):
            continue  # commercial terms and tax, added at invoice issue (tests/integration/test_demo_terms.py)
        assert line["kind"] in ("reservation", "on_demand", "cancellation_fee"), line  # no late changes in the demo
        reservation = demo.ledger.get_reservation(line["reservation_id"])
        if line["kind"] in ("reservation", "on_demand"):
            assert line["rate"] == reservation.rate_per_gpu_hour
            assert line["amount"] == quantize(line["gpu_hours"] * reservation.rate_per_gpu_hour, reservation.currency)
            billed_hours[(line["tenant_id"], line["month"], "reservation")] += line["gpu_hours"]
        else:
            billed_hours[(line["tenant_id"], line["month"], "fee")] += line["amount"]
    assert billed_hours == {k: v for k, v in expected.items() if v}


def test_invoices_carry_the_projection_lines_of_closed_months(demo: Built) -> None:
    months = demo.history.summary.months_invoiced
    assert months == [month_text(demo.history.start), *months[1:]] and len(months) == MONTHS
    issued = [row for row in demo.projections.billing_totals() if row.get("invoice_id")]
    assert issued
    for row in issued:
        invoice = demo.ledger.get_invoice(row["invoice_id"])
        assert invoice.total == row["total"] == row["invoice_total"]


def test_energy_is_used_gpu_hours_times_board_power_times_pue_in_force(demo: Built) -> None:
    sites = {str(s): demo.ledger.get_site(s) for s in demo.history.summary.site_ids.values()}
    expected: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 4)
    for sim in demo.history.reservations:
        reservation = demo.ledger.get_reservation(sim.id)
        site = sites[str(reservation.site_id)]
        power = GPU_MODELS[reservation.model].board_power_kw
        for hour, (_, used) in reservation.usage.items():
            grid, pue, carbon_free = site.factors_at(hour_start(hour))
            kwh = Decimal(str(used)) * power * pue
            row = expected[(str(reservation.tenant_id), str(reservation.site_id), month_text(hour_start(hour)))]
            row[0] += Decimal(str(used))
            row[1] += kwh
            row[2] += kwh * grid / 1000
            row[3] += kwh * grid / 1000 * (1 - carbon_free)
    rows = demo.projections.sustainability()
    assert len(rows) == len(expected)
    for row in rows:
        used, kwh, location, market = expected[(row["tenant_id"], row["site_id"], row["month"])]
        assert row["used_gpu_hours"] == used
        assert row["energy_kwh"] == kwh
        assert abs(row["location_kgco2e"] - location) < Decimal("0.000001")
        assert abs(row["market_kgco2e"] - market) < Decimal("0.000001")
    # The same used GPU-hours appear in the fleet utilisation report.
    fleet_used = sum((r["used_gpu_hours"] for r in demo.projections.utilisation(granularity="month")), Decimal(0))
    assert fleet_used == sum((v[0] for v in expected.values()), Decimal(0))


def test_capex_spent_is_the_cost_of_the_delivered_gpus(demo: Built) -> None:
    capex = demo.projections.capex()
    (funding,) = capex["rounds"]
    orders = [demo.ledger.get_supply_order(order_id) for order_id in demo.history.orders]
    delivered_cost = sum((o.unit_price * o.delivered for o in orders), Decimal(0))
    assert funding["spent"] == delivered_cost > 0
    assert funding["capex_committed"] == sum((o.total for o in orders), Decimal(0))
    assert funding["committed"] == Decimal("1100000000") and funding["received"] <= funding["committed"]
    assert funding["capex_committed"] <= funding["received"]
    per_pool: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for order in orders:
        per_pool[(str(order.site_id), order.model)] += order.unit_price * order.delivered
    assert {(p["site_id"], p["model"]): p["capex_spent"] for p in capex["pools"]} == per_pool
    round_aggregate = demo.ledger.get_funding_round(demo.history.summary.round_id)
    assert round_aggregate.equity_percent["Fjordline Energy Infrastructure"] == Decimal("9.3")
    assert round_aggregate.committed["Fjordline Energy Infrastructure"] == Decimal("285000000")
    assert round_aggregate.committed["NVIDIA"] == Decimal("500000000")


def _by_names(built: Built) -> dict[str, Any]:
    """Every report with ids replaced by names (ids are random per store; names are not)."""
    p, ledger = built.projections, built.ledger

    def named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = Names.for_rows(ledger, rows)
        out = []
        for row in with_names(rows, names):
            out.append({k: v for k, v in row.items() if not k.endswith("_id") and k != "line_key"})
        return sorted(out, key=repr)

    capex = p.capex()
    return {"utilisation": named(p.utilisation(granularity="day")), "billing": named(p.billing()),
            "totals": named(p.billing_totals()), "sustainability": named(p.sustainability()),
            "rounds": named(capex["rounds"]), "pools": named(capex["pools"])}


@pytest.mark.postgres
def test_the_same_seed_gives_the_same_reports_on_sqlite_and_postgresql(sqlite_demo: Built,
                                                                       postgres_demo: Built) -> None:
    assert sqlite_demo.history.summary.counts == postgres_demo.history.summary.counts
    left, right = _by_names(sqlite_demo), _by_names(postgres_demo)
    for name in left:
        assert left[name] == right[name], name
    assert left["billing"] and left["sustainability"] and left["utilisation"]
