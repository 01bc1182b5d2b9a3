"""The journal's chart of accounts, and which account each invoice line kind posts to.

Every account has a ``type`` (asset, liability, revenue, expense or equity) and the side its
balance normally sits on. The contra-revenue accounts (4900 discounts, 4910 credit notes) are of
type ``revenue`` with a normal *debit* balance, so the balances of the accounts of type revenue,
credit - debit, net to the revenue recognised (docs/finance.md, *Journal and trial balance*).

Invoice lines (``revenue_kind``): ``reservation`` and ``on_demand`` (GPU-hours), ``cancellation_fee``
and ``termination_fee`` (fees), ``true_up`` (committed-spend shortfall), ``credit`` (a credit
note carried onto a later invoice), ``credits_applied`` (prepaid credits paying it) and ``tax``
(output tax: 2200, a liability, never revenue); lines
without a kind, or of kind ``invoice`` (older invoices), are usage. An ``adjustment`` (a change
after the month was invoiced, billed on a later month) posts to the account of what it adjusts,
which its ``line_key`` names: ``adjustment:<reservation>:<month>`` late GPU-hours of that
reservation, ``adjustment-fee:<reservation>:<month>`` a late cancellation fee, and
``reconciliation:<month>:<key>`` a difference on the invoiced line ``<key>`` (``reservation:``,
``fee:``, ``credit:``, or an earlier adjustment's key). Anything else raises: no line is posted
to a default account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Account:
    code: str
    name: str
    type: str  # asset | liability | revenue | expense | equity
    normal: str  # debit | credit: the side its balance normally sits on


CASH = Account("1000", "Cash - bank", "asset", "debit")
RECEIVABLE = Account("1100", "Accounts receivable - invoices", "asset", "debit")
CREDITS_RECEIVABLE = Account("1110", "Accounts receivable - credit purchases", "asset", "debit")
DEFERRED = Account("2100", "Deferred revenue - prepaid credits", "liability", "credit")
TAX_PAYABLE = Account("2200", "Tax payable - VAT/MVA", "liability", "credit")
RESERVED = Account("4000", "Revenue - reserved GPU-hours", "revenue", "credit")
ON_DEMAND = Account("4010", "Revenue - on-demand GPU-hours", "revenue", "credit")
FEES = Account("4020", "Revenue - fees (cancellation and termination)", "revenue", "credit")
TRUE_UPS = Account("4030", "Revenue - committed-spend true-ups", "revenue", "credit")
BREAKAGE = Account("4100", "Revenue - credit breakage", "revenue", "credit")
FORFEITED = Account("4110", "Revenue - credits forfeited on voided invoices", "revenue", "credit")
DISCOUNTS = Account("4900", "Discounts - granted credits", "revenue", "debit")
CREDIT_NOTES = Account("4910", "Credit notes", "revenue", "debit")

CHART: tuple[Account, ...] = (CASH, RECEIVABLE, CREDITS_RECEIVABLE, DEFERRED, TAX_PAYABLE, RESERVED, ON_DEMAND, FEES,
                              TRUE_UPS,
                              BREAKAGE, FORFEITED, DISCOUNTS, CREDIT_NOTES)
ACCOUNTS: dict[str, Account] = {a.code: a for a in CHART}
REVENUE_CODES = frozenset(a.code for a in CHART if a.type == "revenue")

# What a line is, for the books: usage (reserved or on-demand by its reservation's pricing), a
# fee, a true-up, a credit note carried (posted when the note was issued), or credits applied
# (posted by Wallet.CreditsApplied).
USAGE, FEE, TRUE_UP, CREDIT, CREDITS_APPLIED = "usage", "fee", "true_up", "credit", "credits_applied"
TAX = "tax"  # output tax on the invoice: a liability (2200), never revenue
KINDS: dict[str | None, str] = {
    "reservation": USAGE, "on_demand": USAGE, None: USAGE, "": USAGE, "invoice": USAGE,
    "cancellation_fee": FEE, "termination_fee": FEE, "true_up": TRUE_UP, "credit": CREDIT,
    "credits_applied": CREDITS_APPLIED, "tax": TAX,
}
KEY_PREFIXES = (("reservation:", USAGE), ("adjustment:", USAGE), ("invoice-line:", USAGE), ("fee:", FEE),
                ("adjustment-fee:", FEE), ("credit:", CREDIT))
NOT_REVENUE = frozenset({CREDIT, CREDITS_APPLIED})  # lines an invoice's Issued does not post


class UnknownLineKind(ValueError):
    """An invoice line the chart has no account for: the mapping must be extended, not guessed."""


def revenue_kind(line: Mapping[str, Any]) -> str:
    """What ``line`` is (module docstring): usage, fee, true_up, credit, credits_applied or tax."""
    kind = line.get("kind")
    if kind != "adjustment":
        if kind not in KINDS:
            raise UnknownLineKind(f"journal: invoice line kind {kind!r} has no account (line {line.get('line_key')})")
        return KINDS[kind]
    return key_kind(str(line.get("line_key") or ""))


def key_kind(key: str) -> str:
    """What an adjustment adjusts, by its line key (module docstring)."""
    while key.startswith("reconciliation:"):
        key = key.split(":", 2)[2] if key.count(":") >= 2 else ""
    for prefix, kind in KEY_PREFIXES:
        if key.startswith(prefix):
            return kind
    raise UnknownLineKind(f"journal: adjustment line {key!r} does not say what it adjusts")


def line_account(line: Mapping[str, Any], pricing_of: Callable[[str], str]) -> Account | None:
    """The account (revenue, or 2200 for a tax line) a line of an invoice's Issued posts to, or
    None (credit notes carried and credits applied: posted by their own events). ``pricing_of`` gives a reservation's
    pricing mode (``reserved`` or ``on_demand``)."""
    kind = revenue_kind(line)
    if kind in NOT_REVENUE:
        return None
    if kind == FEE:
        return FEES
    if kind == TRUE_UP:
        return TRUE_UPS
    if kind == TAX:
        return TAX_PAYABLE
    if line.get("kind") == "on_demand":
        return ON_DEMAND
    if line.get("kind") == "reservation":
        return RESERVED
    reservation = line.get("reservation_id")
    pricing = pricing_of(str(reservation)) if reservation else "reserved"
    if pricing not in ("reserved", "on_demand"):
        raise UnknownLineKind(f"journal: reservation {reservation} has pricing {pricing!r}")
    return ON_DEMAND if pricing == "on_demand" else RESERVED
