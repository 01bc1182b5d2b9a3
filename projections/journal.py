"""The general journal: every commercial fact as a balanced double-entry, per currency.

Postings (amounts exact Decimals in the tenant's currency; a line is a debit or a credit, never
both, never zero; a negative amount posts on the opposite sides). Accounts: ``CHART``
(``projections.journal_accounts``, which also maps each invoice line kind to its account).

- ``Invoice.Issued``: Cr each revenue account its lines (4000 reserved and 4010 on-demand
  GPU-hours, 4020 cancellation and termination fees, 4030 true-ups; an ``adjustment`` posts to
  the account of what it adjusts) and 2200 its ``tax`` line (a liability, never revenue), Dr
  1100 their sum, the invoice's *charges*. Not posted:
  ``credits_applied`` (``Wallet.CreditsApplied``, below) and ``credit`` lines: a credit note
  carried onto this invoice was posted when it was issued; applying it is Dr 1100 / Cr 1100,
  nothing. So the invoice's ``total`` == charges + ``credit`` lines + ``credits_applied``. The
  amounts per account are kept (``journal_invoice_accounts``) for a void. Period: the invoice's
  month; date: the issue date, or the month's last day when issued after it (accrual).
- ``Wallet.CreditsApplied``: Dr 2100 the paid part, Dr 4900 the granted part (per grant, as
  ``projections.commercial`` splits it), Cr 1100 the total; kept per invoice
  (``journal_invoice_credits``). Period: the invoice's month; same date rule.
- ``Wallet.CreditsPurchased``: Dr 1110 / Cr 2100 (period: the month recorded). 1110 is settled
  only by an overpayment's excess (above): credits bought outright are not paid through the
  ledger. ``Wallet.CreditsGranted`` posts nothing: free credits are no liability in this model;
  they become a discount (4900) only when consumed.
- ``Wallet.CreditsExpired``: a paid grant, Dr 2100 / Cr 4100 (breakage, period: the month of
  ``expired_at``); a granted one, nothing.
- ``Invoice.CreditNoteIssued``: Dr 4910 the note's amount less its ``tax``, Dr 2200 its tax, Cr
  1100 the amount (period: the month issued).
- ``Invoice.PaymentRecorded``: Dr 1000 / Cr 1100 the amount applied to the invoice; an
  overpayment's excess, Dr 1000 / Cr 1110: it buys the tenant paid credits in the same save
  (``Wallet.CreditsPurchased``: Dr 1110 / Cr 2100), so cash stands against deferred revenue.
  Period and date: the day the payment was received.
- ``Invoice.Voided``: the whole invoice reversed: Dr each revenue account what its ``Issued``
  credited to it, Cr 1100 what the invoice left in 1100 (charges - credits applied: its total
  less the credit-note lines it carried), Cr 4900 the granted credits applied to it, Cr 4110 the
  paid credits applied to it. The domain never gives back the credits a voided invoice consumed
  (docs/finance.md, *Prepaid credits*), so the paid ones are recognised as forfeited (the tenant
  paid for them and they are gone) and 1100 and 4900 net to 0 for the invoice. Period: the
  month of the void. (An invoice with credit notes against it cannot be voided.)
- ``MonthClose.Closed``: the month is closed (``journal_closed_months``). An entry whose period is
  closed posts in the first later month that is not, dated its first day, its description ending
  "(late: period M closed)". Closes are in log order, so a rebuild posts the same. Each line
  keeps both: ``period``, the month the entry belongs to by its own date, and ``month``, the
  posting period (they differ only for late entries).

Every entry balances per currency.
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

from domain.aggregates import Invoice, Reservation, Wallet
from domain.aggregates.close import MonthClose
from projections.journal_accounts import (
    ACCOUNTS,
    BREAKAGE,
    CASH,
    CHART,
    CREDIT_NOTES,
    CREDITS_RECEIVABLE,
    DEFERRED,
    DISCOUNTS,
    FORFEITED,
    RECEIVABLE,
    TAX_PAYABLE,
    Account,
    UnknownLineKind,
    line_account,
)
from projections.projection import Batch, Positioned, Projection, text_id
from projections.rows import RowSet
from projections.timeaxis import month_of, next_month
from storage.database import Database
from storage.tables import Table

__all__ = ["ACCOUNTS", "CHART", "LINES", "Account", "Journal", "charges_of"]

ZERO = Decimal(0)


@dataclass(slots=True)
class JournalLineRow:
    position: int  # log position of the source event
    line: int  # index within the entry
    entry_id: str
    date: str  # YYYY-MM-DD
    month: str  # posting period YYYY-MM
    period: str  # the period the entry belongs to by its own date (== month unless posted late)
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
    charges: Decimal  # what Issued debited to 1100 (signed)


@dataclass(slots=True)
class JournalInvoiceAccountRow:
    invoice_id: str
    account_code: str
    amount: Decimal  # what Issued credited to the account (signed)


@dataclass(slots=True)
class JournalInvoiceCreditsRow:
    invoice_id: str
    paid: Decimal  # paid credits applied to the invoice
    granted: Decimal  # granted credits applied to it


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
class JournalReservationRow:
    reservation_id: str
    pricing: str  # reserved | on_demand


@dataclass(slots=True)
class ClosedMonthRow:
    month: str
    position: int


LINES = Table("journal_lines", JournalLineRow, key=("position", "line"), indexes=(("month",), ("tenant_id",)))
INVOICES = Table("journal_invoices", JournalInvoiceRow, key=("invoice_id",))
INVOICE_ACCOUNTS = Table("journal_invoice_accounts", JournalInvoiceAccountRow, key=("invoice_id", "account_code"))
INVOICE_CREDITS = Table("journal_invoice_credits", JournalInvoiceCreditsRow, key=("invoice_id",))
WALLETS = Table("journal_wallets", JournalWalletRow, key=("wallet_id",))
GRANTS = Table("journal_grants", JournalGrantRow, key=("grant_id",))
RESERVATIONS = Table("journal_reservations", JournalReservationRow, key=("reservation_id",))
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
    invoice_accounts: RowSet[JournalInvoiceAccountRow]
    invoice_credits: RowSet[JournalInvoiceCreditsRow]
    wallets: RowSet[JournalWalletRow]
    grants: RowSet[JournalGrantRow]
    reservations: RowSet[JournalReservationRow]
    closed: RowSet[ClosedMonthRow]

    def flush(self) -> None:
        for rows in (self.lines, self.invoices, self.invoice_accounts, self.invoice_credits, self.wallets,
                     self.grants, self.reservations, self.closed):
            rows.flush()

    def wallet(self, wallet_id: object) -> JournalWalletRow:
        return self.wallets.require((text_id(wallet_id),), f"journal: no Wallet.Opened seen for {wallet_id}")

    def grant(self, grant_id: str) -> JournalGrantRow:
        return self.grants.require((grant_id,), f"journal: no grant {grant_id}")

    def invoice(self, invoice_id: object) -> JournalInvoiceRow:
        return self.invoices.require((text_id(invoice_id),), f"journal: no Invoice.Issued seen for {invoice_id}")

    def pricing_of(self, reservation_id: str) -> str:
        found = self.reservations.get((reservation_id,))
        if found is None:
            raise UnknownLineKind(f"journal: a usage line names reservation {reservation_id}, never confirmed")
        return found.pricing

    def post(self, event: Any, *, month: str, date: str, currency: str, tenant_id: str, reference: str,
             postings: list[Posting]) -> None:
        """Write one entry (the lines of ``postings`` that are not zero) in ``month`` -- or, if
        that month is closed, in the first later open month, dated its first day."""
        postings = [p for p in postings if p.amount != 0]
        if not postings:
            return
        if sum((p.amount for p in postings), ZERO) != 0:
            raise ValueError(f"journal: the entry of position {self.position} does not balance")
        late, period = "", month
        if self.closed.get((month,)) is not None:
            late = f" (late: period {month} closed)"
            while self.closed.get((month,)) is not None:
                month = next_month(month)
            date = f"{month}-01"
        event_id = f"{text_id(event.originator_id)}:{int(event.originator_version)}"
        for index, p in enumerate(postings):
            self.lines.put(JournalLineRow(
                self.position, index, str(self.position), date, month, period, event_id, p.account.code,
                p.account.name, p.amount if p.amount > 0 else ZERO, -p.amount if p.amount < 0 else ZERO, currency,
                tenant_id, reference, p.description + late))


def charges_by_account(lines: Sequence[dict[str, Any]], pricing_of: Any) -> dict[Account, Decimal]:
    """What an invoice's ``Issued`` credits to each revenue account (module docstring)."""
    found: dict[Account, Decimal] = {}
    for line in lines:
        account = line_account(line, pricing_of)
        if account is not None:
            found[account] = found.get(account, ZERO) + Decimal(str(line["amount"]))
    return found


def charges_of(lines: Sequence[dict[str, Any]]) -> Decimal:
    """An invoice's charges: every line but ``credits_applied`` and ``credit`` lines, nor
    adjustments of a credit line (module docstring)."""
    return sum(charges_by_account(lines, lambda _reservation: "reserved").values(), ZERO)


class Journal(Projection):
    name = "journal"
    title = "General journal: balanced double entries of invoices, credits and revenue"
    tables = (LINES, INVOICES, INVOICE_ACCOUNTS, INVOICE_CREDITS, WALLETS, GRANTS, RESERVATIONS, CLOSED)

    def begin(self, db: Database, events: Sequence[Positioned]) -> JournalBatch:
        return JournalBatch(self.rows(db, LINES), self.rows(db, INVOICES), self.rows(db, INVOICE_ACCOUNTS),
                            self.rows(db, INVOICE_CREDITS), self.rows(db, WALLETS), self.rows(db, GRANTS),
                            self.rows(db, RESERVATIONS), self.rows(db, CLOSED))

    @singledispatchmethod
    def handle(self, event: object, batch: JournalBatch) -> None:
        """Events without a handler are ignored."""

    # ---- invoices -----------------------------------------------------------------------------

    @handle.register(Reservation.Confirmed)
    def _confirmed(self, event: Reservation.Confirmed, batch: JournalBatch) -> None:
        batch.reservations.put(JournalReservationRow(text_id(event.originator_id),
                                                     str(event.pricing)))

    @handle.register(Invoice.Issued)
    def _issued(self, event: Invoice.Issued, batch: JournalBatch) -> None:
        invoice, tenant = text_id(event.originator_id), text_id(event.tenant_id)
        by_account = charges_by_account(event.lines or [], batch.pricing_of)
        charges = sum(by_account.values(), ZERO)
        batch.invoices.put(JournalInvoiceRow(invoice, tenant, event.month, event.currency, charges))
        for account, amount in by_account.items():
            batch.invoice_accounts.put(JournalInvoiceAccountRow(invoice, account.code, amount))
        text = f"Invoice {event.month} issued"
        batch.post(event, month=event.month, date=accrual_date(event.issued_at, event.month),
                   currency=event.currency, tenant_id=tenant, reference=invoice,
                   postings=[Posting(RECEIVABLE, charges, text),
                             *(Posting(account, -amount, text) for account, amount in sorted(
                                 by_account.items(), key=lambda item: item[0].code))])

    @handle.register(Invoice.Voided)
    def _voided(self, event: Invoice.Voided, batch: JournalBatch) -> None:
        invoice = batch.invoice(event.originator_id)
        credits = batch.invoice_credits.get((invoice.invoice_id,)) or JournalInvoiceCreditsRow(
            invoice.invoice_id, ZERO, ZERO)
        revenue = sorted(batch.invoice_accounts.where(invoice_id=invoice.invoice_id), key=lambda r: r.account_code)
        text = f"Invoice {invoice.month} voided: {event.reason}"
        batch.post(event, month=month_of(event.timestamp), date=day_of(event.timestamp), currency=invoice.currency,
                   tenant_id=invoice.tenant_id, reference=invoice.invoice_id, postings=[
                       *(Posting(ACCOUNTS[r.account_code], r.amount, text) for r in revenue),
                       Posting(RECEIVABLE, -(invoice.charges - credits.paid - credits.granted), text),
                       Posting(DISCOUNTS, -credits.granted, f"{text} (granted credits it consumed)"),
                       Posting(FORFEITED, -credits.paid, f"{text} (paid credits it consumed, forfeited)")])

    @handle.register(Invoice.PaymentRecorded)
    def _paid(self, event: Invoice.PaymentRecorded, batch: JournalBatch) -> None:
        invoice = batch.invoice(event.originator_id)
        received = str(event.received_on)
        text = f"Payment received, {event.reference}"
        batch.post(event, month=received[:7], date=received, currency=invoice.currency,
                   tenant_id=invoice.tenant_id, reference=invoice.invoice_id,
                   postings=[Posting(CASH, Decimal(event.amount) + Decimal(event.excess), text),
                             Posting(RECEIVABLE, -Decimal(event.amount), text),
                             Posting(CREDITS_RECEIVABLE, -Decimal(event.excess),
                                     f"{text}: overpayment to the tenant's credit balance")])

    @handle.register(Invoice.CreditNoteIssued)
    def _credited(self, event: Invoice.CreditNoteIssued, batch: JournalBatch) -> None:
        invoice = batch.invoice(event.originator_id)
        tax = Decimal(event.tax)
        text = f"Credit note on invoice {invoice.month}: {event.reason}"
        batch.post(event, month=month_of(event.issued_at), date=day_of(event.issued_at), currency=invoice.currency,
                   tenant_id=invoice.tenant_id, reference=invoice.invoice_id,
                   postings=[*pair(CREDIT_NOTES, RECEIVABLE, Decimal(event.amount) - tax, text),
                             *pair(TAX_PAYABLE, RECEIVABLE, tax, f"{text} (its tax)")])

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
        invoice = text_id(event.invoice_id)
        kept = batch.invoice_credits.get((invoice,))
        if kept is None:
            batch.invoice_credits.put(JournalInvoiceCreditsRow(invoice, paid, granted))
        else:
            kept.paid += paid
            kept.granted += granted
            batch.invoice_credits.changed(kept)
        month = event.month
        batch.post(event, month=month, date=accrual_date(event.recorded_at, month), currency=wallet.currency,
                   tenant_id=wallet.tenant_id, reference=invoice, postings=[
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
