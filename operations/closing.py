"""Closing a month: the ONE place that checks a month can close and records the close.

``ledger close --month M`` and ``POST /v1/closes`` call :func:`close_month`. It refuses, with a
one-line reason and recording nothing, unless:

1. the month has ended (by the ledger's clock);
2. the projections have caught up with the log (billing, commercial terms and the journal: the
   checks below read them);
3. every tenant with billing lines in the month has its invoice (``ledger invoice issue
   --month M`` issues the missing ones);
4. the trial balance through the month balances: debits = credits in every currency.

A month already closed is answered as such (exit 0 on the command line, 200 over HTTP) and
records nothing. Nothing reopens a month: what arrives later for it (late usage, a change to a
booking) posts in the next open month, as the billing projection bills it on a later invoice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from domain import Ledger
from domain.attachments import NO_CONTEXT, CommandContext
from domain.errors import Conflict
from domain.service.closing import CloseReceipt
from domain.timeutil import check_month
from operations.invoicing import check_closed

__all__ = ["CloseReads", "MonthNotReady", "close_month"]

CLOSE_PROJECTIONS = ["billing", "commercial", "journal"]


class MonthNotReady(Conflict):
    """A check before the close failed: the reason says which and what to do."""

    kind = "month-not-ready"


class CloseReads(Protocol):
    """What closing needs from the read side (``ProjectionsBilling``, ``ReadSideBilling``)."""

    def caught_up(self, position: int, names: list[str]) -> int:
        """Wait (or catch up) until ``names`` reach ``position``; the position they stand at."""
        ...

    def month_totals(self, month: str) -> list[dict[str, Any]]:
        """The ``billing_totals`` report's rows for ``month``."""
        ...

    def trial_balance(self, month: str) -> list[dict[str, Any]]:
        """The ``trial_balance`` report's rows through the end of ``month``."""
        ...


@dataclass(frozen=True)
class Balance:
    currency: str
    debit: Decimal
    credit: Decimal


def balances(rows: list[dict[str, Any]]) -> list[Balance]:
    """Debits and credits per currency of a trial balance's rows."""
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        pair = sums[str(row["currency"])]
        pair[0] += Decimal(str(row["debit"]))
        pair[1] += Decimal(str(row["credit"]))
    return [Balance(currency, debit, credit) for currency, (debit, credit) in sorted(sums.items())]


def close_month(ledger: Ledger, reads: CloseReads, month: object, *,
                context: CommandContext = NO_CONTEXT) -> CloseReceipt:
    """Check ``month`` (module docstring) and record its close; idempotent."""
    text = check_month(month)
    found = ledger.get_month_close(text)
    if found is not None:
        return CloseReceipt(text, None, True, found)
    check_closed(ledger, text)
    head = ledger.max_position()
    reached = reads.caught_up(head, CLOSE_PROJECTIONS)
    if reached < head:
        raise MonthNotReady(f"month: the projections stand at position {reached}, the log at {head}: run "
                            "`ledger project` (or wait for the projector) and close again", field="month")
    totals = reads.month_totals(text)
    missing = [r for r in totals if r.get("invoice_id") is None and int(r.get("lines") or 0) > 0]
    if missing:
        names = ", ".join(sorted(ledger.get_tenant(r["tenant_id"]).name for r in missing)[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise MonthNotReady(f"month: {len(missing)} tenant(s) have billing lines in {text} but no invoice "
                            f"({names}{more}): run `ledger invoice issue --month {text}` first", field="month")
    checked = balances(reads.trial_balance(text))
    off = [b for b in checked if b.debit != b.credit]
    if off:
        raise MonthNotReady("month: the trial balance does not balance: "
                            + "; ".join(f"{b.currency} debits {b.debit} != credits {b.credit}" for b in off),
                            field="month")
    invoices = sum(1 for r in totals if r.get("invoice_id") is not None)
    return ledger.close_month(text, journal_position=reached, invoices=invoices,
                              balances=[{"currency": b.currency, "debit": b.debit, "credit": b.credit}
                                        for b in checked], context=context)


def describe(receipt: CloseReceipt) -> Mapping[str, Any]:
    """The close as the edges show it."""
    close = receipt.close
    return {"month": receipt.month, "already_closed": receipt.already_closed, "position": receipt.position,
            "closed_at": close.closed_at, "journal_position": close.journal_position, "invoices": close.invoices,
            "balances": close.balances}
