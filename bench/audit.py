"""Auditor benchmark: export, chain and verify rates on a large log, and the export's peak memory.

    python -m bench.audit --db postgresql://postgres@127.0.0.1:5432/postgres --events 200000

Generates the log through the service (per-hour usage records in batches: one event each), in
a fresh schema (dropped afterwards unless --keep). The export runs in a child process so its
peak RSS is the export's own; a second, ten times smaller export shows that memory does not
grow with the log.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bench.common import T0, drop_url, fresh_url, seeded_fleet
from bootstrap import open_ledger
from domain import UsageRecord

RESERVATIONS = 50
BATCH = 5000


def generate(url: str, events: int) -> int:
    fleet = seeded_fleet(url)
    hours = -(-events // RESERVATIONS)
    reservations = [fleet.ledger.confirm_reservation(
        tenant_id=fleet.tenant_id, site_id=fleet.site_id, model=fleet.model, gpus=1,
        start=T0, end=T0 + timedelta(hours=hours), backfill=True).id for _ in range(RESERVATIONS)]
    slots = [(r, T0 + timedelta(hours=h)) for h in range(hours) for r in reservations][:events]
    for i in range(0, len(slots), BATCH):
        fleet.ledger.record_usage([UsageRecord(uuid.uuid4(), r, hour, Decimal("0.875"))
                                   for r, hour in slots[i:i + BATCH]])
    total = fleet.ledger.max_position()
    fleet.ledger.close()
    return total


def timed(work: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def export_child(url: str, path: str, stop: int | None) -> dict[str, Any]:
    """Run in a fresh process: export to ``path`` and report time and peak RSS."""
    from projections.audit import export_events

    ledger = open_ledger(url)
    before_mb = memory_mb("VmRSS")
    with open(path, "w", encoding="utf-8") as out:
        count, seconds = timed(lambda: export_events(ledger, out, stop=stop))
    ledger.close()
    return {"events": count, "seconds": seconds, "rss_before_mb": before_mb, "peak_rss_mb": memory_mb("VmHWM")}


def memory_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process. Not ru_maxrss: on Linux that survives
    exec, so a child forked from the (large) parent would report the parent's peak."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_export(url: str, path: str, stop: int | None) -> dict[str, Any]:
    args = [sys.executable, "-m", "bench.audit", "--export-child", url, path] + ([str(stop)] if stop else [])
    return dict(json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit")
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated schema/file")
    parser.add_argument("--export-child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.export_child:
        url, path, *stop = args.export_child
        print(json.dumps(export_child(url, path, int(stop[0]) if stop else None)))
        return 0

    from projections.audit import AuditChain, import_events

    with tempfile.TemporaryDirectory() as tmpdir:
        url = fresh_url(args.db, tmpdir)
        copy_url = fresh_url(args.db, tmpdir)
        try:
            total, gen_s = timed(lambda: generate(url, args.events))
            ledger = open_ledger(url)
            chain = AuditChain(ledger, page_size=5000)
            head, chain_s = timed(chain.catch_up)
            report, verify_s = timed(chain.verify)
            assert report.ok and report.checked == total, report
            ledger.close()
            path = f"{tmpdir}/events.jsonl"
            small = run_export(url, f"{tmpdir}/small.jsonl", total // 10)
            full = run_export(url, path, None)
            copy = open_ledger(copy_url)
            with open(path, encoding="utf-8") as lines:
                imported, import_s = timed(lambda: import_events(copy, lines))
            copy.close()
            assert imported.head_hex == head.hex
            rows = {
                "events": total, "generate_per_s": total / gen_s,
                "chain_catch_up_per_s": total / chain_s, "verify_per_s": total / verify_s,
                "export_per_s": full["events"] / full["seconds"], "export_peak_rss_mb": full["peak_rss_mb"],
                "export_rss_before_mb": full["rss_before_mb"],
                f"export_{small['events']}_peak_rss_mb": small["peak_rss_mb"],
                "import_per_s": imported.events / import_s,
            }
            print(json.dumps(rows, indent=2))
        finally:
            if not args.keep:
                drop_url(url)
                drop_url(copy_url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
