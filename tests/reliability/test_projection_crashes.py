"""Projection workers SIGKILLed at random points, many times, while events are appended.

20 times in a row a `ledger project --follow` worker is started and SIGKILLed after a random
delay (0.3-2.5 s: during start-up, mid-batch, between batches), while a writer appends
reservations and usage to the log. Finally one worker catches up; every projection equals a
clean rebuild (``Projections.verify``), and the used GPU-hours equal what was written: each
event applied exactly once across 20 crashes.
"""

from __future__ import annotations

import os
import random
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

pytestmark = pytest.mark.slow  # runs and kills `ledger project` processes

UTC = UTC
KILLS = 20


def project(url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cli", "project", "--batch-size", "25", "--db", url, *extra]


@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def test_workers_killed_at_random_points_leave_projections_equal_to_a_rebuild(
        store: str, request: pytest.FixtureRequest) -> None:
    url = str(request.getfixturevalue(f"{store}_url"))
    ledger = open_ledger(url, clock=lambda: datetime(2031, 1, 1, tzinfo=UTC))  # every window is past
    f = fleet(ledger, gpus=100, model="GB300", unit_price="45000", rate="4.4444")
    site, tenant = f.site_id, f.tenant_id
    open_projections(url).close()  # tables exist before the first worker

    stop = threading.Event()
    written = {"usage": Decimal(0), "reservations": 0, "cancelled": 0}
    failures: list[BaseException] = []

    def writer() -> None:
        i = 0
        try:
            while not stop.is_set() and i < 8000:  # 8000 x 5 h ends before the clock's 2031
                start = T0 + timedelta(hours=5 * i)
                r = ledger.confirm_reservation(tenant_id=tenant, site_id=site, model="GB300", gpus=2, start=start,
                                               end=start + timedelta(hours=24), backfill=True).id
                written["reservations"] += 1
                records = [{"record_id": uuid4(), "reservation_id": r, "hour": start + timedelta(hours=h),
                            "gpu_hours": f"1.{(i + h) % 1000:03d}"} for h in range(24)]
                ledger.record_usage(records[:12])
                ledger.record_usage(records[12:])
                written["usage"] += sum(Decimal(rec["gpu_hours"]) for rec in records)
                i += 1
                time.sleep(0.02)
        except BaseException as error:
            failures.append(error)

    appender = threading.Thread(target=writer)
    appender.start()
    rng = random.Random(20)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    observed = open_projections(url)
    positions: list[tuple[int, int]] = []  # (projection position, log head) at each kill
    try:
        for _ in range(KILLS):
            worker = subprocess.Popen(project(url, "--follow"), env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.3, 2.5))
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            positions.append((observed.position(), ledger.max_position()))
    finally:
        stop.set()
        appender.join(timeout=60)
    assert not failures, failures
    head = ledger.max_position()
    final = subprocess.run(project(url), env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    assert observed.position() == head
    behind = sum(1 for position, top in positions if position < top)
    assert behind >= KILLS // 2, f"too few kills landed while the worker had work left: {positions}"
    for name in PROJECTION_NAMES:
        result = observed.verify(name)
        assert result.ok, (name, result.differences[:5])
    used = sum(row["used_gpu_hours"] for row in observed.utilisation(granularity="month"))
    assert used == written["usage"]
    booked = sum(row["booked_gpu_hours"] for row in observed.utilisation(granularity="month"))
    assert booked == written["reservations"] * 2 * 24
    observed.close()
    ledger.close()
    print(f"projection crashes[{store}]: {KILLS} SIGKILLs ({behind} with work left), {head} events, "
          f"{written['reservations']} reservations, verify == rebuild for {len(PROJECTION_NAMES)} projections")
