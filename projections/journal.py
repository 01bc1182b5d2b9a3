"""The general journal: every commercial fact as a balanced double-entry, per currency.

Postings (amounts exact Decimals in the tenant's currency; a line is a debit or a credit, never
both, never zero; a negative amount posts on the opposite sides):

- ``Invoice.Issued``: Dr 1100 / Cr 4000 the invoice's *charges*: every line but ``credits_applied``
  and ``credit`` (usage, fees, adjustments, true-ups, termination fees). So the invoice's
  ``total`` == charges + ``credit`` lines + ``credits_applied`` lines (both negative). A
  ``credit`` line is a credit note (already posted when it was issued, below) carried onto this
  invoice: applying it is Dr 1100 / Cr 1100, nothing, so it is not posted again. Period: the
  invoice's month; date: the issue date, or the month's last day when issued after it (accrual).
- ``Wallet.CreditsApplied``: Dr 2100 the paid part, Dr 4900 the granted part (per grant, as
  ``projections.commercial`` splits it), Cr 1100 the total. Period: the invoice's month; same date
  rule.
- ``Wallet.CreditsPurchased``: Dr 1110 / Cr 2100 (period: the month recorded). No payment events
  exist, so 1110 is never settled. ``Wallet.CreditsGranted`` posts nothing: free credits are no
  liability in this model; they become a discount (4900) only when consumed.
- ``Wallet.CreditsExpired``: a paid grant, Dr 2100 / Cr 4100 (breakage, period: the month of
  ``expired_at``); a granted one, nothing.
- ``Invoice.Voided``: reverses exactly what the invoice's ``Issued`` posted (Dr 4000 / Cr 1100 the
  charges, kept in ``journal_invoices``). The domain never gives back the credits a voided invoice
  consumed (docs/finance.md, *Prepaid credits*), so their entry stands: the tenant's 1100 keeps a
  credit balance of them (owed to the tenant). Period: the month of the void.
- ``Invoice.CreditNoteIssued``: Dr 4000 / Cr 1100 the note's amount (period: the month issued).
- ``MonthClose.Closed``: the month is closed (``journal_closed_months``). An entry whose period is
  closed posts in the first later month that is not, dated its first day, its description ending
  "(late: period M closed)". Closes are in log order, so a rebuild posts the same.

Accounts (``CHART``): only those an event needs. Every entry balances per currency.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from domain.aggregates import Invoice, Wallet
from domain.aggregates.close import MonthClose
from projections.projection import Batch, Positioned, Projection, text_id
from projections.rows import RowSet
from projections.timeaxis import month_of, next_month
from storage.database import Database
from storage.tables import Table

ZERO = Decimal(0)


@dataclass(frozen=True)
class Account:
    code: str
    name: str
    type: str  # asset | liability | revenue | contra-revenue
    normal: str  # debit | credit: the side its balance normally sits on


RECEIVABLE = Account("1100", "Accounts receivable - invoices", "asset", "debit")
CREDITS_RECEIVABLE = Account("1110", "Accounts receivable - credit purchases", "asset", "debit")
DEFERRED = Account("2100", "Deferred revenue - prepaid credits", "liability", "credit")
REVENUE = Account("4000", "Revenue - GPU services (gross charges)", "revenue", "credit")
BREAKAGE = Account("4100", "Revenue - credit breakage", "revenue", "credit")
DISCOUNTS = Account("4900", "Discounts - granted credits", "contra-revenue", "debit")

CHART: tuple[Account, ...] = (RECEIVABLE, CREDITS_RECEIVABLE, DEFERRED, REVENUE, BREAKAGE, DISCOUNTS)
ACCOUNTS: dict[str, Account] = {a.code: a for a in CHART}


@dataclass(slots=True)
class JournalLineRow:
    position: int  # log position of the source event
    line: int  # index within the entry
    entry_id: str
    date: str  # YYYY-MM-DD
    month: str  # posting period YYYY-MM
    event_id: str  # originator id:version, the ERP's External ID
    account_code: str
    account: str
    debit: Decimal
    credit: Decimal
    currency: str
    tenant_id: str
    reference: str  # invoice id or grant id
    description: str


@dataclass(slots=True)
class JournalInvoiceRow:
    invoice_id: str
    tenant_id: str
    month: str
    currency: str
    charges: Decimal  # what Issued posted to 4000 (signed)


@dataclass(slots=True)
class JournalWalletRow:
    wallet_id: str
    tenant_id: str
    currency: str


@dataclass(slots=True)
class JournalGrantRow:
    grant_id: str
    wallet_id: str
    paid: int  # 1 purchased, 0 granted


@dataclass(slots=True)
class ClosedMonthRow:
    month: str
    position: int


LINES = Table("journal_lines", JournalLineRow, key=("position", "line"), indexes=(("month",), ("tenant_id",)))
INVOICES = Table("journal_invoices", JournalInvoiceRow, key=("invoice_id",))
WALLETS = Table("journal_wallets", JournalWalletRow, key=("wallet_id",))
GRANTS = Table("journal_grants", JournalGrantRow, key=("grant_id",))
CLOSED = Table("journal_closed_months", ClosedMonthRow, key=("month",))


@dataclass(frozen=True)
class Posting:
    """One side of an entry before it is written: an account and a signed debit (credit < 0)."""

    account: Account
    amount: Decimal  # > 0 debit, < 0 credit
    description: str


def pair(debit: Account, credit: Account, amount: Decimal, description: str) -> list[Posting]:
    """Dr ``debit`` / Cr ``credit`` ``amount`` (a negative amount posts the other way round)."""
    return [Posting(debit, amount, description), Posting(credit, -amount, description)]


def accrual_date(moment: datetime, month: str) -> str:
    """The moment's date, or the month's last day when it is after the month (accrual)."""
    day = moment.astimezone(UTC).date().isoformat()
    year, mon = int(month[:4]), int(month[5:])
    last = f"{month}-{calendar.monthrange(year, mon)[1]:02d}"
    return min(day, last)


def day_of(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


@dataclass
class JournalBatch(Batch):
    lines: RowSet[JournalLineRow]
    invoices: RowSet[JournalInvoiceRow]
    wallets: RowSet[JournalWalletRow]
    grants: RowSet[JournalGrantRow]
    closed: RowSet[ClosedMonthRow]

    def flush(self) -> None:
        for rows in (self.lines, self.invoices, self.wallets, self.grants, self.closed):
            rows.flush()

    def wallet(self, wallet_id: object) -> JournalWalletRow:
        return self.wallets.require((text_id(wallet_id),), f"journal: no Wallet.Opened seen for {wallet_id}")

    def grant(self, grant_id: str) -> JournalGrantRow:
        return self.grants.require((grant_id,), f"journal: no grant {grant_id}")

    def post(self, event: Any, *, month: str, date: str, currency: str, tenant_id: str, reference: str,
             postings: list[Posting]) -> None:
        """Write one entry (the lines of ``postings`` that are not zero) in ``month`` -- or, if
        that month is closed, in the first later open month, dated its first day."""
        postings = [p for p in postings if p.amount != 0]
        if not postings:
            return
        if sum((p.amount for p in postings), ZERO) != 0:
            raise ValueError(f"journal: the entry of position {self.position} does not balance")
        late = ""
        if self.closed.get((month,)) is not None:
            late = f" (late: period {month} closed)"
            while self.closed.get((month,)) is not None:
                month = next_month(month)
            date = f"{month}-01"
        event_id = f"{text_id(event.originator_id)}:{int(event.originator_version)}"
        for index, p in enumerate(postings):
            self.lines.put(JournalLineRow(
                self.position, index, str(self.position), date, month, event_id, p.account.code, p.account.name,
                p.amount if p.amount > 0 else ZERO, -p.amount if p.amount < 0 else ZERO, currency, tenant_id,
                reference, p.description + late))


def charges_of(lines: Sequence[dict[str, Any]]) -> Decimal:
    """An invoice's charges: every line but ``credits_applied`` and ``credit`` (module docstring)."""
    return sum((Decimal(str(line["amount"])) for line in lines
                if line.get("kind") not in ("credits_applied", "credit")), ZERO)


class Journal(Projection):
    name = "journal"
    title = "General journal: balanced double entries of invoices, credits and revenue"
    tables = (LINES, INVOICES, WALLETS, GRANTS, CLOSED)

    def begin(self, db: Database, events: Sequence[Positioned]) -> JournalBatch:
        return JournalBatch(self.rows(db, LINES), self.rows(db, INVOICES), self.rows(db, WALLETS),
                            self.rows(db, GRANTS), self.rows(db, CLOSED))

    @singledispatchmethod
    def handle(self, event: object, batch: JournalBatch) -> None:
        """Events without a handler are ignored."""

    # ---- invoices -----------------------------------------------------------------------------

    @handle.register(Invoice.Issued)
    def _issued(self, event: Invoice.Issued, batch: JournalBatch) -> None:
        invoice, tenant = text_id(event.originator_id), text_id(event.tenant_id)
        charges = charges_of(event.lines or [])
        batch.invoices.put(JournalInvoiceRow(invoice, tenant, event.month, event.currency, charges))
        batch.post(event, month=event.month, date=accrual_date(event.issued_at, event.month),
                   currency=event.currency, tenant_id=tenant, reference=invoice,
                   postings=pair(RECEIVABLE, REVENUE, charges, f"Invoice {event.month} issued"))

    @handle.register(Invoice.Voided)
    def _voided(self, event: Invoice.Voided, batch: JournalBatch) -> None:
        invoice = batch.invoices.require((text_id(event.originator_id),),
                                         f"journal: no Invoice.Issued seen for {event.originator_id}")
        batch.post(event, month=month_of(event.timestamp), date=day_of(event.timestamp), currency=invoice.currency,
                   tenant_id=invoice.tenant_id, reference=invoice.invoice_id,
                   postings=pair(REVENUE, RECEIVABLE, invoice.charges,
                                 f"Invoice {invoice.month} voided: {event.reason}"))

    @handle.register(Invoice.CreditNoteIssued)
    def _credited(self, event: Invoice.CreditNoteIssued, batch: JournalBatch) -> None:
        invoice = batch.invoices.require((text_id(event.originator_id),),
                                         f"journal: no Invoice.Issued seen for {event.originator_id}")
        batch.post(event, month=month_of(event.issued_at), date=day_of(event.issued_at), currency=invoice.currency,
                   tenant_id=invoice.tenant_id, reference=invoice.invoice_id,
                   postings=pair(REVENUE, RECEIVABLE, Decimal(event.amount),
                                 f"Credit note on invoice {invoice.month}: {event.reason}"))

    # ---- wallets ------------------------------------------------------------------------------

    @handle.register(Wallet.Opened)
    def _opened(self, event: Wallet.Opened, batch: JournalBatch) -> None:
        batch.wallets.put(JournalWalletRow(text_id(event.originator_id), text_id(event.tenant_id), event.currency))

    @handle.register(Wallet.CreditsPurchased)
    def _purchased(self, event: Wallet.CreditsPurchased, batch: JournalBatch) -> None:
        wallet = batch.wallet(event.originator_id)
        grant = text_id(event.grant_id)
        batch.grants.put(JournalGrantRow(grant, wallet.wallet_id, 1))
        batch.post(event, month=month_of(event.recorded_at), date=day_of(event.recorded_at),
                   currency=wallet.currency, tenant_id=wallet.tenant_id, reference=grant,
                   postings=pair(CREDITS_RECEIVABLE, DEFERRED, Decimal(event.amount), "Prepaid credits purchased"))

    @handle.register(Wallet.CreditsGranted)
    def _granted(self, event: Wallet.CreditsGranted, batch: JournalBatch) -> None:
        wallet = batch.wallet(event.originator_id)
        batch.grants.put(JournalGrantRow(text_id(event.grant_id), wallet.wallet_id, 0))  # posts nothing

    @handle.register(Wallet.CreditsApplied)
    def _applied(self, event: Wallet.CreditsApplied, batch: JournalBatch) -> None:
        wallet = batch.wallet(event.originator_id)
        paid = granted = ZERO
        for grant_hex, amount in event.applications:
            if batch.grant(text_id(UUID(grant_hex))).paid:
                paid += Decimal(amount)
            else:
                granted += Decimal(amount)
        month = event.month
        batch.post(event, month=month, date=accrual_date(event.recorded_at, month), currency=wallet.currency,
                   tenant_id=wallet.tenant_id, reference=text_id(event.invoice_id), postings=[
                       Posting(DEFERRED, paid, f"Paid credits consumed on invoice {month}"),
                       Posting(DISCOUNTS, granted, f"Granted credits consumed on invoice {month} (discount)"),
                       Posting(RECEIVABLE, -(paid + granted), f"Credits applied to invoice {month}")])

    @handle.register(Wallet.CreditsExpired)
    def _expired(self, event: Wallet.CreditsExpired, batch: JournalBatch) -> None:
        wallet = batch.wallet(event.originator_id)
        grant = batch.grant(text_id(event.grant_id))
        if not grant.paid:
            return  # expired granted credits are nothing
        batch.post(event, month=month_of(event.expired_at), date=day_of(event.expired_at), currency=wallet.currency,
                   tenant_id=wallet.tenant_id, reference=grant.grant_id,
                   postings=pair(DEFERRED, BREAKAGE, Decimal(event.amount), "Paid credits expired (breakage)"))

    # ---- month close --------------------------------------------------------------------------

    @handle.register(MonthClose.Closed)
    def _closed(self, event: MonthClose.Closed, batch: JournalBatch) -> None:
        batch.closed.put(ClosedMonthRow(event.month, batch.position))
