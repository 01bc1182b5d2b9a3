"""Month closes and what was posted after them: one row per closed month and currency.

``debit``/``credit`` are the trial balance through the month as the close checked it (equal).
``late_entries``/``late_debit`` count the journal entries that belong to the month by their own
date but arrived after it closed, and so posted in a later open month (rules:
``projections.journal``): a void, a credit note or credits expiring after the close. A closed
month's own journal never changes; these say what the next months carry for it.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from projections.reports.base import Column, Params, Report, Row
from projections.reports.billing import FROM, TO
from storage.database import Database


def query(db: Database, params: Params, limit: int) -> list[Row]:
    from projections.closes import BALANCES, CLOSES, CloseBalanceRow
    from projections.journal import LINES

    tests = [("month >= ?", params.month_from), ("month <= ?", params.month_to)]
    where_sql = " AND ".join(["1=1", *(clause for clause, value in tests if value is not None)])
    values = [value for _, value in tests if value is not None]
    closes = list(map(CLOSES.from_db, db.fetchall(f"SELECT {', '.join(CLOSES.column_names)} FROM {CLOSES.name} "
                                                  f"WHERE {where_sql} ORDER BY month", values)))
    balances: dict[str, list[CloseBalanceRow]] = defaultdict(list)
    for entry in map(BALANCES.from_db, db.fetchall(f"SELECT {', '.join(BALANCES.column_names)} "
                                                     f"FROM {BALANCES.name} WHERE {where_sql}", values)):
        balances[entry.month].append(entry)
    late: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    entries: dict[tuple[str, str], set[str]] = defaultdict(set)
    late_where = where_sql.replace("month", "period")
    for line in map(LINES.from_db, db.fetchall(f"SELECT {', '.join(LINES.column_names)} FROM {LINES.name} "
                                               f"WHERE period <> month AND {late_where}", values)):
        late[(line.period, line.currency)][0] += line.debit
        entries[(line.period, line.currency)].add(line.entry_id)
    out: list[Row] = []
    for close in closes:
        found = {b.currency: b for b in balances[close.month]}
        currencies: list[str] = sorted(set(found) | {c for m, c in late if m == close.month}) or [""]
        for currency in currencies:
            balance: CloseBalanceRow | None = found.get(currency)
            key = (close.month, currency)
            out.append({"month": close.month, "currency": currency or None,
                        "debit": balance.debit if balance else Decimal(0),
                        "credit": balance.credit if balance else Decimal(0),
                        "late_entries": len(entries.get(key, ())),
                        "late_debit": late[key][0] if key in late else Decimal(0),
                        "invoices": close.invoices, "closed_at": close.closed_at, "position": close.position,
                        "journal_position": close.journal_position})
            if len(out) >= limit:
                return out
    return out


REPORT = Report(
    name="close",
    title="Month closes and what was posted for each month after it closed",
    projections=("closes", "journal"),
    filters=(FROM, TO),
    columns=(Column("month", "", "The closed month YYYY-MM"),
             Column("currency", "ISO 4217", "Currency of the trial balance"),
             Column("debit", "currency", "Debits of the trial balance through the month, at the close", total=None),
             Column("credit", "currency", "Credits of the trial balance through the month (equal)", total=None),
             Column("late_entries", "count", "Entries for the month that arrived after the close (posted in a "
                                             "later open month)", total=None),
             Column("late_debit", "currency", "Their debits (they balance: as much credit)"),
             Column("invoices", "count", "Invoices of the month at the close", total=None),
             Column("closed_at", "UTC", "When it was closed"),
             Column("position", "count", "Log position of the close", total=None),
             Column("journal_position", "count", "Log position the journal stood at when checked", total=None)),
    query=query,
    order=("month", "currency"),
    balance_of=("month",),
    chart=False,
    notes="A closed month never reopens: what arrives for it later posts in the next open month "
          "(ledger report journal shows those entries, described '(late: period M closed)').",
)
