"""The journal's invariants, as a controller checks them: every entry balances, the trial balance
balances per currency, and the journal ties out to the revenue report per tenant and currency, at
every log position (voids and credit notes included: docs/finance.md, *Journal and trial balance*)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from projections.journal_accounts import ACCOUNTS, REVENUE_CODES
from tests.commercial_helpers import ZERO, Store

TYPES = frozenset({"asset", "liability", "revenue", "expense", "equity"})


def check_entries_balance(rows: list[dict[str, Any]]) -> None:
    """Each line is a debit or a credit (exact Decimals, never both, never zero); each entry's
    debits equal its credits in its currency."""
    sums: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        debit, credit = row["debit"], row["credit"]
        assert isinstance(debit, Decimal) and isinstance(credit, Decimal), row
        assert debit >= 0 and credit >= 0 and (debit == 0) != (credit == 0), row
        sums[(row["entry_id"], row["currency"])] += debit - credit
    off = {k: v for k, v in sums.items() if v != 0}
    assert not off, f"entries that do not balance: {off}"


def check_trial_balance(store: Store, **filters: Any) -> dict[str, tuple[Decimal, Decimal]]:
    """Debits == credits per currency; returns them."""
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for row in store.report("trial_balance", **filters):
        totals[row["currency"]][0] += row["debit"]
        totals[row["currency"]][1] += row["credit"]
        assert row["balance"] == row["debit"] - row["credit"], row
        account = ACCOUNTS[row["account_code"]]
        assert row["account_type"] == account.type and account.type in TYPES, row
    assert all(d == c for d, c in totals.values()), dict(totals)
    return {k: (v[0], v[1]) for k, v in totals.items()}


@dataclass(frozen=True)
class Balances:
    """A tenant's balances (debit - credit) per account code, in one currency."""

    by_account: dict[str, Decimal]

    def of(self, code: str) -> Decimal:
        return self.by_account.get(code, ZERO)

    @property
    def revenue(self) -> Decimal:
        """Credit - debit over the accounts of type revenue (contra-revenue 4900 and 4910 included)."""
        return -sum((v for code, v in self.by_account.items() if code in REVENUE_CODES), ZERO)


def balances(store: Store, tenant_id: UUID, **filters: Any) -> dict[str, Balances]:
    found: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for row in store.report("trial_balance", tenant_id=str(tenant_id), **filters):
        found[row["currency"]][row["account_code"]] = row["balance"]
    return {currency: Balances(accounts) for currency, accounts in found.items()}


def check_tie_out(store: Store, tenant_id: UUID) -> None:
    """Per currency, to the cent, against the revenue report (no allowances):
    - (c) the accounts of type revenue (credit - debit) == sum(recognised);
    - (d) 2100 (credit - debit) == the closing deferred revenue;
    - (e) 1000 + 1100 + 1110 (debit - credit) == sum(amount_due) + paid credits purchased (cash
      received stands where the receivable was);
    - (g) 2200 (credit - debit) == sum(tax) (tax is never revenue);
    - (f) 1100 (debit - credit) == what the receivables report says is still owed."""
    rows = store.report("revenue", tenant_id=str(tenant_id))
    by_currency: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_currency[row["currency"]].append(row)
    journal = balances(store, tenant_id)
    assert set(journal) <= set(by_currency), (journal, by_currency)
    for currency, months in by_currency.items():
        books = journal.get(currency, Balances({}))
        recognised = sum((r["recognised"] for r in months), ZERO)
        due = sum((r["amount_due"] for r in months), ZERO)
        purchased = sum((r["credits_purchased"] for r in months), ZERO)
        deferred = months[-1]["deferred_closing"]
        assert books.revenue == recognised, (currency, books, recognised)
        assert -books.of("2100") == deferred, (currency, books, deferred)
        tax = sum((r["tax"] for r in months), ZERO)  # (g) 2200 (credit - debit) == the tax charged, net
        assert -books.of("2200") == tax, (currency, books, tax)
        assert books.of("1000") + books.of("1100") + books.of("1110") == due + purchased, \
            (currency, books, due, purchased)
        owed = sum((r["outstanding"] for r in store.report("receivables", tenant_id=str(tenant_id))
                    if r["currency"] == currency), ZERO)
        assert books.of("1100") == owed, (currency, books, owed)
