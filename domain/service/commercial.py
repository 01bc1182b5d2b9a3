"""Commands on commercial terms: on-demand rates, committed-spend contracts, prepaid credits, and
what an invoice gets from them at issue (true-ups and applied credits).

The rules (stated in docs/finance.md, *Committed spend*, and the README, *Commercial terms*):
- Eligible spend of a period (``eligible_spend``, the one place the rule lives): the consumption
  charges on the tenant's invoices for the period's months -- ``reservation`` and ``on_demand``
  lines, and ``adjustment`` lines that correct them (late usage, re-priced hours), before
  credits. Not counted: cancellation fees (a ``cancellation_fee`` line, or an ``adjustment`` of
  one), credit notes (``credit``), and the terms' own lines (``true_up``, ``termination_fee``,
  ``credits_applied``), and tax (``tax``: never spend). As in cloud committed-spend agreements
  (AWS EDP, Google Cloud commits), only consumption draws the commitment down: a fee is a
  penalty for giving capacity back, and letting it count would let a tenant meet its commitment
  by cancelling; a credit note is a concession that should not be clawed back as a true-up;
  paying with credits is a way to pay (the consumption still counts). Lines with no kind (older invoices) are usage.
- When the invoice of a period's last month is issued, the period is settled: its commitment is
  prorated by the days served from the contract's service start (``Contract.commitment_of``),
  and a ``true_up`` line bills ``max(0, commitment - eligible spend)``, showing the period, the
  commitment (and its proration) and the eligible spend; a period wholly before the service
  start commits nothing (no line). A terminated contract's fee comes on the same invoice as its
  last period's settlement (a ``termination_fee`` line).
- Then credits: grants whose expiry has passed are expired (events), and the wallet pays up to
  the invoice's total (after the true-up) from its balance, in the order priority, soonest
  expiry, oldest: a negative ``credits_applied`` line. Invoice, contract(s) and wallet are one
  ``save``: two invoices racing for one wallet cannot spend the same credits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from domain.aggregates import Contract, Invoice, Tenant, Wallet, invoice_id, wallet_id
from domain.aggregates.contract import Commitment, Settlement, month_index
from domain.aggregates.reservation import PRICING_MODES
from domain.attachments import NO_CONTEXT, CommandContext
from domain.errors import Conflict, InvalidInput, NotFound
from domain.money import quantize
from domain.service.core import LedgerCore
from domain.service.receipts import Written

# Lines an invoice gets at issue from its commercial terms (not from the billing projection):
# they are not usage and do not count towards a commitment.
TERMS_LINE_KINDS = frozenset({"true_up", "termination_fee", "credits_applied", "tax"})
# Consumption: what counts towards a commitment (an adjustment only if it corrects consumption).
CONSUMPTION_KINDS = frozenset({"reservation", "on_demand", "adjustment", None, "", "invoice"})
FEE_KEYS = ("fee:", "adjustment-fee:")  # billing line keys of a cancellation fee and its adjustment
RATE_PLACES = Decimal("0.000001")
ZERO = Decimal(0)


def is_consumption(line: Mapping[str, Any]) -> bool:
    """A consumption charge (see the module docstring): usage lines, and adjustments of usage.
    An adjustment's key names what it adjusts (``adjustment-fee:...`` a late cancellation fee;
    ``reconciliation:<month>:<key>`` a difference on the line ``<key>``)."""
    kind = line.get("kind")
    if kind not in CONSUMPTION_KINDS:
        return False
    key = str(line.get("line_key") or "")
    while key.startswith("reconciliation:"):
        key = key.split(":", 2)[2] if key.count(":") >= 2 else ""
    return not key.startswith(FEE_KEYS)


def eligible_spend(lines: Sequence[Mapping[str, Any]]) -> Decimal:
    """What an invoice's lines count towards a commitment: its consumption charges, before
    credits (the one rule, used everywhere: see the module docstring)."""
    return sum((Decimal(str(line["amount"])) for line in lines if is_consumption(line)), ZERO)


def true_up_description(settlement: Settlement, commitment: Commitment, service_start: str, currency: str) -> str:
    """What a true-up line says (next to its label, True-up): e.g. 'Period 2026-04-01 to
    2026-06-30: committed 1,000.00, eligible spend 450.00' (a prorated period adds its days)."""
    def money(amount: Decimal) -> str:
        return f"{quantize(amount, currency):,}"
    period = settlement.period
    text = f"Period {period.first_day} to {period.last_day}: committed {money(settlement.commitment)}"
    if commitment.prorated:
        text += (f" (prorated {commitment.served_days} of {period.days} days from service start "
                 f"{service_start}; {money(commitment.full)} for the whole period)")
    return f"{text}, eligible spend {money(settlement.eligible_spend)}"


def discounted(rate: Decimal, discount: Decimal) -> Decimal:
    """A plan rate under a contract discount, to the 6 decimal places rates have (half-even)."""
    return quantize_rate(rate * (1 - discount)) if discount else rate


def quantize_rate(rate: Decimal) -> Decimal:
    return rate.quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN)


def contract_discount(core: LedgerCore, tenant: Tenant, month: str) -> Decimal:
    """The discount on plan rates of the tenant's contract covering ``month`` (0 if none)."""
    for contract_id in tenant.contract_ids:
        contract: object = core.repository.get(contract_id)
        if isinstance(contract, Contract) and contract.covers(month):
            return contract.discount_at(month)
    return ZERO


@dataclass
class InvoiceTerms:
    """What an invoice gets from its tenant's terms at issue: extra lines, and the aggregates
    (contracts settled, the wallet) to save with it."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    aggregates: list[Aggregate] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((Decimal(str(line["amount"])) for line in self.lines), ZERO)


class CommercialCommands(LedgerCore):
    # ---- readers ----------------------------------------------------------------------------

    def get_contract(self, contract_id: object) -> Contract:
        return self._get(Contract, contract_id, what="contract", field="contract_id")

    def get_contracts_of(self, tenant_id: object) -> list[Contract]:
        tenant = self.get_tenant(tenant_id)
        return [self.get_contract(c) for c in tenant.contract_ids]

    def get_wallet(self, tenant_id: object) -> Wallet:
        """The tenant's wallet (in its billing currency); NotFound if it never had credits."""
        tenant = self.get_tenant(tenant_id)
        try:
            aggregate: object = self.repository.get(wallet_id(tenant.id, tenant.billing_currency))
        except AggregateNotFoundError:
            raise NotFound(f"tenant_id: tenant {tenant.name!r} has no credits wallet", field="tenant_id") from None
        assert isinstance(aggregate, Wallet)
        return aggregate

    # ---- on-demand rates --------------------------------------------------------------------

    def set_on_demand_rates(self, tenant_id: object, *, rates: object, context: CommandContext = NO_CONTEXT) -> Written:
        return self._update(context, lambda: self.get_tenant(tenant_id),
                            lambda tenant: tenant.set_on_demand_rates(rates=rates))

    # ---- contracts --------------------------------------------------------------------------

    def sign_contract(self, *, tenant_id: object, period: object, term_start: object, term_end: object,
                      amount: object, discount: object = ZERO, service_start: object = None,
                      contract_id: object = None, context: CommandContext = NO_CONTEXT) -> Written:
        """A committed-spend contract in the tenant's billing currency; its term may not overlap
        another contract of the tenant. The commitment applies from ``service_start`` (a date in
        the term; default its first day). Contract and tenant are saved together."""
        chosen = self._new_id(contract_id, field="contract_id")

        def unit() -> Written:
            tenant = self._get(Tenant, tenant_id, what="tenant", field="tenant_id", for_update=True)
            contract = Contract.sign(tenant_id=tenant.id, currency=tenant.billing_currency, period=period,
                                     term_start=term_start, term_end=term_end, amount=amount, discount=discount,
                                     now=self.now(), service_start=service_start, contract_id=chosen)
            for other in (self.get_contract(c) for c in tenant.contract_ids):
                if (month_index(other.term_start) <= month_index(contract.term_end)
                        and month_index(contract.term_start) <= month_index(other.last_month)):
                    raise Conflict(f"term_start: the term overlaps contract {other.id} "
                                   f"({other.term_start} to {other.last_month})", field="term_start")
            tenant.contract_signed(contract.id)
            return Written(contract.id, self._save(context, contract, tenant))
        return self._retrying(unit)

    def amend_contract(self, contract_id: object, *, effective_month: object, amount: object,
                       discount: object = ZERO, context: CommandContext = NO_CONTEXT) -> Written:
        return self._update(context, lambda: self._contract_for_update(contract_id), lambda contract: contract.amend(
            effective_month=effective_month, amount=amount, discount=discount, now=self.now()))

    def terminate_contract(self, contract_id: object, *, effective_month: object, fee: object = ZERO,
                           context: CommandContext = NO_CONTEXT) -> Written:
        return self._update(context, lambda: self._contract_for_update(contract_id), lambda found: found.terminate(
            effective_month=effective_month, fee=fee, now=self.now()))

    def _contract_for_update(self, contract_id: object) -> Contract:
        return self._get(Contract, contract_id, what="contract", field="contract_id", for_update=True)

    # ---- credits ----------------------------------------------------------------------------

    def purchase_credits(self, tenant_id: object, *, amount: object, priority: object = 50,
                         expires_at: object = None, note: object = "credits purchased",
                         grant_id: UUID | None = None, context: CommandContext = NO_CONTEXT) -> Written:
        """Paid credits: deferred revenue until consumed (or expired: breakage)."""
        return self._add_credits(tenant_id, paid=True, amount=amount, priority=priority, expires_at=expires_at,
                                 note=note, grant_id=grant_id, context=context)

    def grant_credits(self, tenant_id: object, *, amount: object, priority: object = 50,
                      expires_at: object = None, note: object = "credits granted",
                      grant_id: UUID | None = None, context: CommandContext = NO_CONTEXT) -> Written:
        """Free credits: a discount when consumed, never revenue."""
        return self._add_credits(tenant_id, paid=False, amount=amount, priority=priority, expires_at=expires_at,
                                 note=note, grant_id=grant_id, context=context)

    def _add_credits(self, tenant_id: object, *, paid: bool, amount: object, priority: object, expires_at: object,
                     note: object, grant_id: UUID | None, context: CommandContext = NO_CONTEXT) -> Written:
        tenant = self.get_tenant(tenant_id)
        ident = grant_id or uuid4()

        def unit() -> Written:
            wallet = self._credits_added(tenant, grant_id=ident, paid=paid, amount=amount, priority=priority,
                                         expires_at=expires_at, note=note)
            return Written(wallet.id, self._save(context, wallet))
        return self._retrying(unit)

    def _credits_added(self, tenant: Tenant, *, grant_id: UUID, paid: bool, amount: object, priority: object,
                       expires_at: object, note: object) -> Wallet:
        """The tenant's wallet (opened if it has none) with the credits added, not saved yet: the
        purchase path of credits, and of an overpayment (saved with its invoice)."""
        wallet = self._wallet_for_update(tenant) or Wallet.open(tenant_id=tenant.id, currency=tenant.billing_currency)
        wallet.add(grant_id=grant_id, paid=paid, amount=amount, priority=priority, expires_at=expires_at, note=note,
                   now=self.now())
        return wallet

    def expire_credits(self, tenant_id: object, *, context: CommandContext = NO_CONTEXT) -> Written:
        """Record the expiry of the tenant's grants whose expiry has passed (nothing if none)."""
        tenant = self.get_tenant(tenant_id)

        def unit() -> Written:
            wallet = self._wallet_for_update(tenant)
            if wallet is None:
                raise NotFound(f"tenant_id: tenant {tenant.name!r} has no credits wallet", field="tenant_id")
            wallet.expire(now=self.now())
            return Written(wallet.id, self._save(context, wallet))
        return self._retrying(unit)

    def _wallet_for_update(self, tenant: Tenant) -> Wallet | None:
        try:
            aggregate = self._load(wallet_id(tenant.id, tenant.billing_currency), True)
        except AggregateNotFoundError:
            return None
        assert isinstance(aggregate, Wallet)
        return aggregate

    # ---- at invoice issue -------------------------------------------------------------------

    def _invoice_terms(self, tenant: Tenant, month: str, lines: Sequence[Mapping[str, Any]],
                      invoice: UUID) -> InvoiceTerms:
        """Settle the tenant's contract periods ending in ``month`` and apply its credits to the
        invoice ``invoice`` whose other ``lines`` are given. Called inside the issuing unit of
        work: the returned aggregates are saved with the invoice."""
        now = self.now()
        terms = InvoiceTerms()
        for contract_id in tenant.contract_ids:
            contract = self._contract_for_update(contract_id)
            period = contract.period_ending(month)
            if period is None:
                continue
            spend = eligible_spend(lines)
            for earlier in period.months():
                if earlier != month:
                    spend += self._invoiced_spend(tenant.id, earlier)
            settlement = contract.settle(period=period, eligible_spend=spend, invoice_id=invoice)
            commitment = contract.commitment_of(period)
            detail = {"contract_id": str(contract.id), "origin_month": period.start, "period_end": period.end}
            if settlement.true_up:
                terms.lines.append({"line_key": f"true_up:{contract.id}:{period.start}", "kind": "true_up",
                                    **detail, "period_from": period.first_day.isoformat(),
                                    "period_to": period.last_day.isoformat(), "commitment": settlement.commitment,
                                    "period_commitment": commitment.full, "service_start": contract.service_start,
                                    "served_days": settlement.served_days, "period_days": settlement.period_days,
                                    "eligible_spend": settlement.eligible_spend, "amount": settlement.true_up,
                                    "description": true_up_description(settlement, commitment,
                                                                       contract.service_start, contract.currency)})
            if settlement.termination_fee:
                terms.lines.append({"line_key": f"termination_fee:{contract.id}", "kind": "termination_fee",
                                    **detail, "amount": settlement.termination_fee})
            terms.aggregates.append(contract)
        wallet = self._wallet_for_update(tenant)
        if wallet is not None:
            wallet.expire(now=now)
            due = sum((Decimal(str(line["amount"])) for line in lines), ZERO) + terms.total
            taken = wallet.apply(invoice_id=invoice, month=month, amount=due, now=now) if due > 0 else []
            if taken:
                paid = sum((a.amount for a in taken if a.paid), ZERO)
                granted = sum((a.amount for a in taken if not a.paid), ZERO)
                terms.lines.append({"line_key": f"credits_applied:{wallet.id}", "kind": "credits_applied",
                                    "paid_credits": paid, "granted_credits": granted, "amount": -(paid + granted)})
            if wallet.pending_events:
                terms.aggregates.append(wallet)
        return terms

    def _invoiced_spend(self, tenant: UUID, month: str) -> Decimal:
        try:
            found: object = self.repository.get(invoice_id(tenant, month))
        except AggregateNotFoundError:
            return ZERO
        assert isinstance(found, Invoice)
        return eligible_spend(found.lines)


def check_pricing(value: object) -> str:
    if not isinstance(value, str) or value not in PRICING_MODES:
        raise InvalidInput(f"pricing: expected one of {', '.join(PRICING_MODES)}, got {value!r}", field="pricing")
    return value
