"""Properties of the projections over random histories (SQLite: fast and in-process).

- incremental processing in any batch sizes, interleaved with new events, with any subset of
  projections caught up at each step (so one page fans out to projections at different
  positions), equals a rebuild;
- a batch that fails before commit and is processed again changes nothing (exactly once),
  and catching up twice changes nothing;
- billing totals equal the sum of their lines;
- utilisation booked GPU-hours equal the reservations' booked GPU-hours.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootstrap import open_ledger, open_projections
from domain.errors import LedgerError
from projections import PROJECTION_NAMES, Projections
from projections.engine import TRACKING_TABLE

UTC = UTC
T0 = datetime(2026, 1, 1, tzinfo=UTC)

command = st.one_of(
    st.tuples(st.just("reserve"), st.integers(1, 3), st.integers(0, 24 * 60), st.integers(1, 24 * 40),
              st.sampled_from(["H100-SXM", "GB300"]), st.integers(0, 1)),
    st.tuples(st.just("extend"), st.integers(0, 30), st.integers(1, 200)),
    st.tuples(st.just("cancel"), st.integers(0, 30), st.integers(0, 24 * 60)),
    st.tuples(st.just("use"), st.integers(0, 30), st.integers(0, 24 * 30), st.decimals("0", "3", places=3)),
    st.tuples(st.just("revise"), st.integers(0, 1), st.integers(1, 100), st.integers(0, 24 * 60)),
    st.tuples(st.just("decommission"), st.integers(0, 1), st.integers(1, 2), st.integers(0, 24 * 60)),
    st.tuples(st.just("invoice"), st.integers(0, 1), st.sampled_from(["2026-01", "2026-02"])),
    st.tuples(st.just("project"), st.integers(1, 40), st.sets(st.sampled_from(PROJECTION_NAMES))),
)


class History:
    def __init__(self, url: str) -> None:
        self.now = T0
        self.ledger = open_ledger(url, clock=lambda: self.now)
        self.projections = open_projections(url)
        self.sites = []
        self.revised_at = [T0, T0]
        fund = self.ledger.open_funding_round(name="R", currency="USD", opened_at=T0).id
        self.ledger.record_commitment(fund, investor="A", amount="10000000", currency="USD", equity_percent="1")
        self.ledger.record_tranche(fund, investor="A", amount="10000000", currency="USD", received_at=T0)
        for country in ("GB", "NO"):
            site = self.ledger.register_site(name=country, country=country, grid_intensity_g_per_kwh="200",
                                              pue="1.2", carbon_free_share="0.5", effective_from=T0).id
            self.sites.append(site)
            for model in ("H100-SXM", "GB300"):
                order = self.ledger.place_supply_order(funding_round_id=fund, site_id=site, model=model, quantity=6,
                                                       unit_price="30000.5", currency="USD", placed_at=T0).id
                self.ledger.record_delivery(order, quantity=6, delivered_at=T0)
                self.ledger.commission(order, quantity=6, commissioned_at=T0)
        self.tenants = [self.ledger.register_tenant(name=f"T{i}", billing_currency=c,
                                                    rates={"H100-SXM": "2.125", "GB300": "3.3333"}).id
                        for i, c in enumerate(("USD", "JPY"))]
        self.reservations: list[Any] = []

    def run(self, step: tuple[Any, ...]) -> None:
        kind = step[0]
        try:
            if kind == "reserve":
                _, gpus, offset, hours, model, tenant = step
                start = T0 + timedelta(hours=offset)
                self.now = T0
                self.reservations.append(self.ledger.confirm_reservation(
                    tenant_id=self.tenants[tenant], site_id=self.sites[offset % 2], model=model, gpus=gpus,
                    start=start, end=start + timedelta(hours=hours)).id)
            elif kind == "extend" and self.reservations:
                r = self.ledger.get_reservation(self.reservations[step[1] % len(self.reservations)])
                self.now = T0
                self.ledger.extend_reservation(r.id, end=r.end + timedelta(hours=step[2]))
            elif kind == "cancel" and self.reservations:
                self.now = T0 + timedelta(hours=step[2], minutes=30)
                self.ledger.cancel_reservation(self.reservations[step[1] % len(self.reservations)])
            elif kind == "use" and self.reservations:
                r = self.ledger.get_reservation(self.reservations[step[1] % len(self.reservations)])
                self.now = datetime(2027, 1, 1, tzinfo=UTC)
                hour = r.start + timedelta(hours=step[2] % max(1, r.hours))
                self.ledger.record_usage([{"record_id": uuid4(), "reservation_id": r.id, "hour": hour,
                                           "gpu_hours": min(step[3], Decimal(r.gpus))}])
            elif kind == "revise":
                site = step[1]
                self.revised_at[site] += timedelta(hours=step[3] + 1)
                self.ledger.revise_site(self.sites[site], effective_from=self.revised_at[site],
                                        grid_intensity_g_per_kwh=str(step[2]), pue="1.1", carbon_free_share="0.25")
            elif kind == "decommission":
                self.now = T0 + timedelta(hours=step[3], minutes=15)
                self.ledger.decommission(site_id=self.sites[step[1]], model="H100-SXM", quantity=step[2],
                                         at=self.now, reason="test")
            elif kind == "invoice":
                self.projections.catch_up(["billing"])
                self.now = datetime(2026, 6, 1, tzinfo=UTC)
                lines, position = self.projections.invoice_lines(self.tenants[step[1]], step[2])
                self.ledger.issue_invoice(tenant_id=self.tenants[step[1]], month=step[2], lines=lines,
                                          billed_through_position=position)
            elif kind == "project":
                self.projections.catch_up(sorted(step[2]) or None, batch_size=step[1])
        except LedgerError:
            pass  # refused commands record nothing

    def close(self) -> None:
        self.projections.close()
        self.ledger.close()


def dump(p: Projections) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for slot in p.engine.live.values():
        for table in slot.projection.tables:
            out[table.name] = p.db.fetchall(f"SELECT * FROM {table.name} ORDER BY {', '.join(table.key)}")
    return out


PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(steps=st.lists(command, min_size=1, max_size=25), final_batch=st.integers(1, 50))
def test_incremental_processing_in_any_batch_sizes_equals_a_rebuild(steps: list[Any], final_batch: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h = History(str(Path(tmp) / "l.db"))
        try:
            for step in steps:
                h.run(step)
            p = h.projections
            p.catch_up(batch_size=final_batch)
            for name in PROJECTION_NAMES:
                result = p.verify(name)
                assert result.ok, result.differences
            # billing totals are the sum of their lines
            sums: dict[tuple[str, str], Decimal] = {}
            for line in p.billing():
                key = (line["tenant_id"], line["month"])
                sums[key] = sums.get(key, Decimal(0)) + line["amount"]
            for total in p.billing_totals():
                assert total["total"] == sums.get((total["tenant_id"], total["month"]), Decimal(0))
            # utilisation booked GPU-hours are the reservations' booked GPU-hours
            booked = sum(h.ledger.get_reservation(r).gpu_hours_booked for r in h.reservations)
            assert sum(row["booked_gpu_hours"] for row in p.utilisation(granularity="month")) == booked
            assert sum(row["booked_gpu_hours"] for row in p.utilisation(granularity="day")) == booked
            assert sum(line["gpu_hours"] for line in p.billing()) == booked
        finally:
            h.close()


@PROPERTY
@given(steps=st.lists(command, min_size=1, max_size=20), batch=st.integers(1, 20))
def test_a_batch_processed_again_after_a_failure_changes_nothing(steps: list[Any], batch: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h = History(str(Path(tmp) / "l.db"))
        try:
            for step in steps:
                if step[0] not in ("project", "invoice"):  # keep every projection at position 0
                    h.run(step)
            p = h.projections
            engine = p.engine
            # Apply a batch of every projection, then fail before the commit: nothing may stick.
            original = p.db.execute

            def failing(statement: str, params: Any = (), _original: Any = original) -> Any:
                if statement.startswith(f"UPDATE {TRACKING_TABLE}"):
                    raise RuntimeError("crash before commit")
                return _original(statement, params)

            p.db.execute = failing  # type: ignore[method-assign]
            try:
                with pytest.raises(RuntimeError):
                    engine.catch_up(batch_size=batch)
            finally:
                p.db.execute = original  # type: ignore[method-assign]
            assert all(p.position(n) == 0 for n in PROJECTION_NAMES)
            p.catch_up(batch_size=batch)
            first = dump(p)
            p.catch_up(batch_size=batch)
            assert dump(p) == first
            for name in PROJECTION_NAMES:
                assert p.verify(name).ok
        finally:
            h.close()
