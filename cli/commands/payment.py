"""`ledger payment record` (finance): a payment received against an invoice."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.commands.common import invoice_ref, written
from cli.options import DEFAULT_DATABASE, DbOption, opened_ledger

NAME = "payment"
HELP = "Payments received against invoices: record."
app = typer.Typer(no_args_is_help=True, help=HELP)


@app.command("record")
def record(invoice: Annotated[str, typer.Option(help="The invoice's number (GL-2026-000123), id or id prefix")],
           amount: Annotated[str, typer.Option(help="Received, in the invoice's currency (e.g. 1000.00)")],
           currency: Annotated[str, typer.Option(help="ISO 4217: the invoice's currency")],
           received_on: Annotated[str, typer.Option(help="The day the money arrived, YYYY-MM-DD")],
           reference: Annotated[str, typer.Option(help="The bank reference")],
           payment_id: Annotated[str | None, typer.Option(help="A UUID: recording it again records nothing "
                                                               "(default: a new one)")] = None,
           db: DbOption = DEFAULT_DATABASE) -> None:
    """Record a payment (POST /v1/payments): partial payments are allowed; beyond what is
    outstanding, the excess pays the invoice and is credited to the tenant's wallet."""
    with opened_ledger(db) as ledger:
        receipt = ledger.record_payment(invoice_ref(ledger, invoice, "--invoice"), amount=amount,
                                        currency=currency, received_on=received_on,
                                        reference=reference, payment_id=payment_id)
        paid = ledger.get_invoice(receipt.id)
    excess = paid.payments[-1].excess if paid.payments else None
    extra: dict[str, object] = {"number": paid.label, "status": paid.status, "paid": paid.paid,
                                "outstanding": paid.outstanding, "currency": paid.currency}
    if excess:
        extra["credited_to_wallet"] = excess
    written("payment recorded", receipt, **extra)
