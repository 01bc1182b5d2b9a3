"""Benchmark: projection rebuild rate (events/s) against the library's own read + decode.

    python -m bench rebuild --db postgresql://postgres@127.0.0.1:5432/postgres [--quick]
    python -m bench.rebuild --url 'postgresql://...?schema=demo_medium'   # any existing store

The baseline is what any read model built on eventsourcing must do at least: page through the
log with the library's public ``recorder.select_notifications`` and decode every event with
``mapper.to_domain_event``, writing nothing. Against it, in the same run and on the same store:
- ``ledger rebuild all``: every projection rebuilt from position 0 into scratch tables in one
  shared pass (each page read and decoded once, fanned out to all), swapped in together;
- each projection rebuilt alone, in turn (each reads the log for its own event classes);
- utilisation rebuilt alone.
Rates are events in the log per second (the log's total, whatever each projection handles).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from bootstrap import open_ledger, open_projections


def library_read_decode(url: str, page: int = 10_000) -> dict[str, float]:
    """Read and decode the whole log through the library's public API, no writes (baseline)."""
    ledger = open_ledger(url)
    try:
        recorder, mapper = ledger.recorder, ledger.mapper
        top = recorder.max_notification_id() or 0
        after, decoded = 0, 0
        started = time.perf_counter()
        while after < top:
            notifications = recorder.select_notifications(after, page, stop=top, inclusive_of_start=False)
            for notification in notifications:
                mapper.to_domain_event(notification)
            decoded += len(notifications)
            after = notifications[-1].id if len(notifications) == page else top
        seconds = time.perf_counter() - started
    finally:
        ledger.close()
    return {"events": top, "decoded": decoded, "seconds": seconds, "events_per_s": top / seconds}


def time_rebuilds(url: str) -> dict[str, Any]:
    """``ledger rebuild all`` (one shared pass, swapped in together), then each projection alone."""
    from projections import PROJECTION_NAMES

    p = open_projections(url)
    try:
        events = p.app.recorder.max_notification_id() or 0
        began = time.perf_counter()
        p.rebuild(list(PROJECTION_NAMES))
        together = time.perf_counter() - began
        alone: dict[str, float] = {}
        for name in PROJECTION_NAMES:
            started = time.perf_counter()
            p.rebuild(name)
            alone[name] = time.perf_counter() - started
        return {"events": events, "all_s": together, "alone_s": alone}
    finally:
        p.close()


def figures(url: str) -> dict[str, Any]:
    library_read_decode(url)  # warm-up: the first pass pays the cold cache, which would flatter us
    baseline = max((library_read_decode(url) for _ in range(2)), key=lambda b: b["events_per_s"])
    rebuild = time_rebuilds(url)
    events = rebuild["events"]
    return {
        "events": events,
        "library_read_decode_per_s": baseline["events_per_s"],
        "rebuild_all_per_s": events / rebuild["all_s"],
        "rebuild_all_s": rebuild["all_s"],
        "alone_s": rebuild["alone_s"],
        "each_in_turn_per_s": events / sum(rebuild["alone_s"].values()),
        "utilisation_per_s": events / rebuild["alone_s"]["utilisation"],
    }


def run(url: str, tmpdir: str, quick: bool = False, fresh: bool = False) -> list[dict[str, Any]]:
    """The suite of ``python -m bench``: on the cached ~1,000,000-event history (``--quick``:
    ~100,000)."""
    from bench.api_load import loadavg
    from bench.dataset import history

    if not url.startswith("postgres"):
        return []
    store = history(url, 100_000 if quick else 1_000_000, fresh=fresh)
    return rows_for(figures(store), loadavg())


def rows_for(f: dict[str, Any], load: str) -> list[dict[str, Any]]:
    base = f["library_read_decode_per_s"]
    n = f"{f['events']:,} events"
    return [
        {"benchmark": "rebuild", "case": f"library select_notifications + to_domain_event, {n} (baseline)",
         "rate_per_s": base, "ratio": 1.0, "load": load},
        {"benchmark": "rebuild", "case": f"ledger rebuild all (one shared pass, 5 projections), {n}",
         "rate_per_s": f["rebuild_all_per_s"], "ratio": f["rebuild_all_per_s"] / base,
         "seconds": f["rebuild_all_s"], "target": ">= 0.5x library", "met": f["rebuild_all_per_s"] >= 0.5 * base,
         "load": load},
        {"benchmark": "rebuild", "case": f"each projection rebuilt alone, in turn, {n}",
         "rate_per_s": f["each_in_turn_per_s"], "ratio": f["each_in_turn_per_s"] / base,
         "per_projection_s": f["alone_s"], "load": load},
        {"benchmark": "rebuild", "case": f"rebuild utilisation alone, {n}",
         "rate_per_s": f["utilisation_per_s"], "ratio": f["utilisation_per_s"] / base, "load": load},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a store with a history, e.g. a `ledger demo --scale medium`")
    args = parser.parse_args()
    print(json.dumps(figures(args.url), indent=1))


if __name__ == "__main__":
    main()
