"""`ledger dunning run|show|policy` (finance): reminders and suspensions for overdue invoices.

``run`` calls ``operations.dunning.run_dunning`` -- what ``POST /v1/dunning/runs`` calls -- and
prints what it recorded; ``show`` writes one step's reminder (the document ``GET
/v1/tenants/{id}/dunning?step=N`` returns for ``Accept: text/html|application/pdf``); ``policy``
sets a tenant's policy (``POST /v1/tenants/{id}/dunning-policy``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.commands.common import tenant_id, written
from cli.documents import DocumentFormat
from cli.options import DEFAULT_DATABASE, DbOption, checked, opened_ledger
from documents.dunning import reminder_document, render_reminder_html, render_reminder_pdf
from documents.model import Seller
from domain.aggregates.dunning import step_title
from domain.errors import InvalidInput
from operations.dunning import run_dunning

NAME = "dunning"
HELP = "Dunning of overdue invoices: run, show a reminder, set a tenant's policy."
app = typer.Typer(no_args_is_help=True, help=HELP)

Tenant = Annotated[str, typer.Option("--tenant", help="The tenant's name, id or id prefix")]


@app.command("run")
def run(on: Annotated[str | None, typer.Option(help="The day, YYYY-MM-DD (default today, UTC; not after "
                                                      "today)")] = None,
        db: DbOption = DEFAULT_DATABASE) -> None:
    """Run dunning on a day (POST /v1/dunning/runs): each step of a tenant's policy its overdue
    invoices reach is recorded once per overdue episode (reminders, then a suspension); a tenant
    dunning suspended with nothing overdue any more is reinstated. A rerun records only what is new."""
    checked(db)
    with opened_ledger(db) as ledger:
        result = run_dunning(ledger, on=on)
        for receipt in result.recorded:
            case = ledger.get_dunning_case(receipt.tenant_id)
            name = ledger.get_tenant(receipt.tenant_id).name
            if case is None:
                continue
            for entry in case.history[-len(receipt.outcome.kinds):]:
                if entry["kind"] == "resolved":
                    what = "resolved" + (", reinstated" if entry.get("reinstated") else "")
                else:
                    what = step_title(entry["step"], len(case.reminder_days)) if entry["kind"] == "reminder" \
                        else "suspension" + ("" if entry.get("suspended") else " (already suspended)")
                numbers = ", ".join(str(i["number"]) for i in entry["invoices"])
                typer.echo(f"  {name}: step {entry['step'] or '-'} {what}, {entry['days_overdue']} days overdue"
                           + (f" ({numbers})" if numbers else ""))
    typer.echo(result.summary() + (f" position={result.position}" if result.position is not None else ""))


@app.command("show")
def show(tenant: Tenant, step: Annotated[int, typer.Option(help="The step: 1..n reminders, n+1 the suspension")],
         format_: Annotated[DocumentFormat, typer.Option("--format", help="html or pdf")] = DocumentFormat.html,
         out: Annotated[Path | None, typer.Option(help="Write to this file (default: stdout)")] = None,
         db: DbOption = DEFAULT_DATABASE) -> None:
    """Write a dunning step's reminder as HTML or PDF (GET /v1/tenants/{id}/dunning?step=N)."""
    to_stdout = out is None or str(out) == "-"
    if not to_stdout and out is not None and not out.parent.is_dir():
        raise InvalidInput(f"out: the directory {str(out.parent)!r} does not exist", field="out")
    from config.settings import Settings

    settings = Settings()
    checked(db)
    with opened_ledger(db) as ledger:
        doc = reminder_document(ledger, tenant_id(ledger, tenant, "--tenant"), step,
                                seller=Seller(settings.seller_name, settings.seller_address))
    data = render_reminder_pdf(doc) if format_ is DocumentFormat.pdf else render_reminder_html(doc).encode("utf-8")
    if to_stdout:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    assert out is not None
    try:
        out.write_bytes(data)
    except OSError as error:
        raise InvalidInput(f"out: cannot write {str(out)!r}: {error.strerror or error}", field="out") from None
    typer.echo(f"{doc.title} written: tenant={doc.tenant_name!r} day={doc.day} file={out} bytes={len(data)}")


@app.command("policy")
def policy(tenant: Tenant,
           reminder_days: Annotated[str, typer.Option(help="Days overdue of the reminders, ascending, "
                                                           "comma-separated")] = "1,7,14",
           suspend_after: Annotated[str, typer.Option(help="Days overdue of the suspension, or 'never'")] = "30",
           db: DbOption = DEFAULT_DATABASE) -> None:
    """Set a tenant's dunning policy (POST /v1/tenants/{id}/dunning-policy)."""
    try:
        days = [int(part) for part in reminder_days.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput(f"reminder_days: expected whole days, comma-separated, got {reminder_days!r}",
                           field="reminder_days") from None
    if suspend_after.strip().lower() == "never":
        suspend: int | None = None
    else:
        try:
            suspend = int(suspend_after)
        except ValueError:
            raise InvalidInput(f"suspend_after_days: expected whole days or 'never', got {suspend_after!r}",
                               field="suspend_after_days") from None
    with opened_ledger(db) as ledger:
        receipt = ledger.set_dunning_policy(tenant_id(ledger, tenant, "--tenant"), reminder_days=days,
                                            suspend_after_days=suspend)
    written("dunning policy set", receipt, reminder_days=",".join(map(str, days)),
            suspend_after_days=suspend if suspend is not None else "never")
