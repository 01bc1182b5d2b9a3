"""`ledger demo`: write the history, bring the projections up to date, print the reports.

The history is the same log, byte for byte, for the same ``--seed`` and ``--start`` on any fresh
store (ids from ``cli.demo.ids``, times from the simulated clock). It opens with ``DemoRun.Started``
and ends with ``DemoRun.Completed`` (``domain.aggregates.demo``): a store without the second is a
demo cut short, which a later ``ledger demo`` refuses to add to (``--reset`` rebuilds it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Console

from cli.demo.database import reset
from cli.demo.history import DemoHistory
from cli.demo.reports import DemoNames, print_demo_reports
from cli.demo.timeline import SCALES, DemoSummary, SimulatedClock, history_window, parse_start
from cli.interrupts import interrupted, terminated_as_interrupt
from cli.options import checked, opened_ledger, opened_projections, progress_bar
from storage.checks import check_sqlite_is_a_ledger, describe, ensure_schema

# A bigger aggregate cache (every reservation of a large history stays warm), and few PostgreSQL
# connections: the demo is one writer (the pool settings are ignored on SQLite).
DEMO_LEDGER_ENV = {"AGGREGATE_CACHE_MAXSIZE": "20000", "POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "2"}


@dataclass(frozen=True)
class DemoOptions:
    db: str
    months: int | None
    scale: str
    seed: int
    reset: bool
    start: str | None = None  # YYYY-MM; None: the fixed default calendar (cli.demo.timeline.HISTORY_END)


def build_history(url: str, *, months: int, scale: str, seed: int, err: Console | None = None,
                  start_month: datetime | None = None) -> DemoHistory:
    """Record the whole history at ``url`` (which must be empty) and bring the projections up to
    date. Returns the finished simulation (its summary, orders and reservations)."""
    start, end = history_window(months, start_month)
    clock = SimulatedClock(start)
    quiet = err or Console(quiet=True)

    with opened_ledger(url, create=True, clock=clock, extra_env=DEMO_LEDGER_ENV) as ledger, \
            opened_projections(url, create=True) as projections:
        days = (end - start).days
        with progress_bar(quiet) as bar:
            task = bar.add_task("Recording the history through the ledger", total=days)

            def advanced(moment: datetime) -> None:
                bar.update(task, completed=min(days, (moment - start).days),
                           description=f"Recording the history through the ledger ({moment:%Y-%m-%d})")

            history = DemoHistory(ledger, clock, months=months, scale=SCALES[scale], seed=seed,
                                  invoices=projections, on_progress=advanced, start=start)
            ledger.start_demo_run(seed=seed, start=start, end=end, months=months, scale=scale)
            history.run()
        with progress_bar(quiet) as bar:
            task = bar.add_task("Bringing the projections up to date", total=None)
            projections.catch_up(progress=lambda done, total: bar.update(task, completed=done, total=total))
        # The scenario's last event: the history is whole (domain.aggregates.demo).
        ledger.complete_demo_run({**history.summary.counts, "events": ledger.max_position()})
        projections.catch_up()
        history.summary.counts["events"] = ledger.max_position()
        with progress_bar(quiet) as bar:
            # The tamper-evident hash chain is kept like a projection: chain the new history
            # now, so that `ledger audit verify` checks all of it straight away.
            bar.add_task("Chaining the audit log", total=None)
            from projections.audit.chain import AuditChain

            AuditChain(ledger).catch_up()
    return history


def run_demo(options: DemoOptions, *, out: Console, err: Console) -> int:
    start_month = parse_start(options.start) if options.start else None  # refused before the store is touched
    config = checked(options.db, create=True)
    scale = SCALES[options.scale]
    months = options.months or scale.months
    where = describe(config)
    if config.kind == "sqlite":
        check_sqlite_is_a_ledger(config.sqlite_path, "reset" if options.reset else "write the demo into")
    if options.reset:
        removed = reset(options.db)
        if removed:
            err.print(f"Reset {where}: removed {len(removed)} ledger table(s) or file(s).")
    ensure_schema(config)
    with opened_ledger(options.db, create=True) as ledger:
        existing = ledger.max_position()
        run = ledger.get_demo_run() if existing else None
    if run is not None and not run.completed:
        err.print(f"error: the ledger at {where} holds a partial demo ({existing:,} events: it was interrupted or "
                  f"failed); run ledger demo --reset to rebuild it", markup=False, highlight=False, soft_wrap=True)
        return 2
    if existing:
        out.print(f"The ledger at {where} already holds {existing:,} events, so the demo data is already "
                  f"there. Run [bold]ledger demo --reset[/bold] to rebuild it, or look around:")
        print_next_steps(out, options.db, None)
        return 0
    start, end = history_window(months, start_month)
    out.print(f"Building a {months}-month history ({scale.name} scale, seed {options.seed}) "
              f"from {start:%Y-%m-%d} to {end:%Y-%m-%d} in {where} ...")
    started = time.perf_counter()
    try:
        with terminated_as_interrupt():
            history = build_history(options.db, months=months, scale=scale.name, seed=options.seed, err=err,
                                    start_month=start_month)
    except KeyboardInterrupt:
        return _interrupted(options.db, where)
    elapsed = time.perf_counter() - started
    summary = history.summary
    out.print(summary_line(summary, summary.counts["events"], elapsed))
    with opened_ledger(options.db) as ledger, opened_projections(options.db) as projections:
        print_demo_reports(projections, DemoNames.from_summary(ledger, summary), summary, out, ledger)
    print_next_steps(out, options.db, summary)
    return 0


def _interrupted(db: str, where: str) -> int:
    """The one line for a demo stopped by SIGINT/SIGTERM (exit 130): how far it got."""
    try:
        with opened_ledger(db) as ledger:
            events: int | None = ledger.max_position()
            run = ledger.get_demo_run()
    except Exception:  # the database went with the interrupt: say so without a count
        events, run = None, None
    return interrupted(events, where, partial=run is None or not run.completed)


def summary_line(summary: DemoSummary, events: int, elapsed: float) -> str:
    c = summary.counts
    parts = [f"{c.get('tenants', 0)} tenants", f"{c.get('tranches', 0)} tranches",
             f"{c.get('supply orders', 0)} supply orders", f"{c.get('deliveries', 0)} deliveries",
             f"{c.get('commissionings', 0)} commissionings", f"{c.get('GPUs decommissioned', 0)} GPUs failed",
             f"{c.get('reservations', 0)} reservations", f"{c.get('extensions', 0)} extensions",
             f"{c.get('cancellations', 0)} cancellations", f"{c.get('usage records', 0):,} hourly usage records",
             f"{c.get('invoices', 0)} invoices"]
    note = f" (invoices skipped: {summary.invoices_skipped})" if summary.invoices_skipped else ""
    return (f"Recorded {events:,} events and brought the projections up to date in {elapsed:.1f} s:\n"
            f"  {', '.join(parts)}{note}.")


def print_next_steps(out: Console, db: str, summary: DemoSummary | None) -> None:
    flag = "" if db in ("./ledger.db", "ledger.db") else f" --db {db}"
    month = summary.months_invoiced[-1] if summary and summary.months_invoiced else None
    month_flags = f" --from {month} --to {month}" if month else ""
    aged_on = summary.end.date().isoformat() if summary else ""
    lines: list[tuple[str, Any]] = [
        (f"ledger serve{flag}", "the HTTP API on http://127.0.0.1:8000 (docs at /docs); "
                                f"`ledger token create{flag} --role finance` for a token"),
        (f"ledger report utilisation{flag} --granularity day --site 'Nordfjord Hydro Campus'",
         "any report as a table (also: billing, sustainability, capex)"),
        (f"ledger report billing{flag}{month_flags} --format csv", "the same as CSV or JSON for a spreadsheet"),
        *([(f"ledger report trial_balance{flag} --to {month}", f"the books through {month}, closed: debits = credits"),
           (f"ledger journal export{flag} --month {month} --out journal-{month}.csv",
            "the month's journal as a NetSuite journal-entry import file"),
           (f"ledger report receivables_aging{flag} --on {aged_on}",
            f"who owes what, by days past due, on the history's last day ({aged_on})")] if month else []),
        (f"ledger audit verify{flag}", "check the hash chain over the whole event log"),
        (f"ledger verify all{flag}", "rebuild each projection from the log and compare it with the live tables"),
    ]
    out.print("\n[bold]Next[/bold]")
    for command, what in lines:
        out.print(f"  [cyan]{command}[/cyan]\n      {what}")
