"""`ledger order place|deliver|commission`: Nvidia supply orders, paid from a funding round,
delivered, and put into service in their site's pool (operators)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.commands.common import TimeOption, round_id, site_id, when, written
from cli.options import DEFAULT_DATABASE, DbOption, opened_ledger

NAME = "order"
HELP = "Supply orders: place, record deliveries, commission GPUs into service."
app = typer.Typer(no_args_is_help=True, help=HELP)

Order = Annotated[str, typer.Argument(help="Supply order id")]
Quantity = Annotated[int, typer.Option(min=1, help="GPUs")]


@app.command("place")
def place(funding_round: Annotated[str, typer.Option("--round", help="Funding round name, id or id prefix")],
          site: Annotated[str, typer.Option(help="Site name, id or id prefix")],
          model: Annotated[str, typer.Option(help="GPU model, e.g. H100-SXM")], quantity: Quantity,
          unit_price: Annotated[str, typer.Option(help="Price per GPU, e.g. 30000")],
          currency: Annotated[str, typer.Option(help="ISO 4217, the round's currency")],
          placed_at: TimeOption = None, supplier: Annotated[str, typer.Option(help="Supplier")] = "NVIDIA",
          db: DbOption = DEFAULT_DATABASE) -> None:
    """Place an order paid from a round's received funds (POST /v1/supply-orders)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.place_supply_order(funding_round_id=round_id(ledger, funding_round, "--round"),
                                            site_id=site_id(ledger, site, "--site"), model=model,
                                            quantity=quantity, unit_price=unit_price, currency=currency,
                                            placed_at=when(ledger, placed_at), supplier=supplier)
    written("order placed", receipt)


@app.command("deliver")
def deliver(order: Order, quantity: Quantity, at: TimeOption = None, db: DbOption = DEFAULT_DATABASE) -> None:
    """Record a delivery (POST /v1/supply-orders/{id}/deliveries)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.record_delivery(order, quantity=quantity, delivered_at=when(ledger, at))
    written("delivery recorded", receipt, quantity=quantity)


@app.command("commission")
def commission(order: Order, quantity: Quantity, at: TimeOption = None, db: DbOption = DEFAULT_DATABASE) -> None:
    """Put delivered GPUs into service in the order's site pool, from --at (a whole UTC hour)
    (POST /v1/supply-orders/{id}/commissioning)."""
    with opened_ledger(db) as ledger:
        moment = when(ledger, at) if at is not None else ledger.now().replace(minute=0, second=0, microsecond=0)
        receipt = ledger.commission(order, quantity=quantity, commissioned_at=moment)
    written("GPUs commissioned", receipt, quantity=quantity)
