"""`ledger report NAME`: one projection report, filtered, as a table, CSV or JSON.

Sites and tenants may be given by id or by name; rows get name columns next to their ids.
The projections are brought up to date first, so the report reflects every recorded event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console

from bootstrap import open_projections
from cli.demo.reports import Names, with_names
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
from cli.render import Format, render, render_sections
from domain import Ledger
from domain.errors import InvalidInput, NotFound
from domain.reference import gpu_model
from domain.service import MONTH_PATTERN as MONTH
from domain.timeutil import UTC

DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FILTERS = {
    "utilisation": {"site", "model", "start", "end", "granularity"},
    "billing": {"tenant", "start", "end"},
    "sustainability": {"site", "tenant", "start", "end"},
    "capex": {"site", "model"},
}
OPTION_NAMES = {"site": "--site", "model": "--model", "tenant": "--tenant", "start": "--from", "end": "--to",
                "granularity": "--granularity"}


@dataclass(frozen=True)
class ReportQuery:
    name: str
    site: str | None = None
    model: str | None = None
    tenant: str | None = None
    start: str | None = None
    end: str | None = None
    granularity: str = "month"
    fmt: Format = Format.table

    def given(self) -> set[str]:
        chosen = {k for k in ("site", "model", "tenant", "start", "end") if getattr(self, k) is not None}
        if self.granularity != "month":
            chosen.add("granularity")
        return chosen


def parse_bound(value: str | None, option: str, *, upper: bool) -> datetime | None:
    """YYYY-MM or YYYY-MM-DD as a UTC instant: the start of that period, or (``upper``) the start
    of the next one, so that ``--to`` is inclusive."""
    if value is None:
        return None
    text = value.strip()
    try:
        if MONTH.match(text):
            moment = datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=UTC)
            if upper:
                moment = (moment + timedelta(days=32)).replace(day=1)
            return moment
        if DAY.match(text):
            moment = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
            return moment + timedelta(days=1) if upper else moment
    except ValueError:
        pass
    raise InvalidInput(f"{option}: expected YYYY-MM or YYYY-MM-DD, got {value!r}", field=option)


def month_of(value: str | None, option: str) -> str | None:
    moment = parse_bound(value, option, upper=False)
    return None if moment is None else f"{moment.year:04d}-{moment.month:02d}"


def resolve(value: str | None, names: dict[str, str], what: str, option: str) -> str | None:
    """An id given as is, or the id of the one site/tenant with that name (case-insensitive)."""
    if value is None:
        return None
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


def run_report(db: str, query: ReportQuery, *, out: Console, err: Console) -> int:
    unsupported = sorted(query.given() - FILTERS[query.name])
    if unsupported:
        raise InvalidInput(f"{OPTION_NAMES[unsupported[0]]} does not apply to the {query.name} report", field="option")
    if query.model is not None:
        gpu_model(query.model, field="--model")
    start = parse_bound(query.start, "--from", upper=False)
    end = parse_bound(query.end, "--to", upper=True)
    if start and end and end <= start:
        raise InvalidInput("--to: must not be before --from", field="--to")
    checked(db)  # the one --db policy: no ledger, no report (and nothing created)
    with opened_ledger(db) as ledger:
        projections = open_projections(db)
        try:
            with progress_bar(err) as bar:
                task = bar.add_task("Bringing the projections up to date", total=None)
                projections.catch_up(progress=lambda done, total: bar.update(task, completed=done, total=total))
            _print(projections, ledger, query, start, end, out)
        finally:
            projections.close()
    return 0


def _known_names(projections: Any, ledger: Ledger) -> Names:
    rows: list[dict[str, Any]] = list(projections.utilisation(granularity="month"))
    rows += projections.capex().get("pools", [])
    rows += projections.billing_totals()
    return Names.for_rows(ledger, rows)


TABLE_HIDDEN = {"site_id", "tenant_id", "round_id", "invoice_id", "line_key", "granularity", "period_start"}


def for_people(rows: list[dict[str, Any]], fmt: Format) -> list[dict[str, Any]]:
    """Tables show names instead of ids (CSV and JSON keep every column)."""
    if fmt is not Format.table:
        return rows
    return [{k: v for k, v in row.items() if k not in TABLE_HIDDEN} for row in rows]


def _print(projections: Any, ledger: Ledger, query: ReportQuery, start: datetime | None, end: datetime | None,
           out: Console) -> None:
    known = _known_names(projections, ledger) if (query.site or query.tenant) else Names()
    site_id = resolve(query.site, known.sites, "site", "--site")
    tenant_id = resolve(query.tenant, known.tenants, "tenant", "--tenant")
    month_from, month_to = month_of(query.start, "--from"), month_of(query.end, "--to")
    fmt = query.fmt
    if query.name == "utilisation":
        rows = projections.utilisation(site_id=site_id, model=query.model, start=start, end=end,
                                       granularity=query.granularity)
        render(for_people(with_names(rows, Names.for_rows(ledger, rows)), fmt), fmt, console=out,
               title=f"Utilisation per site, GPU model and {query.granularity}")
    elif query.name == "billing":
        totals = projections.billing_totals(tenant_id=tenant_id, month_from=month_from, month_to=month_to)
        names = Names.for_rows(ledger, totals)
        if tenant_id is None:
            render(for_people(with_names(totals, names), fmt), fmt, console=out,
                   title="Billing per tenant and month")
        else:
            lines = projections.billing(tenant_id=tenant_id, month_from=month_from, month_to=month_to)
            render_sections({"totals": for_people(with_names(totals, names), fmt),
                             "lines": for_people(with_names(lines, names), fmt)}, fmt,
                            console=out, titles={"totals": "Billing per month", "lines": "Billing lines"})
    elif query.name == "sustainability":
        rows = projections.sustainability(tenant_id=tenant_id, site_id=site_id, month_from=month_from,
                                          month_to=month_to)
        render(for_people(with_names(rows, Names.for_rows(ledger, rows)), fmt), fmt, console=out,
               title="Sustainability per tenant, site and month (operational; location- and market-based)")
    else:
        capex = projections.capex()
        pools = [row for row in capex.get("pools", [])
                 if (site_id is None or row.get("site_id") == site_id)
                 and (query.model is None or row.get("model") == query.model)]
        names = Names.for_rows(ledger, pools)
        sections = {"rounds": for_people(capex.get("rounds", []), fmt),
                    "pools": for_people(with_names(pools, names), fmt)}
        if capex.get("revenue") is not None:
            revenue = [row for row in capex["revenue"]
                       if (site_id is None or row.get("site_id") == site_id)
                       and (query.model is None or row.get("model") == query.model)]
            sections["revenue"] = for_people(with_names(revenue, Names.for_rows(ledger, revenue)), fmt)
        render_sections(sections, fmt, console=out,
                        titles={"rounds": "Funding rounds", "pools": "Capex per site and GPU model",
                                "revenue": "Booked revenue per site, GPU model and currency"})


# ---- the `ledger report` command -----------------------------------------------------------

class ReportName(StrEnum):
    utilisation = "utilisation"
    billing = "billing"
    sustainability = "sustainability"
    capex = "capex"


class Granularity(StrEnum):
    hour = "hour"
    day = "day"
    month = "month"


def report(
    name: Annotated[ReportName, typer.Argument(help="utilisation, billing, sustainability or capex")],
    site: Annotated[str | None, typer.Option(help="Site id or name")] = None,
    model: Annotated[str | None, typer.Option(help="GPU model, e.g. GB300")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant id or name")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First month YYYY-MM (or day YYYY-MM-DD)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last month YYYY-MM (or day YYYY-MM-DD), inclusive")] = None,
    granularity: Annotated[Granularity, typer.Option(help="Utilisation: hour, day or month")] = Granularity.month,
    fmt: FormatOption = Format.table,
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Print a report from the projections (brought up to date first)."""
    query = ReportQuery(name=name.value, site=site, model=model, tenant=tenant, start=from_, end=to,
                        granularity=granularity.value, fmt=fmt)
    raise typer.Exit(run_report(db, query, out=stdout_console(), err=stderr_console()))


def register(app: typer.Typer) -> None:
    """Add `report` to the `ledger` app."""
    app.command("report")(report)
