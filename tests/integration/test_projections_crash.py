"""Crash safety and live following.

- PostgreSQL: a runner process catching up a large log is SIGKILLed mid-way; after a restart
  the live tables equal a clean rebuild (exactly once across crashes).
- Both stores: ``follow`` picks up new events (LISTEN/NOTIFY on PostgreSQL, polling on SQLite)
  and ``wait_for`` without assistance sees them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from bootstrap import open_ledger, open_projections
from projections import PROJECTION_NAMES
from tests.builders import T0, fleet

UTC = UTC
RUNNER = "import sys; from bootstrap import open_projections; open_projections(sys.argv[1]).catch_up(batch_size=5)"


def build_log(url: str, reservations: int, hours: int) -> int:
    ledger = open_ledger(url, clock=lambda: datetime(2026, 6, 1, tzinfo=UTC))
    f = fleet(ledger, gpus=100, model="GB300", unit_price="45000", rate="4.4444")
    site, tenant = f.site_id, f.tenant_id
    records = []
    for i in range(reservations):
        start = T0 + timedelta(hours=7 * i)
        r = ledger.confirm_reservation(tenant_id=tenant, site_id=site, model="GB300", gpus=2, start=start,
                                       end=start + timedelta(hours=hours), backfill=True).id  # past: metered
        records += [{"record_id": uuid4(), "reservation_id": r, "hour": start + timedelta(hours=h),
                     "gpu_hours": f"1.{h % 1000:03d}"} for h in range(hours)]
    # Small metering batches: one UsageBatchRecorded event per reservation per batch, and the
    # crash test needs a log long enough to kill the runner part way through it.
    for i in range(0, len(records), 10):
        ledger.record_usage(records[i:i + 10])
    top = ledger.max_position()
    ledger.close()
    return top


@pytest.mark.postgres
@pytest.mark.slow
def test_a_runner_killed_mid_catch_up_resumes_to_the_same_result_as_a_clean_rebuild(postgres_url: str) -> None:
    top = build_log(postgres_url, reservations=20, hours=400)  # ~900 events (usage in batches of 10)
    projections = open_projections(postgres_url)  # creates the tables before the runner starts
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    process = subprocess.Popen([sys.executable, "-c", RUNNER, postgres_url], env=env)
    try:
        deadline = time.monotonic() + 120
        while projections.position("utilisation") < top // 4:
            assert process.poll() is None, "the runner finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    killed_at = projections.position("utilisation")
    assert 0 < killed_at < top
    assert projections.position() < top  # at least one projection was interrupted
    restarted = subprocess.run([sys.executable, "-c", RUNNER, postgres_url], env=env, timeout=300)
    assert restarted.returncode == 0
    assert projections.position() == top
    for name in PROJECTION_NAMES:
        result = projections.verify(name)  # a clean rebuild into scratch tables, compared row for row
        assert result.ok, result.differences[:5]
    used = sum(row["used_gpu_hours"] for row in projections.utilisation(granularity="month"))
    assert used == 20 * (400 + Decimal(sum(range(400))) / 1000)  # 20 x 479.8 GPU-hours
    projections.close()


def test_follow_picks_up_new_events_live(database_url: str) -> None:
    ledger = open_ledger(database_url, clock=lambda: datetime(2026, 3, 1, tzinfo=UTC))
    projections = open_projections(database_url)
    stop = threading.Event()
    worker = threading.Thread(target=projections.follow, args=(stop,), kwargs={"poll_interval": 0.1})
    worker.start()
    try:
        site = ledger.register_site(name="UK", country="GB", grid_intensity_g_per_kwh="225", pue="1.18",
                                    carbon_free_share="0.6", effective_from=T0)
        assert projections.wait_for(site.position, timeout=10, assist=False)  # type: ignore[arg-type]
        fund = ledger.open_funding_round(name="B", currency="USD", opened_at=T0)
        assert projections.wait_for(fund.position, timeout=10, assist=False)  # type: ignore[arg-type]
        assert [r["name"] for r in projections.capex()["rounds"]] == ["B"]
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    projections.close()
    ledger.close()
