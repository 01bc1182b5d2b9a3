"""Hand-computed reports for small scenarios, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from bootstrap import open_ledger, open_projections
from domain.errors import InvalidTransition
from projections import PROJECTION_NAMES, Projections

UTC = UTC
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class World:
    """A ledger with one UK site and 4 H100s in service from 2026-01-01, on a movable clock."""

    def __init__(self, url: str) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        self.ledger = open_ledger(url, clock=lambda: self.now)
        self.site = self.ledger.register_site(name="UK", country="GB", grid_intensity_g_per_kwh="225", pue="1.18",
                                              carbon_free_share="0.6", effective_from=T0).id
        fund = self.ledger.open_funding_round(name="Seed", currency="USD", opened_at=T0).id
        self.fund = fund
        self.ledger.record_commitment(fund, investor="A", amount="1000000", currency="USD", equity_percent="10")
        self.ledger.record_tranche(fund, investor="A", amount="400000", currency="USD", received_at=T0)
        self.order = self.ledger.place_supply_order(funding_round_id=fund, site_id=self.site, model="H100-SXM",
                                                    quantity=4, unit_price="25000", currency="USD", placed_at=T0).id
        self.ledger.record_delivery(self.order, quantity=4, delivered_at=T0)
        self.ledger.commission(self.order, quantity=4, commissioned_at=T0)
        self.tenant = self.ledger.register_tenant(name="Lab", billing_currency="USD",
                                                  rates={"H100-SXM": "2.50"}).id
        self.projections = open_projections(url)

    def reserve(self, gpus: int, start: datetime, end: datetime, rate: str | None = None,
                backfill: bool = False) -> object:
        return self.ledger.confirm_reservation(tenant_id=self.tenant, site_id=self.site, model="H100-SXM", gpus=gpus,
                                               start=start, end=end, rate_per_gpu_hour=rate, backfill=backfill).id

    def use(self, reservation: object, hour: datetime, gpu_hours: str) -> None:
        self.ledger.record_usage([{"record_id": uuid4(), "reservation_id": reservation, "hour": hour,
                                   "gpu_hours": gpu_hours}])

    def project(self) -> Projections:
        self.projections.catch_up(batch_size=3)  # small batches on purpose: many batch boundaries
        return self.projections


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    w = World(database_url)
    yield w
    for name in PROJECTION_NAMES:
        result = w.projections.verify(name)
        assert result.ok, result.differences
    w.projections.close()
    w.ledger.close()


def d(value: str) -> Decimal:
    return Decimal(value)


def test_a_reservation_over_a_month_boundary_is_billed_in_both_months(world: World) -> None:
    r = world.reserve(3, datetime(2026, 1, 31, 20, tzinfo=UTC), datetime(2026, 2, 1, 4, tzinfo=UTC))
    # Banker's rounding at the line: 2 GPU-hours x 2.0625 = 4.125 -> 4.12 (half to even).
    world.reserve(1, datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 5, 2, tzinfo=UTC), rate="2.0625")
    p = world.project()
    lines = {(x["month"], x["reservation_id"] == str(r)): x for x in p.billing(tenant_id=world.tenant)}
    assert lines[("2026-01", True)]["gpu_hours"] == 12 and lines[("2026-01", True)]["amount"] == d("30.00")
    assert lines[("2026-02", True)]["gpu_hours"] == 12 and lines[("2026-02", True)]["amount"] == d("30.00")
    assert lines[("2026-01", False)]["amount"] == d("4.12")
    totals = {t["month"]: t for t in p.billing_totals(tenant_id=str(world.tenant))}
    assert totals["2026-01"]["total"] == d("34.12") and totals["2026-01"]["lines"] == 2
    assert totals["2026-02"]["total"] == d("30.00") and totals["2026-02"]["invoice_status"] == "not_invoiced"
    months = {u["period"]: u for u in p.utilisation(site_id=world.site, granularity="month")}
    assert months["2026-01"]["in_service_gpu_hours"] == 4 * 744
    assert months["2026-01"]["booked_gpu_hours"] == 12 + 2
    assert months["2026-02"]["in_service_gpu_hours"] == 4 * 672
    assert months["2026-02"]["booked_gpu_hours"] == 12
    assert months["2026-02"]["booking_rate"] == d("0.0045")  # 12 / 2688
    hours = p.utilisation(site_id=world.site, granularity="hour", start=datetime(2026, 1, 31, 23, tzinfo=UTC),
                          end=datetime(2026, 2, 1, 1, tzinfo=UTC))
    assert [(h["period"], h["booked_gpu_hours"], h["in_service_gpu_hours"]) for h in hours] == [
        ("2026-01-31T23:00:00+00:00", 3, 4), ("2026-02-01T00:00:00+00:00", 3, 4)]


def test_a_cancellation_mid_window_releases_later_hours_and_charges_the_fee(world: World) -> None:
    world.now = datetime(2026, 1, 20, tzinfo=UTC)
    r = world.reserve(2, datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 3, tzinfo=UTC), rate="3.00")
    world.now = datetime(2026, 2, 2, 10, 30, tzinfo=UTC)
    world.ledger.cancel_reservation(r)  # releases from 11:00: 13 hours x 2 GPUs
    p = world.project()
    lines = {x["kind"]: x for x in p.billing(tenant_id=world.tenant, month_from="2026-02", month_to="2026-02")}
    assert lines["reservation"]["gpu_hours"] == 70 and lines["reservation"]["amount"] == d("210.00")
    assert lines["cancellation_fee"]["amount"] == d("19.50")  # 0.25 x 3.00 x 13 x 2
    assert p.billing_totals(tenant_id=world.tenant)[0]["total"] == d("229.50")
    feb = p.utilisation(site_id=world.site, start="2026-02", end="2026-02")
    assert feb[0]["booked_gpu_hours"] == 70
    pool = p.capex()["pools"][0]
    assert pool["booked_gpu_hours"] == 70 and pool["revenue_booked"] == d("229.50")


def test_a_grid_intensity_revision_mid_month_reprices_usage_from_its_hour(world: World) -> None:
    r = world.reserve(2, datetime(2026, 2, 14, 20, tzinfo=UTC), datetime(2026, 2, 15, 4, tzinfo=UTC))
    world.now = datetime(2026, 3, 1, tzinfo=UTC)
    world.use(r, datetime(2026, 2, 14, 23, tzinfo=UTC), "2")
    world.use(r, datetime(2026, 2, 15, 0, tzinfo=UTC), "2")
    world.project()  # usage priced with the old factors first ...
    world.ledger.revise_site(world.site, effective_from=datetime(2026, 2, 15, tzinfo=UTC),
                             grid_intensity_g_per_kwh="100", pue="1.10", carbon_free_share="0.5")
    p = world.project()  # ... then re-priced from the revision's hour on
    [row] = p.sustainability(tenant_id=world.tenant)
    # before: 2 x 0.7 kW x 1.18 = 1.652 kWh; x 225 g = 0.3717 kg; x (1 - 0.6) = 0.14868 kg
    # after:  2 x 0.7 kW x 1.10 = 1.54 kWh;  x 100 g = 0.154 kg;   x (1 - 0.5) = 0.077 kg
    assert row["month"] == "2026-02" and row["used_gpu_hours"] == 4
    assert row["energy_kwh"] == d("3.192")
    assert row["location_kgco2e"] == d("0.5257")
    assert row["market_kgco2e"] == d("0.22568")
    assert p.utilisation(site_id=world.site, start="2026-02", end="2026-02")[0]["used_gpu_hours"] == 4


def test_a_decommissioning_reduces_gpus_in_service_from_the_next_whole_hour(world: World) -> None:
    world.now = datetime(2026, 1, 10, 12, 30, tzinfo=UTC)
    world.ledger.decommission(site_id=world.site, model="H100-SXM", quantity=2, at=world.now, reason="failed PSU")
    p = world.project()
    jan = p.utilisation(site_id=world.site, model="H100-SXM", start="2026-01", end="2026-01")[0]
    assert jan["in_service_gpu_hours"] == 4 * (9 * 24 + 13) + 2 * (744 - (9 * 24 + 13))
    day = p.utilisation(site_id=world.site, granularity="day", start=datetime(2026, 1, 10, tzinfo=UTC),
                        end=datetime(2026, 1, 11, tzinfo=UTC))
    assert [(x["period"], x["in_service_gpu_hours"]) for x in day] == [("2026-01-10", 4 * 13 + 2 * 11)]
    assert jan["idle_gpu_hours"] == jan["in_service_gpu_hours"]
    capex = p.capex()
    assert capex["pools"][0]["gpus_in_service"] == 2 and capex["pools"][0]["gpus_delivered"] == 4
    assert capex["pools"][0]["capex_per_gpu"] == d("25000.00")
    assert capex["rounds"][0]["committed"] == d("1000000.00") and capex["rounds"][0]["received"] == d("400000.00")
    assert capex["rounds"][0]["capex_committed"] == d("100000.00") and capex["rounds"][0]["spent"] == d("100000.00")


def test_changes_after_an_invoice_become_adjustments_on_the_next_open_month(world: World) -> None:
    world.reserve(1, datetime(2026, 1, 3, tzinfo=UTC), datetime(2026, 1, 3, 4, tzinfo=UTC))  # 4 x 2.50 = 10.00
    world.now = datetime(2026, 2, 10, tzinfo=UTC)
    p = world.project()
    lines, position = p.invoice_lines(world.tenant, "2026-01")
    assert [x["amount"] for x in lines] == [d("10.00")]
    invoice = world.ledger.issue_invoice(tenant_id=world.tenant, month="2026-01", lines=lines,
                                         billed_through_position=position)
    late = world.reserve(2, datetime(2026, 1, 20, tzinfo=UTC), datetime(2026, 1, 20, 3, tzinfo=UTC),
                         backfill=True)  # 6 x 2.50, recorded after January was invoiced
    world.ledger.credit_invoice(invoice.id, amount="1.50", reason="goodwill")
    p = world.project()
    jan = p.billing(tenant_id=world.tenant, month_from="2026-01", month_to="2026-01")
    assert [x["amount"] for x in jan] == [d("10.00")]  # the issued month never changes
    feb = {x["kind"]: x for x in p.billing(tenant_id=world.tenant, month_from="2026-02", month_to="2026-02")}
    assert feb["adjustment"]["reservation_id"] == str(late) and feb["adjustment"]["origin_month"] == "2026-01"
    assert feb["adjustment"]["gpu_hours"] == 6 and feb["adjustment"]["amount"] == d("15.00")
    assert "credit" not in feb  # a credit note lowers its own invoice's balance, not a later invoice
    totals = {t["month"]: t for t in p.billing_totals(tenant_id=world.tenant)}
    assert totals["2026-01"]["invoice_status"] == "issued" and totals["2026-01"]["invoice_total"] == d("10.00")
    assert totals["2026-01"]["credited"] == d("1.50")
    assert totals["2026-02"]["total"] == d("15.00")  # the late hours only: the credit stays on January
    with pytest.raises(InvalidTransition):  # credited: a void would take the credit twice
        world.ledger.void_invoice(invoice.id, reason="wrong address")
    world.now = datetime(2026, 3, 10, tzinfo=UTC)
    lines, position = world.project().invoice_lines(world.tenant, "2026-02")
    february = world.ledger.issue_invoice(tenant_id=world.tenant, month="2026-02", lines=lines,
                                          billed_through_position=position)
    world.ledger.void_invoice(february.id, reason="wrong address")
    voided = {t["month"]: t for t in world.project().billing_totals(tenant_id=world.tenant)}
    assert voided["2026-02"]["invoice_status"] == "void" and voided["2026-01"]["invoice_status"] != "void"


def test_read_your_writes_waits_for_the_position_of_a_write(world: World) -> None:
    written = world.ledger.register_tenant(name="Other", billing_currency="EUR", rates={"H100-SXM": "2"})
    assert world.projections.wait_for(written.position, timeout=5.0)
    assert world.projections.position() >= written.position
    assert world.projections.position("billing") >= written.position


def test_a_cancellation_that_empties_a_later_month_leaves_no_zero_line(world: World) -> None:
    world.now = datetime(2026, 1, 20, tzinfo=UTC)
    r = world.reserve(1, datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC))
    world.now = datetime(2026, 2, 10, 8, 30, tzinfo=UTC)
    world.ledger.cancel_reservation(r)  # every March hour is released
    p = world.project()
    assert p.billing(tenant_id=world.tenant, month_from="2026-03", month_to="2026-03") == []
    assert p.invoice_lines(world.tenant, "2026-03")[0] == []
    assert all(line["gpu_hours"] or line["amount"] for line in p.billing())
    assert [t["month"] for t in p.billing_totals(tenant_id=world.tenant)] == ["2026-02"]


def test_capex_revenue_is_the_sum_of_the_lines_rounded_at_the_line(world: World) -> None:
    # 2 GPU-hours in January and 1 in February at 2.0625: lines 4.12 (4.125 half-even) + 2.06 (2.0625);
    # rounding the exact total once would give 6.19.
    world.reserve(1, datetime(2026, 1, 31, 22, tzinfo=UTC), datetime(2026, 2, 1, 1, tzinfo=UTC), rate="2.0625")
    p = world.project()
    lines = p.billing(tenant_id=world.tenant)
    assert [line["amount"] for line in lines] == [d("4.12"), d("2.06")]
    [pool] = p.capex()["pools"]
    assert pool["revenue_booked"] == sum(line["amount"] for line in lines) == d("6.18")
    [revenue] = p.report("site_revenue")
    assert revenue["revenue_booked"] == d("6.18") and revenue["booked_gpu_hours"] == 3


def test_a_batch_of_bookings_reads_its_billing_lines_in_one_query(world: World,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Catching up on many bookings costs one read of their billing lines per batch, not one per
    booking (the follower's batches hold hundreds under load), and bills them exactly as before."""
    from projections.billing_rows import LINES
    from storage.database import Database

    world.project()  # the set-up's events
    bookings = 40
    for i in range(bookings):  # two hours across a month's end (10 month ends, 4 GPUs each)
        month_end = datetime(2026, 2 + i % 10, 1, tzinfo=UTC)
        world.reserve(1, month_end - timedelta(hours=1), month_end + timedelta(hours=1))
    reads: list[int] = []
    select_keys = Database.select_keys

    def counted(self: Database, table: object, name: str, keys: object) -> list[tuple[object, ...]]:
        if table is LINES:
            reads.append(len(keys))  # type: ignore[arg-type]
        return select_keys(self, table, name, keys)  # type: ignore[arg-type]

    monkeypatch.setattr(Database, "select_keys", counted)
    world.projections.catch_up(batch_size=5000)
    assert len(reads) == 1, reads  # one query, for every line the batch's bookings land on
    assert reads[0] == 2 * bookings  # each booking spans two months: two lines
    lines = world.projections.db.conn.execute("SELECT count(*) FROM bil_lines").fetchone()
    assert lines is not None and lines[0] == 2 * bookings
