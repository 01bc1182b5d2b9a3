"""A tenant's statement of account: the opening balance, every invoice, credit note, payment and
void in the range, each with the balance after it, and the closing balance (rules:
``projections.receivables``). The balance is what the tenant owes (an overpayment's excess is
its credit balance in the prepaid wallet: see the ``credits`` report)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from projections.reports.base import Column, Params, Report, Row
from projections.reports.billing import FROM, TENANT, TO
from storage.database import Database


def query(db: Database, params: Params, limit: int) -> list[Row]:
    from projections.receivables import ENTRIES

    filters, values = "1=1", []
    if params.tenant_id is not None:
        filters, values = "tenant_id = ?", [params.tenant_id]
    first = None if params.month_from is None else f"{params.month_from}-01"
    last = None if params.month_to is None else f"{params.month_to}-99"
    balances: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    opened: set[tuple[str, str]] = set()
    out: list[Row] = []
    for entry in map(ENTRIES.from_db, db.fetchall(f"SELECT {', '.join(ENTRIES.column_names)} FROM {ENTRIES.name} "
                                                  f"WHERE {filters} ORDER BY tenant_id, position", values)):
        key = (entry.tenant_id, entry.currency)
        if first is not None and entry.date < first:
            balances[key] += entry.amount
            continue
        if last is not None and entry.date > last:
            continue
        if key not in opened:
            opened.add(key)
            out.append({"tenant_id": entry.tenant_id, "currency": entry.currency, "date": first or entry.date,
                        "kind": "opening", "number": None, "reference": None, "description": "Opening balance",
                        "amount": None, "balance": balances[key], "position": None, "invoice_id": None})
        balances[key] += entry.amount
        out.append({"tenant_id": entry.tenant_id, "currency": entry.currency, "date": entry.date,
                    "kind": entry.kind, "number": entry.number, "reference": entry.reference,
                    "description": entry.note, "amount": entry.amount, "balance": balances[key],
                    "position": entry.position, "invoice_id": entry.invoice_id})
        if len(out) >= limit:
            break
    return out


REPORT = Report(
    name="statement",
    title="Statement of account: what each tenant owes, entry by entry",
    projections=("receivables",),
    filters=(TENANT, FROM, TO),
    columns=(Column("tenant_id", "", "Tenant"),
             Column("date", "", "Date YYYY-MM-DD (a payment: the day it was received)"),
             Column("kind", "", "opening, invoice, credit note, payment or void"),
             Column("number", "", "The invoice (or credit note) number", keep=True),
             Column("description", "", "What the entry is", keep=True),
             Column("currency", "ISO 4217", "The tenant's billing currency"),
             Column("amount", "currency", "Change of what is owed (negative: credit note, payment, void)"),
             Column("balance", "currency", "What the tenant owes after the entry (the closing balance: the last)",
                    total="last"),
             Column("reference", "", "A payment's bank reference"),
             Column("position", "count", "Log position of the entry", total=None),
             Column("invoice_id", "", "The invoice")),
    query=query,
    order=("tenant", "currency"),
    balance_of=("tenant_id", "currency"),
    period="position",
    chart=False,
    notes="The opening balance is what was owed before the range; the total is each tenant's closing balance.",
)
