"""Trial balance: debits, credits and the signed balance per account and currency, through a month.

Sums every journal line whose posting period is at or before ``to`` (default: every line). The
totals per currency show debits == credits, and the balances (debit - credit, signed) sum to 0.
The balances of the accounts of type ``revenue`` (contra-revenue included), credit - debit, net to
the revenue report's ``recognised`` per tenant and currency.

No ``currency`` filter: that filter kind is the *reporting* currency of consolidated reports, and
every edge fills it with ``LEDGER_REPORTING_CURRENCY`` when not given
(``projections.queries.read_report``), which here would silently drop every other currency.
"""

from __future__ import annotations

from projections.reports.base import Column, Params, Report, Row, exact_sums, where
from projections.reports.billing import TENANT, TO
from storage.database import Database


def query(db: Database, params: Params, limit: int) -> list[Row]:
    from projections.journal import ACCOUNTS, LINES

    filters, values = where(Params(tenant_id=params.tenant_id, end=params.end), tenant=True)
    sums = exact_sums(db, group=["account_code", "currency"], sums=["debit", "credit"], source=LINES.name,
                      where_sql=filters, params=values, limit=limit)
    out: list[Row] = []
    for code, currency, debit, credit in sums:
        account = ACCOUNTS[code]
        out.append({"account_code": code, "account": account.name, "account_type": account.type,
                    "currency": currency, "debit": debit, "credit": credit, "balance": debit - credit})
    return out


REPORT = Report(
    name="trial_balance",
    title="Trial balance per account and currency",
    projections=("journal",),
    filters=(TENANT, TO),
    columns=(Column("account_code", "", "Account code of the chart of accounts"),
             Column("account", "", "Account name"),
             Column("account_type", "", "asset, liability, revenue, expense or equity (contra-revenue "
                                        "4900 and 4910 are revenue with a debit balance)"),
             Column("currency", "ISO 4217", "Currency of the lines summed"),
             Column("debit", "currency", "Sum of the account's debits through the month", total="sum"),
             Column("credit", "currency", "Sum of the account's credits through the month", total="sum"),
             Column("balance", "currency", "debit - credit (signed: negative is a credit balance); the "
                                           "total per currency is 0 when the books balance", total="sum")),
    query=query,
    chart=False,
    internal=True,
    order=("currency", "account_code"),
    notes="Through the end of the month given by to (default: every posting). Debits equal credits per currency.",
)
