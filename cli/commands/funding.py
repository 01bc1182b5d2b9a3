"""`ledger funding open|commit|tranche|list`: investor funding rounds, their commitments and the
tranches received (operators)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.commands.common import TimeOption, round_id, rounds, when, written
from cli.options import DEFAULT_DATABASE, DbOption, FormatOption, opened_ledger, stdout_console
from cli.render import Format, render

NAME = "funding"
HELP = "Funding rounds: open, record commitments and tranches, list."
app = typer.Typer(no_args_is_help=True, help=HELP)

Round = Annotated[str, typer.Argument(help="Funding round name, id or id prefix")]
Investor = Annotated[str, typer.Option(help="The investor's name")]
Amount = Annotated[str, typer.Option(help="Amount, e.g. 250000000")]
Currency = Annotated[str, typer.Option(help="ISO 4217, the round's currency")]


@app.command("open")
def open_(name: Annotated[str, typer.Argument(help="The round's name, e.g. 'Series B'")], currency: Currency,
          opened_at: TimeOption = None, db: DbOption = DEFAULT_DATABASE) -> None:
    """Open a funding round (POST /v1/funding-rounds)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.open_funding_round(name=name, currency=currency, opened_at=when(ledger, opened_at))
    written("funding round opened", receipt)


@app.command("commit")
def commit(funding_round: Round, investor: Investor, amount: Amount, currency: Currency,
           equity_percent: Annotated[str, typer.Option(help="Equity bought, percent")] = "0",
           db: DbOption = DEFAULT_DATABASE) -> None:
    """Record an investor's commitment (POST /v1/funding-rounds/{id}/commitments)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.record_commitment(round_id(ledger, funding_round), investor=investor, amount=amount,
                                           currency=currency, equity_percent=equity_percent)
    written("commitment recorded", receipt)


@app.command("tranche")
def tranche(funding_round: Round, investor: Investor, amount: Amount, currency: Currency,
            received_at: TimeOption = None, db: DbOption = DEFAULT_DATABASE) -> None:
    """Record a tranche received from an investor, within its commitment
    (POST /v1/funding-rounds/{id}/tranches)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.record_tranche(round_id(ledger, funding_round), investor=investor, amount=amount,
                                        currency=currency, received_at=when(ledger, received_at))
    written("tranche recorded", receipt)


COLUMNS = ["id", "name", "currency", "opened_at", "committed", "received", "capex_committed", "available"]


@app.command("list")
def list_(fmt: FormatOption = Format.table, db: DbOption = DEFAULT_DATABASE) -> None:
    """Every funding round with what was committed, received and committed to capex."""
    with opened_ledger(db) as ledger:
        rows = [{"id": str(r.id), "name": r.name, "currency": r.currency, "opened_at": r.opened_at,
                 "committed": r.total_committed, "received": r.total_received,
                 "capex_committed": r.total_capex_committed, "available": r.available} for r in rounds(ledger)]
    render(rows, fmt, console=stdout_console(), title="Funding rounds", columns=COLUMNS,
           empty="no funding rounds recorded")
