"""`ledger tenant add|plan|terms|tax|suspend|reinstate|list`: tenants and their price plans (operators and
finance)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.commands.common import rates_of, tenant_id, tenants, written
from cli.options import DEFAULT_DATABASE, DbOption, FormatOption, opened_ledger, stdout_console
from cli.render import Format, render

NAME = "tenant"
HELP = "Tenants: register, change plan, payment terms, tax, suspend, reinstate, list."
app = typer.Typer(no_args_is_help=True, help=HELP)

Tenant = Annotated[str, typer.Argument(help="Tenant name, id or id prefix")]
Rates = Annotated[list[str], typer.Option("--rate", help="MODEL=RATE per GPU-hour, repeated (e.g. H100-SXM=2.50)")]
FeeShare = Annotated[str, typer.Option("--cancellation-fee-share",
                                       help="Share of the released hours' value charged on cancellation, 0 to 1")]


@app.command("add")
def add(name: Annotated[str, typer.Argument(help="The tenant's name")],
        currency: Annotated[str, typer.Option(help="Billing currency, ISO 4217 (e.g. USD)")],
        rate: Rates, cancellation_fee_share: FeeShare = "0.25", db: DbOption = DEFAULT_DATABASE) -> None:
    """Register a tenant with its price plan (POST /v1/tenants)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.register_tenant(name=name, billing_currency=currency, rates=rates_of(rate),
                                         cancellation_fee_share=cancellation_fee_share)
    written("tenant registered", receipt)


@app.command("plan")
def plan(tenant: Tenant, rate: Rates, cancellation_fee_share: FeeShare = "0.25",
         db: DbOption = DEFAULT_DATABASE) -> None:
    """A new price plan for reservations confirmed from now on (POST /v1/tenants/{id}/plan)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.change_plan(tenant_id(ledger, tenant), rates=rates_of(rate),
                                     cancellation_fee_share=cancellation_fee_share)
    written("plan changed", receipt)


@app.command("terms")
def terms(tenant: Annotated[str, typer.Option(help="Tenant name, id or id prefix")],
          net_days: Annotated[int, typer.Option(help="Days from an invoice's issue date to its due date (0 to 365)")],
          db: DbOption = DEFAULT_DATABASE) -> None:
    """Payment terms for invoices issued from now on (POST /v1/tenants/{id}/payment-terms)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.set_payment_terms(tenant_id(ledger, tenant, "--tenant"), net_days=net_days)
    written("payment terms set", receipt, net_days=net_days)


@app.command("tax")
def tax(tenant: Annotated[str, typer.Option(help="Tenant name, id or id prefix")],
        treatment: Annotated[str, typer.Option(help="standard, reverse_charge or exempt")],
        rate: Annotated[str | None, typer.Option(help="Standard rate, 0.20 for 20 % (else 0)")] = None,
        tax_name: Annotated[str, typer.Option(help="The tax's name on invoices (VAT, MVA)")] = "VAT",
        vat_number: Annotated[str | None, typer.Option(help="The tenant's VAT number")] = None,
        db: DbOption = DEFAULT_DATABASE) -> None:
    """Tax treatment of invoices issued from now on (POST /v1/tenants/{id}/tax-treatment)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.set_tax_treatment(tenant_id(ledger, tenant, "--tenant"), treatment=treatment, rate=rate,
                                           tax_name=tax_name, vat_number=vat_number)
    written("tax treatment set", receipt, treatment=treatment, rate=rate or "0", tax_name=tax_name)


@app.command("suspend")
def suspend(tenant: Tenant, reason: Annotated[str, typer.Option(help="Why")],
            db: DbOption = DEFAULT_DATABASE) -> None:
    """Suspend a tenant: it cannot reserve (POST /v1/tenants/{id}/suspension)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.suspend_tenant(tenant_id(ledger, tenant), reason=reason)
    written("tenant suspended", receipt)


@app.command("reinstate")
def reinstate(tenant: Tenant, db: DbOption = DEFAULT_DATABASE) -> None:
    """Lift a suspension (POST /v1/tenants/{id}/reinstatement)."""
    with opened_ledger(db) as ledger:
        receipt = ledger.reinstate_tenant(tenant_id(ledger, tenant))
    written("tenant reinstated", receipt)


COLUMNS = ["id", "name", "billing_currency", "rates", "cancellation_fee_share", "payment_terms_days", "suspended"]


@app.command("list")
def list_(fmt: FormatOption = Format.table, db: DbOption = DEFAULT_DATABASE) -> None:
    """Every tenant with its current plan."""
    with opened_ledger(db) as ledger:
        rows = [{"id": str(t.id), "name": t.name, "billing_currency": t.billing_currency,
                 "rates": ", ".join(f"{m}={r}" for m, r in sorted(t.rates.items())) if fmt is Format.table
                 else dict(sorted(t.rates.items())),
                 "cancellation_fee_share": t.cancellation_fee_share, "payment_terms_days": t.payment_terms_days,
                 "suspended": t.suspended}
                for t in tenants(ledger)]
    render(rows, fmt, console=stdout_console(), title="Tenants", columns=COLUMNS, empty="no tenants recorded")
