"""Reports as of a past position, halfway through the cached 1,000,000-event history
(``--quick``: 100,000), against two baselines measured in the same run:

- the same report on the live tables (what a report GET costs today);
- a full replay of the report's projections from position 0 to the same position in scratch
  (what an as-of report costs without checkpoints; billing only, utilisation's takes minutes).

The projections are caught up first (the live engine takes the checkpoints on the way, every
``CHECKPOINT_EVERY`` events; a one-off cost reported as its own row). Two positions: exactly
halfway (``head // 2``), and the worst case near it, one event before the next checkpoint (a full
interval to replay). The as-of figures are medians of ``RUNS`` runs; the full replay runs once.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.api_load import loadavg
from bench.dataset import history
from bootstrap import open_projections
from projections import checkpoints
from projections.asof import report_as_of
from projections.checkpoints import CHECKPOINT_EVERY

RUNS = 3
REPORTS = ("billing", "utilisation")  # the cheapest and the costliest projections to copy and replay
TARGET_S = 30.0  # the API's request deadline
# Reports whose full replay to halfway is measured as a baseline (utilisation's takes minutes on
# this machine; its baseline is the live report).
FULL_REPLAY = ("billing",)


def timed(work: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def run(url: str, tmpdir: str, *, quick: bool = False, fresh: bool = False) -> list[dict[str, Any]]:
    if not url.startswith("postgres"):
        return []
    events = 100_000 if quick else 1_000_000
    store = history(url, events, fresh=fresh)
    live = open_projections(store)
    rows: list[dict[str, Any]] = []
    try:
        began = time.perf_counter()
        live.catch_up()
        caught_up = time.perf_counter() - began
        head = live.app.recorder.max_notification_id() or 0
        taken = checkpoints.listed(live.db)
        rows.append({"benchmark": "asof", "case": f"catch-up before the run (takes missing checkpoints), {head:,} "
                     f"events; {len(taken)} checkpoints stored", "value": caught_up, "unit": "s", "load": loadavg()})
        half = head // 2
        worst = (half // CHECKPOINT_EVERY + 1) * CHECKPOINT_EVERY - 1
        app = live.app
        for name in REPORTS:
            filters: dict[str, Any] = {}
            live_s, live_rows = timed(lambda n=name, f=filters: live.report(n, f), 5)  # type: ignore[misc]
            rows.append({"benchmark": "asof", "case": f"{name}: live tables at the head (baseline 1)",
                         "value": live_s * 1000, "unit": "ms", "load": loadavg()})
            full_s, full = None, None
            if name in FULL_REPLAY:
                full_s, full = timed(lambda n=name: report_as_of(store, app, n, {}, half, from_checkpoints=False), 1)
                rows.append({"benchmark": "asof", "case": f"{name}: full replay 0..{half:,} in scratch (baseline 2)",
                             "value": full_s, "unit": "s", "load": loadavg()})
            for label, position in (("halfway", half), ("worst case near halfway", worst)):
                as_of_s, answer = timed(lambda n=name, p=position: report_as_of(store, app, n, {}, p), RUNS)
                if position == half and full is not None:
                    assert answer.rows == full.rows, f"{name}: as-of and full replay disagree at {half}"
                rows.append({"benchmark": "asof", "case": f"{name} as of {position:,} ({label}; from checkpoint "
                             f"{answer.checkpoint:,}, {answer.replayed:,} replayed)",
                             "value": as_of_s, "unit": "s", "ratio": as_of_s / full_s if full_s else None,
                             "target": f"<= {TARGET_S:g} s", "met": as_of_s <= TARGET_S, "load": loadavg(),
                             "vs_live_x": as_of_s / live_s if live_s else None})
            del live_rows
    finally:
        live.close()
    return rows
