"""The general journal of one month as a file a bookkeeping system imports: the ONE export.

Layout: NetSuite's CSV Import Assistant, record type *Journal Entry*, one row per journal line,
the lines of one entry sharing an ``External ID`` (NetSuite groups them into one journal entry,
which must balance: ours balance per source event and currency). Columns, mapped one to one in
the assistant:

- ``External ID``: the entry (the source event, ``<aggregate id>:<version>``): importing the same
  file twice updates rather than duplicates;
- ``Posting Period``: the accounting period, e.g. ``Nov 2026`` (an invoice posts in its month
  even though it is issued on the 1st of the next);
- ``Date``: the fact's date, ISO ``YYYY-MM-DD`` (set the assistant's date format to match);
- ``Currency``: ISO 4217; ``Account``: the account code of the chart (docs/finance.md);
- ``Debit`` / ``Credit``: one of the two per line, at the currency's minor unit, the other empty;
- ``Memo``: what the line records; ``Name``: the tenant (the customer record's name);
- ``Reference``: the invoice's number (``GL-2026-000123``) the line is about, or the credit
  grant's id (invoices issued before numbering: their id).

The bytes depend only on the journal: rows in log order, no timestamps, ``\\n`` line ends. So a
closed month (nothing posts into it any more) exports the same bytes every time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

HEADER = ("External ID", "Posting Period", "Date", "Currency", "Account", "Debit", "Credit", "Memo", "Name",
          "Reference")


def posting_period(month: str) -> str:
    """``2026-11`` -> ``Nov 2026`` (NetSuite's period names)."""
    return date.fromisoformat(f"{month}-01").strftime("%b %Y")


def amount(value: Any) -> str:
    number = Decimal(str(value))
    return "" if number == 0 else f"{number:f}"


def journal_csv(rows: Sequence[Mapping[str, Any]], tenant_name: Callable[[str], str],
                reference: Callable[[str], str] = str) -> bytes:
    """The ``journal`` report's rows of one month (log order) as the import file; ``reference``
    names what a line is about as people know it (an invoice's number for its id)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([row["event_id"], posting_period(str(row["month"])), row["date"], row["currency"],
                         row["account_code"], amount(row["debit"]), amount(row["credit"]), row["description"],
                         tenant_name(str(row["tenant_id"])) if row.get("tenant_id") else "",
                         reference(str(row["reference"]))])
    return buffer.getvalue().encode("utf-8")
