"""`ledger report NAME`: any report of the registry (``projections.registry.REPORTS``), filtered,
as a table, CSV or JSON.

The report names, the options that apply to each and their checks come from the report's
declaration, the same one the HTTP routes are built from. Sites and tenants may be given by id
or by name; table rows get name columns next to their ids. The projections are brought up to
date first, so the report reflects every recorded event.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console

from bootstrap import open_projections
from cli.names import Names, with_names
from cli.options import (
    DEFAULT_DATABASE,
    DbOption,
    FormatOption,
    checked,
    opened_ledger,
    progress_bar,
    stderr_console,
    stdout_console,
)
from cli.readable import by_name, report_table
from cli.render import Format, render
from config.view import reporting_currency
from domain import Ledger
from domain.errors import InvalidInput, NotFound
from projections import Projections
from projections.registry import REPORTS, report
from projections.reports.base import Report
from projections.reports.serialise import typed_rows

# Tables show names instead of these ids (CSV and JSON keep every column).
TABLE_HIDDEN = {"site_id", "tenant_id", "round_id", "invoice_id", "line_key", "granularity", "period_start"}


def resolve(value: str | None, names: dict[str, str], what: str, option: str) -> str | None:
    """An id given as is, or the id of the one site/tenant with that name (case-insensitive)."""
    if value is None:
        return None
    from uuid import UUID

    try:
        return str(UUID(value))
    except ValueError:
        pass
    matches = [ident for ident, name in names.items() if name.lower() == value.strip().lower()]
    if not matches:
        matches = [ident for ident, name in names.items() if value.strip().lower() in name.lower()]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(sorted(names.values())) or "none recorded yet"
    if not matches:
        raise NotFound(f"{option}: no {what} named {value!r} (known: {known})", field=option)
    raise InvalidInput(f"{option}: {value!r} matches several {what}s; give the full name or the id", field=option)


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
        if as_of is not None:
            rows = _rows_as_of(db, ledger, found, given, as_of, err)
        else:
            rows = _rows_now(db, ledger, found, given, err)
        rows = with_names(rows, Names.for_rows(ledger, rows))  # names next to ids, in every format
        declared = [c.name for c in found.columns]
        named = [c for c in ("site", "tenant") if any(c in r for r in rows)]
        if fmt is Format.table:  # tenants first: the rows are ordered by tenant name
            shown = sorted(named, key=("tenant", "site").index) + [c for c in declared if c not in TABLE_HIDDEN]
            view = report_table(found, rows, shown, now=ledger.now())
            render(view.rows, fmt, console=out, title=found.title, caption=found.notes or None, labels=view.labels,
                   columns=view.columns, formats=view.formats, numeric=view.numeric, totals=view.totals,
                   drop_order=view.drop_order)
        else:
            render(by_name(typed_rows(rows, found.columns)), fmt, console=out, columns=named + declared)
    return 0


def _rows_as_of(db: str, ledger: Ledger, found: Report, given: dict[str, str | None], as_of: str,
                err: Console) -> list[dict[str, Any]]:
    """The report as it stood at ``as_of`` (projections.asof: a scratch copy; live tables untouched)."""
    from projections.asof import parse_as_of, report_as_of

    parse_as_of(as_of)  # a bad --as-of is refused before any work
    names = Names()
    if given.get("site") or given.get("tenant"):
        projections = open_projections(db)
        try:
            names = known_names(ledger, projections)
        finally:
            projections.close()
    raw = with_reporting_currency(found, filters_for(found, given, names))
    found.parse(raw)
    answer = report_as_of(db, ledger, found.name, raw, as_of)
    err.print(f"as of log position {answer.position:,} (from the checkpoint at {answer.checkpoint:,}; "
              f"{answer.replayed:,} positions replayed in {answer.seconds:.2f} s)", soft_wrap=True, highlight=False)
    return answer.rows


def _rows_now(db: str, ledger: Ledger, found: Report, given: dict[str, str | None],
              err: Console) -> list[dict[str, Any]]:
    projections = open_projections(db)
    try:
        names = known_names(ledger, projections) if (given.get("site") or given.get("tenant")) else Names()
        raw = with_reporting_currency(found, filters_for(found, given, names))
        found.parse(raw)  # a bad filter is refused before any work
        with progress_bar(err) as bar:
            task = bar.add_task("Bringing the projections up to date", total=None)
            projections.catch_up(progress=lambda done, total: bar.update(task, completed=done, total=total))
        return projections.report(found.name, raw)
    finally:
        projections.close()


def with_reporting_currency(found: Report, raw: dict[str, Any]) -> dict[str, Any]:
    """A consolidated report's ``currency`` defaults to the setting (LEDGER_REPORTING_CURRENCY)."""
    if found.filter("currency") is not None and not raw.get("currency"):
        raw["currency"] = reporting_currency()
    return raw


# ---- the `ledger report` command -----------------------------------------------------------

class Granularity(StrEnum):
    hour = "hour"
    day = "day"
    month = "month"


def report_command(
    name: Annotated[str, typer.Argument(help=f"One of: {', '.join(REPORTS)}", show_default=False)],
    site: Annotated[str | None, typer.Option(help="Site id or name")] = None,
    model: Annotated[str | None, typer.Option(help="GPU model, e.g. GB300")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant id or name")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First month YYYY-MM (or day YYYY-MM-DD)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last month YYYY-MM (or day YYYY-MM-DD), inclusive")] = None,
    granularity: Annotated[Granularity | None, typer.Option(help="Utilisation: hour, day or month")] = None,
    currency: Annotated[str | None, typer.Option(help="Consolidated reports: the reporting currency "
                                                      "(default LEDGER_REPORTING_CURRENCY, USD)")] = None,
    fmt: FormatOption = Format.table,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="The report as it stood at this log position, or at the last event recorded at or "
                        "before this ISO 8601 time (with a UTC offset)", show_default=False)] = None,
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Print a report from the projections (brought up to date first), or as of a past point."""
    given = {"site": site, "model": model, "tenant": tenant, "from": from_, "to": to,
             "granularity": granularity.value if granularity else None, "currency": currency}
    raise typer.Exit(run_report(db, name, given, fmt, out=stdout_console(), err=stderr_console(), as_of=as_of))


def register(app: typer.Typer) -> None:
    """Add `report` to the `ledger` app."""
    app.command("report")(report_command)
