"""`ledger pool decommission`: take GPUs of a site's pool out of service (operators)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.commands.common import TimeOption, site_id, when, written
from cli.options import DEFAULT_DATABASE, DbOption, opened_ledger

NAME = "pool"
HELP = "GPU pools (site x model): decommission GPUs."
app = typer.Typer(no_args_is_help=True, help=HELP)


@app.command("decommission")
def decommission(site: Annotated[str, typer.Option(help="Site name, id or id prefix")],
                 model: Annotated[str, typer.Option(help="GPU model, e.g. H100-SXM")],
                 quantity: Annotated[int, typer.Option(min=1, help="GPUs to take out of service")],
                 reason: Annotated[str, typer.Option(help="Why (failure, retirement, ...)")],
                 at: TimeOption = None, db: DbOption = DEFAULT_DATABASE) -> None:
    """Take GPUs out of service from --at on (a whole UTC hour); refused if that would overbook
    (POST /v1/sites/{id}/pools/{model}/decommissioning)."""
    with opened_ledger(db) as ledger:
        moment = when(ledger, at) if at is not None else ledger.now().replace(minute=0, second=0, microsecond=0)
        receipt = ledger.decommission(site_id=site_id(ledger, site, "--site"), model=model, quantity=quantity,
                                      at=moment, reason=reason)
    written("GPUs decommissioned", receipt, quantity=quantity)
