"""Benchmarks: `python -m bench all|reservations|usage --db URL [--quick]`.

Prints a table and writes bench/results.json. Every figure is a median of several runs, shown
as a ratio against its baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import tempfile
from pathlib import Path

SUITES = ("reservations", "usage")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suite", choices=("all", *SUITES))
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a postgresql:// URL (a schema per case is created and dropped) or 'sqlite'")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for suite in SUITES if args.suite == "all" else (args.suite,):
            for url in _urls(args.db, tmpdir):
                module = importlib.import_module(f"bench.{suite}")
                for row in module.run(url, tmpdir, quick=args.quick):
                    row["store"] = "postgresql" if url.startswith("postgres") else "sqlite"
                    rows.append(row)
                    print(f"{row['benchmark']:<14} {row['store']:<10} {row['case']:<50} "
                          f"{row['rate_per_s']:>10,.0f}/s  x{row['ratio']:.2f}", flush=True)
    out = Path(__file__).with_name("results.json")
    out.write_text(json.dumps({"machine": platform.platform(), "python": sys.version.split()[0], "rows": rows},
                              indent=2, default=str))
    print(f"wrote {out}")
    return 0


def _urls(db: str, tmpdir: str) -> list[str]:
    if db == "both":
        return ["postgresql://postgres@127.0.0.1:5432/postgres", "sqlite"]
    return [db]


if __name__ == "__main__":
    sys.exit(main())
