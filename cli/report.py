"""`ledger report NAME`: any report of the registry (``projections.registry.REPORTS``), filtered,
as a table, CSV or JSON.

The report names, the options that apply to each and their checks come from the report's
declaration, the same one the HTTP routes are built from; the answer is the one read operation's
(``projections.queries.read_report``), the same as HTTP's: JSON is its object, CSV its rows and
totals lines, the table its rows and a Total row per totals object. Sites and tenants may be
given by id or by name. The projections are brought up to date first, so the report reflects
every recorded event.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console

from bootstrap import open_projections
from cli.interrupts import warn_if_partial_demo
from cli.names import Names, resolve
from cli.options import (
    DEFAULT_DATABASE,
    DbOption,
    FormatOption,
    checked,
    month_option,
    opened_ledger,
    progress_bar,
    stderr_console,
    stdout_console,
)
from cli.readable import report_table
from cli.render import Format, render
from config.view import reporting_currency
from domain import Ledger
from domain.errors import InvalidInput
from projections import Projections
from projections.queries import LocalSource, ReportAnswer, read_report
from projections.registry import REPORTS, report
from projections.reports.base import Report

# Tables show names instead of these ids (CSV and JSON keep every column).
TABLE_HIDDEN = {"site_id", "tenant_id", "round_id", "invoice_id", "line_key", "granularity", "period_start",
                "entry_id", "event_id", "line"}  # the journal: an entry is its position


def known_names(ledger: Ledger, projections: Projections) -> Names:
    """Every site and tenant the read side knows of, with its name."""
    sites = {r[0] for r in projections.db.fetchall("SELECT DISTINCT site_id FROM cap_pool_ids")}
    tenants = {r[0] for r in projections.db.fetchall("SELECT DISTINCT tenant_id FROM bil_reservations")}
    return Names.load(ledger, sites, tenants)


def filters_for(found: Report, given: dict[str, str | None], names: Names) -> dict[str, Any]:
    """The report's raw filters from the command line's options, refusing options it has not."""
    applicable = {f.kind for f in found.filters}
    for kind, value in given.items():
        if value is not None and kind not in applicable:
            options = ", ".join(f.option for f in found.filters) or "none"
            raise InvalidInput(f"--{kind} does not apply to the {found.name} report (options: {options})",
                               field=f"--{kind}")
    raw: dict[str, Any] = {}
    for f in found.filters:
        value = given.get(f.kind)
        if f.kind == "site":
            value = resolve(value, names.sites, "site", "--site")
        elif f.kind == "tenant":
            value = resolve(value, names.tenants, "tenant", "--tenant")
        raw[f.name] = value
    return raw


def run_report(db: str, name: str, given: dict[str, str | None], fmt: Format, *, out: Console,
               err: Console, as_of: str | None = None) -> int:
    found = report(name)
    checked(db)  # the one --db policy: no ledger, no report (and nothing created)
    with opened_ledger(db) as ledger:
        warn_if_partial_demo(ledger)
        answer = read_answer(db, ledger, found, given, err, as_of=as_of)
        if fmt is Format.table:
            declared = [c.name for c in found.columns]
            named = [c for c in ("tenant", "site") if c in answer.columns]  # tenants first, as the rows are ordered
            shown = named + [c for c in declared if c not in TABLE_HIDDEN]
            view = report_table(found, answer.rows, shown, now=ledger.now(), totals=answer.totals)
            render(view.rows, fmt, console=out, title=found.title, caption=found.notes or None, labels=view.labels,
                   columns=view.columns, formats=view.formats, numeric=view.numeric, totals=view.totals,
                   drop_order=view.drop_order)
        elif fmt is Format.csv:
            out.file.write(answer.csv())
        else:
            out.file.write(json.dumps(answer.plain(), indent=2, ensure_ascii=False) + "\n")
    return 0


def read_answer(db: str, ledger: Ledger, found: Report, given: dict[str, str | None], err: Console, *,
                as_of: str | None = None) -> ReportAnswer:
    """The one read operation (``projections.queries.read_report``) on this process's projections:
    brought up to date first (live), or as it stood at ``as_of`` (a scratch copy; live tables
    untouched)."""
    if as_of is not None:
        from projections.asof import parse_as_of

        parse_as_of(as_of)  # a bad --as-of is refused before any work
    projections = open_projections(db) if as_of is None or given.get("site") or given.get("tenant") else None
    try:
        names = known_names(ledger, projections) if projections is not None and (
            given.get("site") or given.get("tenant")) else Names()
        raw = filters_for(found, given, names)
        found.parse(raw)  # a bad filter is refused before any work
        if as_of is None and projections is not None:
            with progress_bar(err) as bar:
                task = bar.add_task("Bringing the projections up to date", total=None)
                projections.catch_up(progress=lambda done, total: bar.update(task, completed=done, total=total))
        answer = read_report(LocalSource(projections, ledger, db), found, raw, as_of=as_of,
                             reporting_currency=reporting_currency())
    finally:
        if projections is not None:
            projections.close()
    if as_of is not None:
        source = answer.provenance
        err.print(f"as of log position {answer.position:,} (from the checkpoint at {source.checkpoint or 0:,}; "
                  f"{source.replayed or 0:,} positions replayed in {source.seconds or 0:.2f} s)", soft_wrap=True,
                  highlight=False)
    return answer


# ---- the `ledger report` command -----------------------------------------------------------

class Granularity(StrEnum):
    hour = "hour"
    day = "day"
    month = "month"


def report_command(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(REPORTS)}", show_default=False)],
    site: Annotated[str | None, typer.Option(help="Site name, id or id prefix")] = None,
    model: Annotated[str | None, typer.Option(help="GPU model, e.g. GB300")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant name, id or id prefix")] = None,
    from_: Annotated[str | None, typer.Option("--from", callback=month_option,
                                              help="First month YYYY-MM (or day YYYY-MM-DD)")] = None,
    to: Annotated[str | None, typer.Option("--to", callback=month_option,
                                           help="Last month YYYY-MM (or day YYYY-MM-DD), inclusive")] = None,
    granularity: Annotated[Granularity | None, typer.Option(help="Utilisation: hour, day or month")] = None,
    currency: Annotated[str | None, typer.Option(help="Consolidated reports: the reporting currency "
                                                      "(default LEDGER_REPORTING_CURRENCY, USD)")] = None,
    account: Annotated[str | None, typer.Option(help="Journal: an account code of the chart, e.g. 1100")] = None,
    on: Annotated[str | None, typer.Option(help="Receivables: the aging date YYYY-MM-DD (default today, UTC)")] = None,
    fmt: FormatOption = Format.table,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="The report as it stood at this log position, or at the last event recorded at or "
                        "before this ISO 8601 time (with a UTC offset)", show_default=False)] = None,
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Print a report from the projections (brought up to date first), or as of a past point."""
    given = {"site": site, "model": model, "tenant": tenant, "from": from_, "to": to,
             "granularity": granularity.value if granularity else None, "currency": currency,
             "account": account, "on": on}
    raise typer.Exit(run_report(db, name, given, fmt, out=stdout_console(), err=stderr_console(), as_of=as_of))


def register(app: typer.Typer) -> None:
    """Add `report` to the `ledger` app."""
    app.command("report")(report_command)
