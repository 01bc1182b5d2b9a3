"""Commercial terms: revenue recognition per tenant and month, wallet traces, settled commitments.

Recognition rules (stated in docs/finance.md, *Revenue recognition*), in the tenant's currency:
- ``billed``: an invoice's charge lines (usage, fees, adjustments, a termination fee) --
  everything but ``true_up``, ``credits_applied`` and ``credit`` lines (and adjustments of a
  ``credit`` line); ``true_up``: its true-up lines; ``amount_due``: its total (after credits)
  less its ``credit`` lines. All in the invoice's month. Line kinds are classified as the journal
  classifies them (``projections.journal_accounts.revenue_kind``; an unknown kind raises).
- A credit note is recognised in the month it is issued (``Invoice.CreditNoteIssued``, the month
  of ``issued_at``): ``billed`` and ``amount_due`` less its amount. The ``credit`` line that
  carries it onto a later invoice was counted then, so that invoice skips it.
- A void (``Invoice.Voided``) reverses the whole invoice in the month of the void: ``billed``,
  ``true_up`` and ``amount_due`` less what the invoice added to them (kept per invoice in
  ``com_invoices``). The credits it consumed stay consumed (the domain never gives them back):
  ``granted_credits_applied`` and ``paid_credits_applied`` are unchanged, so the paid ones stay
  recognised (forfeited) and the granted ones stay a discount.
- Credits consumed on an invoice, split by grant: paid credits are recognised then (they were
  deferred revenue when bought), granted credits are a discount (never revenue).
- Buying credits is a liability (deferred revenue), not revenue: ``credits_purchased`` in the
  month of purchase.
- Breakage: paid credits that expire unused are recognised in the month of their expiry;
  expired granted credits are nothing.
- Tax (``tax`` lines; a credit note's ``tax`` part) is owed to the tax authority: in
  ``amount_due``, never in ``billed`` nor recognised; a ``tax`` column per month.
- ``recognised`` = amount due - tax + paid credits consumed + breakage, and the closing deferred
  revenue = paid credits purchased - consumed - expired to date; so per tenant, to the cent,
  sum(recognised) + deferred = sum(amounts due) + paid credits purchased, where the amounts due
  are net of credit notes and voids as above.

These are the journal's rules (``projections.journal``): per tenant and currency, sum(recognised)
equals the balance (credit - debit) of the journal's accounts of type revenue, at every log
position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import singledispatchmethod
from uuid import UUID

from domain.aggregates import Contract, Invoice, Wallet
from projections.journal_accounts import CREDIT, CREDITS_APPLIED, TAX, TRUE_UP, revenue_kind
from projections.projection import Batch, Positioned, Projection, text_id
from projections.rows import RowSet
from projections.timeaxis import month_of
from storage.database import Database
from storage.tables import Table

ZERO = Decimal(0)


@dataclass(slots=True)
class RevenueRow:
    tenant_id: str
    month: str
    currency: str
    billed: Decimal = ZERO
    true_up: Decimal = ZERO
    granted_credits_applied: Decimal = ZERO
    paid_credits_applied: Decimal = ZERO
    amount_due: Decimal = ZERO
    breakage: Decimal = ZERO
    credits_purchased: Decimal = ZERO
    tax: Decimal = ZERO  # output tax on the month's invoice (less credit notes' and voids'): never revenue


@dataclass(slots=True)
class InvoiceRow:
    invoice_id: str
    tenant_id: str
    currency: str
    billed: Decimal  # what the invoice's Issued added to its month's row
    true_up: Decimal
    amount_due: Decimal
    tax: Decimal = ZERO


@dataclass(slots=True)
class TaxRow:
    """Output tax per tenant, month, tax, rate and treatment (the ``tax`` report): the invoices'
    tax lines in their month, less credit notes' tax parts in the month issued and voided
    invoices' lines in the month voided."""

    tenant_id: str
    month: str
    tax_name: str
    rate: str  # as on the line: 0.20
    treatment: str
    currency: str
    taxable: Decimal = ZERO
    tax: Decimal = ZERO


@dataclass(slots=True)
class InvoiceTaxRow:
    invoice_id: str
    line: int  # the tax line's index on the invoice
    tax_name: str
    rate: str
    treatment: str
    taxable: Decimal
    tax: Decimal


@dataclass(slots=True)
class WalletRow:
    wallet_id: str
    tenant_id: str
    currency: str
    balance: Decimal
    paid_balance: Decimal


@dataclass(slots=True)
class GrantRow:
    grant_id: str
    wallet_id: str
    paid: int  # 1 paid (purchased), 0 granted


@dataclass(slots=True)
class TraceRow:
    tenant_id: str
    sequence: int  # the wallet event's version: the trace's order
    month: str  # when it was recorded (an expiry: when the grant lapsed)
    recorded_at: str
    kind: str  # purchased | granted | applied | expired
    grant_id: str | None
    invoice_month: str | None
    currency: str
    amount: Decimal  # signed change of the balance
    paid_amount: Decimal  # the part of it in paid credits
    balance: Decimal  # after this entry
    paid_balance: Decimal
    note: str | None


@dataclass(slots=True)
class ContractRow:
    contract_id: str
    tenant_id: str
    currency: str


@dataclass(slots=True)
class SettlementRow:
    tenant_id: str
    contract_id: str
    period_start: str
    period_end: str
    currency: str
    commitment: Decimal
    eligible_spend: Decimal
    true_up: Decimal
    termination_fee: Decimal
    invoice_id: str


REVENUE = Table("com_revenue", RevenueRow, key=("tenant_id", "month"))
INVOICES = Table("com_invoices", InvoiceRow, key=("invoice_id",))
WALLETS = Table("com_wallets", WalletRow, key=("wallet_id",))
GRANTS = Table("com_grants", GrantRow, key=("grant_id",))
TRACE = Table("com_wallet_trace", TraceRow, key=("tenant_id", "sequence"))
CONTRACTS = Table("com_contracts", ContractRow, key=("contract_id",))
TAX_TABLE = Table("com_tax", TaxRow, key=("tenant_id", "month", "tax_name", "rate", "treatment"))
INVOICE_TAX = Table("com_invoice_tax", InvoiceTaxRow, key=("invoice_id", "line"))
SETTLEMENTS = Table("com_settlements", SettlementRow, key=("contract_id", "period_start"),
                    indexes=(("tenant_id",),))


@dataclass
class CommercialBatch(Batch):
    revenue: RowSet[RevenueRow]
    invoices: RowSet[InvoiceRow]
    wallets: RowSet[WalletRow]
    grants: RowSet[GrantRow]
    trace: RowSet[TraceRow]
    contracts: RowSet[ContractRow]
    settlements: RowSet[SettlementRow]
    tax: RowSet[TaxRow]
    invoice_tax: RowSet[InvoiceTaxRow]

    def flush(self) -> None:
        for rows in (self.revenue, self.invoices, self.wallets, self.grants, self.trace, self.contracts,
                     self.settlements, self.tax, self.invoice_tax):
            rows.flush()

    def add_tax(self, invoice: InvoiceRow, month: str, line: InvoiceTaxRow, sign: Decimal,
                taxable: Decimal, tax: Decimal) -> None:
        key = (invoice.tenant_id, month, line.tax_name, line.rate, line.treatment)
        row = self.tax.get(key)
        if row is None:
            row = self.tax.put(TaxRow(*key, invoice.currency))
        else:
            self.tax.changed(row)
        row.taxable += sign * taxable
        row.tax += sign * tax

    def month_row(self, tenant: str, month: str, currency: str) -> RevenueRow:
        row = self.revenue.get((tenant, month))
        if row is None:
            row = self.revenue.put(RevenueRow(tenant, month, currency))
        else:
            self.revenue.changed(row)
        return row

    def invoice(self, invoice_id: object) -> InvoiceRow:
        return self.invoices.require((text_id(invoice_id),), f"commercial: no Invoice.Issued seen for {invoice_id}")

    def wallet(self, wallet_id: object) -> WalletRow:
        row = self.wallets.require((text_id(wallet_id),), f"commercial: no Wallet.Opened seen for {wallet_id}")
        self.wallets.changed(row)
        return row

    def trace_entry(self, wallet: WalletRow, sequence: int, month: str, recorded_at: object, kind: str,
                    grant_id: str | None, invoice_month: str | None, amount: Decimal, paid_amount: Decimal,
                    note: str | None) -> None:
        wallet.balance += amount
        wallet.paid_balance += paid_amount
        self.trace.put(TraceRow(wallet.tenant_id, sequence, month, str(recorded_at), kind, grant_id, invoice_month,
                                wallet.currency, amount, paid_amount, wallet.balance, wallet.paid_balance, note))


class Commercial(Projection):
    name = "commercial"
    title = "Revenue recognition, prepaid-credit wallets and settled commitments per tenant"
    tables = (REVENUE, INVOICES, WALLETS, GRANTS, TRACE, CONTRACTS, SETTLEMENTS, TAX_TABLE, INVOICE_TAX)

    def begin(self, db: Database, events: Sequence[Positioned]) -> CommercialBatch:
        return CommercialBatch(self.rows(db, REVENUE), self.rows(db, INVOICES), self.rows(db, WALLETS),
                               self.rows(db, GRANTS), self.rows(db, TRACE), self.rows(db, CONTRACTS),
                               self.rows(db, SETTLEMENTS), self.rows(db, TAX_TABLE), self.rows(db, INVOICE_TAX))

    @singledispatchmethod
    def handle(self, event: object, batch: CommercialBatch) -> None:
        """Events without a handler are ignored."""

    # ---- invoices -----------------------------------------------------------------------------

    @handle.register(Invoice.Issued)
    def _issued(self, event: Invoice.Issued, batch: CommercialBatch) -> None:
        tenant = text_id(event.tenant_id)
        billed = true_up = carried = tax = ZERO
        taxes: list[InvoiceTaxRow] = []
        for index, line in enumerate(event.lines or []):
            kind, amount = revenue_kind(line), Decimal(str(line["amount"]))
            if kind == TRUE_UP:
                true_up += amount
            elif kind == TAX:
                tax += amount  # owed to the tax authority: in amount_due, never billed nor recognised
                taxes.append(InvoiceTaxRow(text_id(event.originator_id), index, str(line.get("tax_name")),
                                           str(line.get("rate")), str(line.get("treatment")),
                                           Decimal(str(line.get("taxable", 0))), amount))
            elif kind == CREDIT:
                carried += amount  # a credit note, recognised when it was issued
            elif kind != CREDITS_APPLIED:
                billed += amount
        due = Decimal(event.total) - carried
        batch.invoices.put(InvoiceRow(text_id(event.originator_id), tenant, event.currency, billed, true_up, due,
                                      tax))
        row = batch.month_row(tenant, event.month, event.currency)
        row.billed += billed
        row.true_up += true_up
        row.amount_due += due
        row.tax += tax
        invoice = batch.invoice(event.originator_id)
        for entry in taxes:
            batch.invoice_tax.put(entry)
            batch.add_tax(invoice, event.month, entry, Decimal(1), entry.taxable, entry.tax)

    @handle.register(Invoice.CreditNoteIssued)
    def _credited(self, event: Invoice.CreditNoteIssued, batch: CommercialBatch) -> None:
        invoice = batch.invoice(event.originator_id)
        row = batch.month_row(invoice.tenant_id, month_of(event.issued_at), invoice.currency)
        tax = Decimal(event.tax)
        row.billed -= Decimal(event.amount) - tax
        row.amount_due -= Decimal(event.amount)
        row.tax -= tax
        lines = batch.invoice_tax.where(invoice_id=invoice.invoice_id)
        if lines:  # one treatment per tenant: the note's tax is that of the invoice's (one) tax line
            batch.add_tax(invoice, month_of(event.issued_at), lines[0], Decimal(-1), Decimal(event.amount) - tax, tax)

    @handle.register(Invoice.Voided)
    def _voided(self, event: Invoice.Voided, batch: CommercialBatch) -> None:
        invoice = batch.invoice(event.originator_id)
        row = batch.month_row(invoice.tenant_id, month_of(event.timestamp), invoice.currency)
        row.billed -= invoice.billed
        row.true_up -= invoice.true_up
        row.amount_due -= invoice.amount_due
        row.tax -= invoice.tax
        for entry in batch.invoice_tax.where(invoice_id=invoice.invoice_id):
            batch.add_tax(invoice, month_of(event.timestamp), entry, Decimal(-1), entry.taxable, entry.tax)

    # ---- wallets ------------------------------------------------------------------------------

    @handle.register(Wallet.Opened)
    def _opened(self, event: Wallet.Opened, batch: CommercialBatch) -> None:
        batch.wallets.put(WalletRow(text_id(event.originator_id), text_id(event.tenant_id), event.currency, ZERO,
                                    ZERO))

    @handle.register(Wallet.CreditsPurchased)
    def _purchased(self, event: Wallet.CreditsPurchased, batch: CommercialBatch) -> None:
        self._added(event, batch, paid=True)

    @handle.register(Wallet.CreditsGranted)
    def _granted(self, event: Wallet.CreditsGranted, batch: CommercialBatch) -> None:
        self._added(event, batch, paid=False)

    @staticmethod
    def _added(event: Wallet.CreditsPurchased | Wallet.CreditsGranted, batch: CommercialBatch, *,
               paid: bool) -> None:
        wallet = batch.wallet(event.originator_id)
        amount, month = Decimal(event.amount), month_of(event.recorded_at)
        batch.grants.put(GrantRow(text_id(event.grant_id), wallet.wallet_id, int(paid)))
        if paid:
            batch.month_row(wallet.tenant_id, month, wallet.currency).credits_purchased += amount
        batch.trace_entry(wallet, int(event.originator_version), month, event.recorded_at.isoformat(),
                          "purchased" if paid else "granted", text_id(event.grant_id), None, amount,
                          amount if paid else ZERO, event.note)

    @handle.register(Wallet.CreditsApplied)
    def _applied(self, event: Wallet.CreditsApplied, batch: CommercialBatch) -> None:
        wallet = batch.wallet(event.originator_id)
        paid = granted = ZERO
        for grant_hex, amount in event.applications:
            grant = batch.grants.require((text_id(UUID(grant_hex)),), f"commercial: no grant {grant_hex}")
            if grant.paid:
                paid += Decimal(amount)
            else:
                granted += Decimal(amount)
        row = batch.month_row(wallet.tenant_id, event.month, wallet.currency)
        row.paid_credits_applied += paid
        row.granted_credits_applied += granted
        batch.trace_entry(wallet, int(event.originator_version), month_of(event.recorded_at),
                          event.recorded_at.isoformat(), "applied", None, event.month, -(paid + granted), -paid,
                          None)

    @handle.register(Wallet.CreditsExpired)
    def _expired(self, event: Wallet.CreditsExpired, batch: CommercialBatch) -> None:
        wallet = batch.wallet(event.originator_id)
        grant = batch.grants.require((text_id(event.grant_id),), f"commercial: no grant {event.grant_id}")
        amount, month = Decimal(event.amount), month_of(event.expired_at)
        if grant.paid:
            batch.month_row(wallet.tenant_id, month, wallet.currency).breakage += amount
        batch.trace_entry(wallet, int(event.originator_version), month, event.recorded_at.isoformat(), "expired",
                          grant.grant_id, None, -amount, -amount if grant.paid else ZERO, None)

    # ---- contracts ----------------------------------------------------------------------------

    @handle.register(Contract.Signed)
    def _signed(self, event: Contract.Signed, batch: CommercialBatch) -> None:
        batch.contracts.put(ContractRow(text_id(event.originator_id), text_id(event.tenant_id), event.currency))

    @handle.register(Contract.PeriodSettled)
    def _settled(self, event: Contract.PeriodSettled, batch: CommercialBatch) -> None:
        contract = batch.contracts.require((text_id(event.originator_id),),
                                           f"commercial: no Contract.Signed seen for {event.originator_id}")
        batch.settlements.put(SettlementRow(contract.tenant_id, contract.contract_id, event.period_start,
                                            event.period_end, contract.currency, Decimal(event.commitment),
                                            Decimal(event.eligible_spend), Decimal(event.true_up),
                                            Decimal(event.termination_fee), text_id(event.invoice_id)))
