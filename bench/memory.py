"""Peak memory (RSS high-water mark, VmHWM) of a full projection rebuild and of an event
export, at ~100,000 and ~1,000,000 events (``--quick``: ~20,000 and ~100,000).

Each runs in a fresh child process, so the figure is that process's own peak (interpreter,
imports and connections included), not the parent's. Both stream the log in batches, so the
peak must stay flat as the log grows: the 1,000,000-event figure is shown as a ratio to the
100,000-event one (the baseline). The rebuild child also reports its time, which is the
rebuild suite's headline figure (``bench.rebuild``): every projection rebuilt from position 0
into scratch tables and swapped in, as ``ledger rebuild`` does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.api_load import loadavg
from bench.audit import memory_mb, run_export
from bench.dataset import history
from bootstrap import open_projections

TARGET_MIB = 300.0


def rebuild_child(url: str) -> dict[str, Any]:
    """In a fresh process: rebuild every projection (one shared pass, as ``ledger rebuild all``);
    time, event count and peak RSS."""
    from projections import PROJECTION_NAMES

    p = open_projections(url)
    events = int(p.app.recorder.max_notification_id() or 0)
    before = memory_mb("VmRSS")
    began = time.perf_counter()
    p.rebuild(list(PROJECTION_NAMES))
    seconds = time.perf_counter() - began
    p.close()
    return {"events": events, "seconds": seconds, "rss_before_mb": before, "peak_rss_mb": memory_mb("VmHWM")}


_REBUILT: dict[str, dict[str, Any]] = {}


def rebuild_figures(url: str) -> dict[str, Any]:
    """The rebuild child's figures for ``url``, run once per process (shared by the rebuild
    and memory suites of one ``python -m bench all``)."""
    if url not in _REBUILT:
        _REBUILT[url] = run_rebuild(url)
    return _REBUILT[url]


def run_rebuild(url: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "bench.memory", "--rebuild-child", url], check=True,
                         capture_output=True, text=True, cwd=str(Path(__file__).resolve().parent.parent)).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def run(url: str, tmpdir: str, quick: bool = False, fresh: bool = False) -> list[dict[str, Any]]:
    if not url.startswith("postgres"):
        return []
    sizes = (20_000, 100_000) if quick else (100_000, 1_000_000)
    rows: list[dict[str, Any]] = []
    base: dict[str, float] = {}
    for size in sizes:
        store = history(url, size, fresh=fresh)
        work_items: tuple[tuple[str, Callable[[], dict[str, Any]]], ...] = (
            ("rebuild (all projections)", lambda store=store: rebuild_figures(store)),  # type: ignore[misc]
            ("export (JSON Lines)", lambda store=store: run_export(store, f"{tmpdir}/export.jsonl", None)))  # type: ignore[misc]
        for what, work in work_items:
            result = work()
            peak = result["peak_rss_mb"]
            row = {"benchmark": "memory", "case": f"{what} peak RSS @ {result['events']:,} events", "value": peak,
                   "unit": "MiB", "events": result["events"], "seconds": result["seconds"],
                   "events_per_s": result["events"] / result["seconds"], "load": loadavg()}
            if size == sizes[0]:
                base[what] = peak
                row["ratio"] = 1.0
            else:
                row.update(ratio=peak / base[what], baseline=base[what], target=f"< {TARGET_MIB:.0f} MiB",
                           met=peak < TARGET_MIB)
            rows.append(row)
            Path(f"{tmpdir}/export.jsonl").unlink(missing_ok=True)
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--rebuild-child":
        print(json.dumps(rebuild_child(sys.argv[2])))
    else:
        raise SystemExit("usage: python -m bench memory --db URL (this module's main is the rebuild child)")
