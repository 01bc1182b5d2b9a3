"""One pool, one writer, across processes: 8 OS processes booking the same GPU pool on
PostgreSQL, each with its own Ledger (so only the cross-process advisory lock can serialise
them), all starting each phase at the same instant.

- phase 1: the last 40 GPUs of a window, 8 x 10 takers of 1 GPU: exactly 40 confirmations,
  40 ``InsufficientCapacity``, no give-up;
- phase 2: 8 x 30 random bookings in the following days, with extensions and cancellations of
  each process's own reservations mixed in: no give-up, and the pool's bookings equal what the
  surviving reservations hold, never above the GPUs in service, hour by hour;
- every save wins at its first attempt (no lost race at all): commands on the pool really ran
  one at a time, not merely retried until they won.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bootstrap import open_ledger
from domain.timeutil import hour_index
from tests.builders import fleet

pytestmark = pytest.mark.slow  # spawns writer processes

PROCESSES = 8
GPUS = 40
WINDOW = (datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC))


class Writers:
    """``PROCESSES`` pool_writer processes, stepped through their phases together."""

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        env = dict(os.environ, PYTHONPATH=os.getcwd())
        self.procs = [subprocess.Popen([sys.executable, "-m", "tests.reliability.pool_writer", json.dumps(spec)],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True, env=env) for spec in specs]

    def phase(self) -> list[dict[str, Any]]:
        for proc in self.procs:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line.strip() == "ready", (line, proc.stderr.read()[-3000:])  # type: ignore[union-attr]
        for proc in self.procs:  # go, all at once
            proc.stdin.write("go\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        results = []
        for proc in self.procs:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line.startswith("{"), (line, proc.stderr.read()[-3000:])  # type: ignore[union-attr]
            results.append(json.loads(line))
        return results

    def close(self) -> None:
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            assert proc.returncode == 0, proc.stderr.read()[-3000:]  # type: ignore[union-attr]


def random_phase(rng: random.Random) -> list[list[Any]]:
    base = WINDOW[1]
    ops: list[list[Any]] = []
    for _ in range(30):
        first = rng.randrange(0, 72)
        start = base + timedelta(hours=first)
        ops.append(["book", rng.randint(1, 6), start.isoformat(),
                    (start + timedelta(hours=rng.randint(1, 24))).isoformat()])
        roll = rng.random()
        if roll < 0.2:
            ops.append(["extend", rng.randint(1, 6)])
        elif roll < 0.35:
            ops.append(["cancel"])
    return ops


@pytest.mark.postgres
def test_8_processes_booking_one_pool_never_give_up_nor_overbook(postgres_url: str) -> None:
    ledger = open_ledger(postgres_url)
    try:
        f = fleet(ledger, gpus=GPUS)
    finally:
        ledger.close()
    start, end = (w.isoformat() for w in WINDOW)
    rng = random.Random(13)
    specs = [{"url": postgres_url, "site_id": str(f.site_id), "model": f.model, "tenant_id": str(f.tenant_id),
              "phases": [[["book", 1, start, end]] * 10, random_phase(rng)]} for _ in range(PROCESSES)]

    started = time.monotonic()
    writers = Writers(specs)
    try:
        phase1 = writers.phase()
        phase2 = writers.phase()
    finally:
        writers.close()
    elapsed = time.monotonic() - started

    counts1 = sum((Counter(r["outcomes"]) for r in phase1), Counter())
    assert counts1 == {"book:ok": GPUS, "book:InsufficientCapacity": PROCESSES * 10 - GPUS}, counts1
    counts2 = sum((Counter(r["outcomes"]) for r in phase2), Counter())
    assert not [k for k in counts2 if k.endswith(":gave-up")], counts2
    assert counts2["book:ok"] > 0 and counts2["book:InsufficientCapacity"] > 0, counts2
    assert counts2["extend:ok"] > 0 and counts2["cancel:ok"] > 0, counts2
    lost = sum(r["lost_races"] for r in phase1 + phase2)
    assert lost == 0, f"{lost} saves lost a race: the pool's commands were not serialised across processes"

    ledger = open_ledger(postgres_url)  # a fresh view: no cache shared with the writers
    try:
        pool = ledger.get_pool(f.site_id, f.model)
        expected: Counter[int] = Counter()
        for r in phase1 + phase2:
            for rid in r["confirmed"]:
                reservation = ledger.get_reservation(rid)  # its end moved with extensions and cancellation
                for h in range(hour_index(reservation.start), hour_index(reservation.end)):
                    expected[h] += reservation.gpus
        booked = {h: n for h, n in pool.booked.items() if n}
        assert booked == {h: n for h, n in expected.items() if n}, "the pool's bookings differ from the reservations"
        for h, n in booked.items():
            assert n <= pool.in_service_at(h), f"overbooked at hour {h}: {n} > {pool.in_service_at(h)}"
        assert booked[hour_index(WINDOW[0])] == GPUS  # phase 1 filled its window exactly
    finally:
        ledger.close()
    print(f"pool lock: {PROCESSES} processes; phase 1 {dict(counts1)}; phase 2 {dict(counts2)}; "
          f"0 give-ups, 0 lost races; {elapsed:.1f} s")
