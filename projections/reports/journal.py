"""The general journal: every line of every balanced entry, in log order (rules: projections.journal).

Each entry (``entry_id``, one source event) balances: its debits equal its credits in its
currency. ``month`` is the posting period (an invoice's month, or the next open month for an
entry arriving after its period closed); ``period`` the period the entry belongs to by its own
date (differs from ``month`` only for such a late entry); ``event_id`` is the source event (``<id>:<version>``),
the External ID a bookkeeping import groups an entry's lines by.
"""

from __future__ import annotations

from projections.reports.base import Column, Filter, Params, Report, Row, table_rows, where
from projections.reports.billing import FROM, TENANT, TO
from storage.database import Database

ACCOUNT = Filter("account", "Account code of the chart of accounts, e.g. 1100 (docs/finance.md)")


def query(db: Database, params: Params, limit: int) -> list[Row]:
    from projections.journal import LINES

    filters, values = where(params, tenant=True)
    if params.account is not None:
        filters += " AND account_code = ?"
        values.append(params.account)
    return table_rows(db, LINES, filters, values, "position, line", limit)


REPORT = Report(
    name="journal",
    title="General journal: balanced double entries",
    projections=("journal",),
    filters=(TENANT, FROM, TO, ACCOUNT),
    columns=(Column("date", "", "Date of the entry YYYY-MM-DD (an invoice: its month's last day at the latest)",
                    keep=True),
             Column("account_code", "", "Account code of the chart of accounts", label="Account", keep=True),
             Column("account", "", "Account name", label="Account name"),
             Column("debit", "currency", "Debit amount (0 on a credit line)", total="sum", keep=True),
             Column("credit", "currency", "Credit amount (0 on a debit line)", total="sum", keep=True),
             Column("currency", "ISO 4217", "Currency of the entry (the tenant's billing currency)"),
             Column("tenant_id", "", "Tenant"),
             Column("description", "", "What the line records", keep=True),
             Column("month", "", "Posting period YYYY-MM"),
             Column("period", "", "The period the entry belongs to by its own date YYYY-MM (== month unless "
                                  "posted late, after that period closed)"),
             Column("position", "count", "Log position of the source event", total=None),
             Column("line", "count", "Index of the line within its entry", total=None),
             Column("entry_id", "", "The entry (one per source event): its lines balance"),
             Column("event_id", "", "The source event, <aggregate id>:<version> (the import's External ID)"),
             Column("reference", "", "The invoice or credit grant the entry is about")),
    query=query,
    # Every edge lists tenants by name (the project's rule for reports with a tenant); an entry's
    # lines share its tenant, so entries stay whole and in log order within a tenant. The query
    # itself (``Projections.report``) answers in log order: position, line.
    order=("tenant", "position", "line"),
    period="position",
    chart=False,
    internal=True,
)
