"""`ledger contract sign|amend|terminate|list` and `ledger credits grant|purchase|show`.

Commercial terms from the command line (the same commands as ``/v1/contracts`` and
``/v1/tenants/{id}/credits``). Tenants are given by name, id or id prefix (``cli.names.resolve``);
contracts by id. A refusal is one line
``error: ...`` naming the field, exit 2, and records nothing (``cli.main.run``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from cli.commands.common import tenant_id
from cli.options import DEFAULT_DATABASE, DbOption, FormatOption, month_option, opened_ledger, stdout_console
from cli.readable import money
from cli.render import Format, render
from domain.aggregates import Contract, Wallet
from domain.timeutil import UTC

TenantOption = Annotated[str, typer.Option("--tenant", help="Tenant name, id or id prefix (8+ hex digits)")]
AmountOption = Annotated[str, typer.Option(help="Amount in the tenant's billing currency, e.g. 50000.00")]


def register(app: typer.Typer) -> None:
    """Add `contract` and `credits` to the `ledger` app."""
    contract_app = typer.Typer(no_args_is_help=True, help="Committed-spend contracts (true-up of any shortfall).")
    credits_app = typer.Typer(no_args_is_help=True, help="Prepaid credits: a wallet per tenant.")
    app.add_typer(contract_app, name="contract")
    app.add_typer(credits_app, name="credits")
    contract_app.command("sign")(sign_command)
    contract_app.command("amend")(amend_command)
    contract_app.command("terminate")(terminate_command)
    contract_app.command("list")(list_command)
    credits_app.command("grant")(grant_command)
    credits_app.command("purchase")(purchase_command)
    credits_app.command("show")(show_command)


def _written(what: str, ident: object, position: int | None) -> None:
    typer.echo(f"{what} {ident} (log position {position})")


# ---- contracts ------------------------------------------------------------------------------------


def sign_command(
    tenant: TenantOption,
    amount: AmountOption,
    term_start: Annotated[str, typer.Option("--from", callback=month_option, help="First month of the term, YYYY-MM")],
    term_end: Annotated[str, typer.Option("--to", callback=month_option,
                                          help="Last month of the term (included), YYYY-MM")],
    period: Annotated[str, typer.Option(help="month, quarter or year")] = "quarter",
    discount: Annotated[str, typer.Option(help="Discount on the plan's rates, 0 to 0.9")] = "0",
    service_start: Annotated[str | None, typer.Option(
        "--service-start", help="Date the commitment applies from, YYYY-MM-DD in the term (default: its first "
                                "day); a period partly before it is prorated by days")] = None,
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Sign a commitment of AMOUNT per period over the term (whole periods)."""
    with opened_ledger(db) as ledger:
        written = ledger.sign_contract(tenant_id=tenant_id(ledger, tenant, "--tenant"), period=period,
                                       term_start=term_start, term_end=term_end,
                                       amount=amount, discount=discount, service_start=service_start)
    _written("signed contract", written.id, written.position)


def amend_command(
    contract_id: Annotated[str, typer.Argument(help="Contract id")],
    amount: AmountOption,
    effective_month: Annotated[str, typer.Option("--from", callback=month_option,
                                                 help="A future period start, YYYY-MM")],
    discount: Annotated[str, typer.Option(help="Discount on the plan's rates, 0 to 0.9")] = "0",
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """Change the commitment (and discount) from a future period on."""
    with opened_ledger(db) as ledger:
        written = ledger.amend_contract(contract_id, effective_month=effective_month, amount=amount, discount=discount)
    _written("amended contract", written.id, written.position)


def terminate_command(
    contract_id: Annotated[str, typer.Argument(help="Contract id")],
    effective_month: Annotated[str, typer.Option("--from", callback=month_option,
                                                 help="A future period start, YYYY-MM: the term ends before it")],
    fee: Annotated[str, typer.Option(help="Early-termination fee, billed with the last period")] = "0",
    db: DbOption = DEFAULT_DATABASE,
) -> None:
    """End a contract early at a future period start."""
    with opened_ledger(db) as ledger:
        written = ledger.terminate_contract(contract_id, effective_month=effective_month, fee=fee)
    _written("terminated contract", written.id, written.position)


def contract_rows(contract: Contract) -> list[dict[str, Any]]:
    """One row per period of the term, with its commitment and, once settled, spend and true-up."""
    rows = []
    for period in contract.periods():
        settled = contract.settled.get(period.start)
        commitment = contract.commitment_of(period)
        rows.append({"contract_id": str(contract.id), "period_start": period.start, "period_end": period.end,
                     "currency": contract.currency, "commitment": settled.commitment if settled else commitment.amount,
                     "served_days": commitment.served_days, "period_days": period.days,
                     "discount": contract.terms_at(period.start)[1],
                     "eligible_spend": settled.eligible_spend if settled else None,
                     "true_up": settled.true_up if settled else None,
                     "termination_fee": settled.termination_fee if settled else None,
                     "status": "settled" if settled else contract.status})
    return rows


def list_command(tenant: TenantOption, fmt: FormatOption = Format.table, db: DbOption = DEFAULT_DATABASE) -> None:
    """The tenant's contracts, period by period."""
    with opened_ledger(db) as ledger:
        contracts = ledger.get_contracts_of(tenant_id(ledger, tenant, "--tenant"))
        rows = [row for contract in contracts for row in contract_rows(contract)]
    amounts = ("commitment", "eligible_spend", "true_up", "termination_fee")
    render(rows, fmt, console=stdout_console(), title="Contracts", empty="no contracts",
           formats=dict.fromkeys(amounts, money))  # at the currency's minor unit: 5,501,000.00


# ---- credits --------------------------------------------------------------------------------------


def _add(paid: bool, tenant: str, amount: str, priority: int, expires_at: datetime | None, note: str,
         db: str) -> None:
    with opened_ledger(db) as ledger:
        add = ledger.purchase_credits if paid else ledger.grant_credits
        tenant = str(tenant_id(ledger, tenant, "--tenant"))
        written = add(tenant, amount=amount, priority=priority,
                      expires_at=expires_at.replace(tzinfo=expires_at.tzinfo or UTC) if expires_at else None,
                      note=note)
        balance = ledger.get_wallet(tenant).balance
    _written("purchased credits into wallet" if paid else "granted credits into wallet", written.id, written.position)
    typer.echo(f"balance {money(balance)}")


PriorityOption = Annotated[int, typer.Option(min=0, max=100, help="Lower is applied first")]
ExpiresOption = Annotated[datetime | None, typer.Option("--expires-at", help="When unused credits expire (UTC)")]
NoteOption = Annotated[str, typer.Option(help="What the credits are for")]


def grant_command(tenant: TenantOption, amount: AmountOption, priority: PriorityOption = 50,
                  expires_at: ExpiresOption = None, note: NoteOption = "credits granted",
                  db: DbOption = DEFAULT_DATABASE) -> None:
    """Give free credits (a discount when consumed, never revenue)."""
    _add(False, tenant, amount, priority, expires_at, note, db)


def purchase_command(tenant: TenantOption, amount: AmountOption, priority: PriorityOption = 50,
                     expires_at: ExpiresOption = None, note: NoteOption = "credits purchased",
                     db: DbOption = DEFAULT_DATABASE) -> None:
    """Sell credits (deferred revenue until consumed or expired)."""
    _add(True, tenant, amount, priority, expires_at, note, db)


def wallet_rows(wallet: Wallet) -> list[dict[str, Any]]:
    return [{"grant_id": g["grant_id"], "kind": "purchased" if g["paid"] else "granted", "priority": g["priority"],
             "expires_at": g["expires_at"], "currency": wallet.currency, "amount": g["amount"],
             "remaining": g["remaining"], "expired": g["expired"]} for g in wallet.grant_rows()]


def show_command(tenant: TenantOption, fmt: FormatOption = Format.table, db: DbOption = DEFAULT_DATABASE) -> None:
    """The tenant's wallet: its grants in application order (the trace: `ledger report credits`)."""
    with opened_ledger(db) as ledger:
        wallet = ledger.get_wallet(tenant_id(ledger, tenant, "--tenant"))
    render(wallet_rows(wallet), fmt, console=stdout_console(),
           title=f"Credits wallet: balance {wallet.balance} {wallet.currency} "
                 f"(paid, deferred revenue: {wallet.paid_balance})")
