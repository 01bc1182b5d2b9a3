"""`ledger reservation book|extend|cancel`: reservations recorded by an operator (tenants book
over the API with their own token). ``--backfill`` records a reservation whose start has passed."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.commands.common import reservation_id, site_id, tenant_id, written
from cli.options import DEFAULT_DATABASE, DbOption, opened_ledger

NAME = "reservation"
HELP = "Reservations: book (or backfill), extend, cancel."
app = typer.Typer(no_args_is_help=True, help=HELP)

Reservation = Annotated[str, typer.Argument(help="Reservation id or id prefix (8+ hex digits)")]


@app.command("book")
def book(tenant: Annotated[str, typer.Option(help="Tenant name, id or id prefix")],
         site: Annotated[str, typer.Option(help="Site name, id or id prefix")],
         model: Annotated[str, typer.Option(help="GPU model, e.g. H100-SXM")],
         gpus: Annotated[int, typer.Option(min=1, help="GPUs")],
         start: Annotated[str, typer.Option(help="Whole UTC hour, e.g. 2026-12-01T00:00Z")],
         end: Annotated[str, typer.Option(help="Whole UTC hour after --start")],
         rate: Annotated[str | None, typer.Option(help="Negotiated rate per GPU-hour (default: the plan's)")] = None,
         backfill: Annotated[bool, typer.Option("--backfill", help="Record a reservation whose start has passed")]
         = False,
         db: DbOption = DEFAULT_DATABASE) -> None:
    """Book GPUs for a tenant (POST /v1/reservations as an operator)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.confirm_reservation(tenant_id=tenant_id(ledger, tenant, "--tenant"),
                                             site_id=site_id(ledger, site, "--site"), model=model, gpus=gpus,
                                             start=start, end=end, rate_per_gpu_hour=rate, backfill=backfill)
    written("reservation confirmed", receipt, backfill=str(backfill).lower())


@app.command("extend")
def extend(reservation: Reservation, end: Annotated[str, typer.Option(help="The new end, a whole UTC hour")],
           db: DbOption = DEFAULT_DATABASE) -> None:
    """Move a reservation's end later (POST /v1/reservations/{id}/extension)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.extend_reservation(reservation_id(ledger, reservation), end=end)
    written("reservation extended", receipt)


@app.command("cancel")
def cancel(reservation: Reservation, db: DbOption = DEFAULT_DATABASE) -> None:
    """Cancel: hours from the next whole hour are released, the locked fee share charged
    (POST /v1/reservations/{id}/cancellation)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.cancel_reservation(reservation_id(ledger, reservation))
    written("reservation cancelled", receipt)
