"""`ledger close --month M` (finance's month-end close) and `ledger journal export --month M`
(the month's journal as the file a bookkeeping system imports).

``close`` calls ``operations.closing.close_month`` -- what ``POST /v1/closes`` calls -- with the
projections brought up to date here. ``journal export`` writes ``operations.journal_export``'s
file from the ``journal`` report, the same rows ``ledger report journal`` prints.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bootstrap import open_projections
from cli.options import DEFAULT_DATABASE, DbOption, checked, month_option, opened_ledger, stderr_console
from cli.readable import money
from domain.errors import LedgerError
from domain.timeutil import check_month
from operations.closing import close_month, describe
from operations.invoicing import ProjectionsBilling
from operations.journal_export import journal_csv

MonthOption = Annotated[str, typer.Option("--month", callback=month_option, help="The month, YYYY-MM")]

journal = typer.Typer(no_args_is_help=True, help="The general journal: export a month for the books.")


class ExportFormat(StrEnum):
    csv = "csv"


def close_command(month: MonthOption, db: DbOption = DEFAULT_DATABASE) -> None:
    """Close an ended month for the books (POST /v1/closes); a closed month stays closed.

    Refused, recording nothing, until the projections have caught up, every tenant with billing
    lines has its invoice and the trial balance balances. Closing a closed month records nothing
    and says so (exit 0)."""
    checked(db)
    with opened_ledger(db) as ledger:
        projections = open_projections(db)
        try:
            receipt = close_month(ledger, ProjectionsBilling(projections), month)
        finally:
            projections.close()
    shown = describe(receipt)
    if receipt.already_closed:
        typer.echo(f"{receipt.month} is already closed (on {shown['closed_at']:%Y-%m-%d %H:%M} UTC, the journal at "
                   f"log position {shown['journal_position']}); nothing recorded")
        return
    typer.echo(f"month closed: month={receipt.month} position={receipt.position} invoices={shown['invoices']} "
               f"journal_position={shown['journal_position']}")
    for balance in shown["balances"]:
        typer.echo(f"  trial balance {balance['currency']}: debits {money(balance['debit'])} = "
                   f"credits {money(balance['credit'])}")


@journal.command("export")
def export_command(month: MonthOption,
                   format_: Annotated[ExportFormat, typer.Option("--format", help="csv: NetSuite's Journal Entry "
                                                                                  "import layout")] = ExportFormat.csv,
                   out: Annotated[Path | None, typer.Option(help="Write to this file (default: stdout)")] = None,
                   db: DbOption = DEFAULT_DATABASE) -> None:
    """Write a month's journal lines as an import file for the books (ERP export).

    Lines in log order (docs/finance.md, ERP export). A closed month exports the same bytes every
    time; an open one can still change (a note on stderr says so)."""
    text = check_month(month)
    checked(db)
    with opened_ledger(db) as ledger:
        projections = open_projections(db)
        try:
            projections.catch_up(["journal"])
            rows = projections.report("journal", {"from": text, "to": text})
        finally:
            projections.close()
        names: dict[str, str] = {}

        def tenant_name(tenant_id: str) -> str:
            if tenant_id not in names:
                names[tenant_id] = ledger.get_tenant(tenant_id).name
            return names[tenant_id]
        numbers: dict[str, str] = {}

        def reference(ref: str) -> str:
            if ref not in numbers:
                try:
                    numbers[ref] = ledger.get_invoice(ref).number or ref
                except LedgerError:  # a credit grant's id
                    numbers[ref] = ref
            return numbers[ref]
        data = journal_csv(rows, tenant_name, reference)
        closed = ledger.get_month_close(text) is not None
    if out is None:
        buffer = getattr(sys.stdout, "buffer", None)  # the bytes as they are (a StringIO in tests has none)
        if buffer is not None:
            buffer.write(data)
        else:
            sys.stdout.write(data.decode("utf-8"))
        sys.stdout.flush()
    else:
        out.write_bytes(data)
        typer.echo(f"journal exported: month={text} lines={len(rows)} file={out}")
    if not closed:
        stderr_console().print(f"note: {text} is not closed; its journal can still change "
                               f"(`ledger close --month {text}` closes it)", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("close")(close_command)
    app.add_typer(journal, name="journal", help="The general journal: export a month for the books.")
