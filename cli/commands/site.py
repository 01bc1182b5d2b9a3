"""`ledger site add|revise|list`: sites and their effective-dated emission factors (operators)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.commands.common import TimeOption, site_id, sites, when, written
from cli.options import DEFAULT_DATABASE, DbOption, FormatOption, opened_ledger, stdout_console
from cli.render import Format, render

NAME = "site"
HELP = "Sites: register, revise emission factors, list."
app = typer.Typer(no_args_is_help=True, help=HELP)

Grid = Annotated[str, typer.Option("--grid", help="Grid intensity, gCO2e/kWh (e.g. 225)")]
Pue = Annotated[str, typer.Option("--pue", help="Power usage effectiveness (e.g. 1.18)")]
Share = Annotated[str, typer.Option("--carbon-free-share", help="Contracted carbon-free share, 0 to 1")]
Source = Annotated[str, typer.Option("--factor-source", help="Where the factors come from")]


@app.command("add")
def add(name: Annotated[str, typer.Argument(help="The site's name")],
        country: Annotated[str, typer.Option(help="ISO 3166 alpha-2 country code, e.g. GB")],
        grid: Grid, pue: Pue, carbon_free_share: Share, effective_from: TimeOption = None,
        factor_source: Source = "operator", db: DbOption = DEFAULT_DATABASE) -> None:
    """Register a site (POST /v1/sites)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.register_site(name=name, country=country, grid_intensity_g_per_kwh=grid, pue=pue,
                                       carbon_free_share=carbon_free_share,
                                       effective_from=when(ledger, effective_from), factor_source=factor_source)
    written("site registered", receipt)


@app.command("revise")
def revise(site: Annotated[str, typer.Argument(help="Site name, id or id prefix")], grid: Grid, pue: Pue,
           carbon_free_share: Share, effective_from: TimeOption = None, factor_source: Source = "operator",
           db: DbOption = DEFAULT_DATABASE) -> None:
    """New emission factors from --effective-from on (POST /v1/sites/{id}/revisions)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.revise_site(site_id(ledger, site), effective_from=when(ledger, effective_from),
                                     grid_intensity_g_per_kwh=grid, pue=pue, carbon_free_share=carbon_free_share,
                                     factor_source=factor_source)
    written("site revised", receipt)


COLUMNS = ["id", "name", "country", "grid_intensity_g_per_kwh", "pue", "carbon_free_share", "effective_from",
           "factor_source", "revisions"]


@app.command("list")
def list_(fmt: FormatOption = Format.table, db: DbOption = DEFAULT_DATABASE) -> None:
    """Every site with the factors of its latest revision."""
    with opened_ledger(db) as ledger:
        rows = []
        for found in sites(ledger):
            effective_from, grid, pue, share, source = found.revisions[-1]
            rows.append({"id": str(found.id), "name": found.name, "country": found.country,
                         "grid_intensity_g_per_kwh": grid, "pue": pue, "carbon_free_share": share,
                         "effective_from": effective_from, "factor_source": source,
                         "revisions": len(found.revisions)})
    render(rows, fmt, console=stdout_console(), title="Sites", columns=COLUMNS, empty="no sites recorded")
