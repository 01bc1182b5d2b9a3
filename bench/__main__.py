"""Benchmarks: `python -m bench all|reservations|usage|rebuild|reports|api|write|memory|asof|usage-import|ui
--db URL [--quick]`.

Prints a table and writes bench/results.json. Every figure is a median of several runs, shown
as a ratio against its baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SUITES = ("reservations", "usage", "rebuild", "reports", "api", "write", "memory", "asof", "usage-import", "ui")
# suite name -> module under bench/ when they differ
MODULES = {"api": "api_load", "usage-import": "usage_import", "write": "write_path"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suite", choices=("all", *SUITES))
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a postgresql:// URL (a schema per case is created and dropped) or 'sqlite'")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--fresh-data", action="store_true",
                        help="rebuild the cached long histories (bench/dataset.py) instead of reusing them")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    began = time.time()
    machine = {"platform": platform.platform(), "python": sys.version.split()[0], "cores": os.cpu_count(),
               "ram_gib": _ram_gib(), "load_before": _load(), "quick": args.quick,
               "started": datetime.now(UTC).isoformat(timespec="seconds")}
    print(_header(), flush=True)
    with tempfile.TemporaryDirectory() as tmpdir:
        for suite in SUITES if args.suite == "all" else (args.suite,):
            for url in _urls(args.db, tmpdir):
                module = importlib.import_module(f"bench.{MODULES.get(suite, suite)}")
                kwargs = {"fresh": args.fresh_data} if "fresh" in inspect.signature(module.run).parameters else {}
                for row in module.run(url, tmpdir, quick=args.quick, **kwargs):
                    row["store"] = "postgresql" if url.startswith("postgres") else "sqlite"
                    row.setdefault("load", _load())
                    rows.append(row)
                    print(_line(row), flush=True)
    machine["load_after"] = _load()
    machine["seconds"] = round(time.time() - began)
    out = Path(args.out)
    out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2, default=str))
    print(f"wrote {out} ({machine['seconds']} s; load before {machine['load_before']}, after {machine['load_after']})")
    return 0


def _load() -> str:
    with open("/proc/loadavg", encoding="ascii") as f:
        return " ".join(f.read().split()[:3])


def _ram_gib() -> float:
    with open("/proc/meminfo", encoding="ascii") as f:
        return round(int(f.readline().split()[1]) / 2**20, 1)


def _header() -> str:
    return (f"{'suite':<12} {'store':<10} {'case':<66} {'figure':>16} {'vs baseline':>11} "
            f"{'p50/p99 ms':>17}  {'target':<24} load")


def _line(row: dict[str, Any]) -> str:
    figure = f"{row['value']:,.2f} {row['unit']}" if "value" in row else f"{row['rate_per_s']:,.0f}/s"
    ratio = f"x{row['ratio']:.3f}" if row.get("ratio") is not None else ""
    lat = f"{row['p50_ms']:.1f}/{row['p99_ms']:.1f}" if "p50_ms" in row else ""
    target = f"{row['target']} {'MET' if row.get('met') else 'MISSED'}" if "target" in row else ""
    return (f"{row['benchmark']:<12} {row.get('store', ''):<10} {row['case'][:66]:<66} {figure:>16} {ratio:>11} "
            f"{lat:>17}  {target:<24} {row.get('load', '')}")


def _urls(db: str, tmpdir: str) -> list[str]:
    if db == "both":
        return ["postgresql://postgres@127.0.0.1:5432/postgres", "sqlite"]
    return [db]


if __name__ == "__main__":
    sys.exit(main())
